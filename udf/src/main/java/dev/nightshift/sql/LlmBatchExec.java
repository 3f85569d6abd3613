package dev.nightshift.sql;

import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.types.StructType;
import scala.collection.immutable.IndexedSeq;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

import java.util.ArrayList;
import java.util.List;

/**
 * The physical operator that runs {@code llm_*} calls in batches: its output is the child's columns followed by one
 * column per call, computed by {@link LlmPartition} over each partition of the child. Spark plans Python UDFs the
 * same way (an operator beneath the projection that uses the results), so the model sees whole batches instead of
 * single rows.
 *
 * <p>Its product elements are the calls, in {@link Calls} (an opaque holder, so that Catalyst's generic tree rewrites,
 * which look for expressions among the product elements, leave them as they are), and the child.
 */
public final class LlmBatchExec extends SparkPlan {

    /**
     * The calls this operator runs and the attributes their results get.
     *
     * @param calls   the calls, their text arguments over the child's output
     * @param results one attribute per call, in order
     * @param model   the model, read from the session's conf when the query was planned
     */
    public record Calls(List<LlmCall> calls, List<Attribute> results, SqlModel model) implements java.io.Serializable {
    }

    private final Calls calls;
    private final SparkPlan child;

    public LlmBatchExec(Calls calls, SparkPlan child) {
        this.calls = calls;
        this.child = child;
    }

    public Calls calls() {
        return calls;
    }

    public SparkPlan child() {
        return child;
    }

    @Override
    public Seq<Attribute> output() {
        List<Attribute> out = new ArrayList<>(CollectionConverters.asJava(child.output()));
        out.addAll(calls.results());
        return CollectionConverters.asScala(out).toSeq();
    }

    @Override
    public RDD<InternalRow> doExecute() {
        List<LlmRequest> requests = new ArrayList<>();
        List<Expression> texts = new ArrayList<>();
        for (LlmCall call : calls.calls()) {
            requests.add(call.request());
            texts.add(call.text());
        }
        StructType schema = new StructType();
        for (Attribute attribute : CollectionConverters.asJava(output())) {
            schema = schema.add(attribute.name(), attribute.dataType(), attribute.nullable());
        }
        LlmPartition partition = new LlmPartition(calls.model(), requests, texts,
                CollectionConverters.asJava(child.output()), schema);
        return child.execute().toJavaRDD().mapPartitions(partition).rdd();
    }

    /** Rows keep their partitions and order: results are appended to each row in place. */
    @Override
    public org.apache.spark.sql.catalyst.plans.physical.Partitioning outputPartitioning() {
        return child.outputPartitioning();
    }

    @Override
    public Seq<org.apache.spark.sql.catalyst.expressions.SortOrder> outputOrdering() {
        return child.outputOrdering();
    }

    @Override
    public Seq<SparkPlan> children() {
        return CollectionConverters.asScala(List.of(child)).toSeq();
    }

    @Override
    public SparkPlan withNewChildrenInternal(IndexedSeq<SparkPlan> children) {
        return new LlmBatchExec(calls, children.head());
    }

    @Override
    public String simpleString(int maxFields) {
        return "LlmBatchExec " + calls.calls().stream().map(c -> c.function().sqlName()).toList()
                + " -> " + calls.results();
    }

    @Override
    public int productArity() {
        return 2;
    }

    @Override
    public Object productElement(int n) {
        return switch (n) {
            case 0 -> calls;
            case 1 -> child;
            default -> throw new IndexOutOfBoundsException(n);
        };
    }

    @Override
    public boolean canEqual(Object other) {
        return other instanceof LlmBatchExec;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof LlmBatchExec exec && exec.calls.equals(calls) && exec.child.equals(child);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(calls, child);
    }
}
