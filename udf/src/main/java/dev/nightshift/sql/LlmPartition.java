package dev.nightshift.sql;

import dev.nightshift.engine.EngineHolder;
import dev.nightshift.engine.TextGenerator;
import dev.nightshift.executor.TaskGpu;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.JoinedRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * The rows of one partition with the {@code llm_*} results appended, on an executor: input rows are gathered into
 * batches of {@code max_batch_rows} (as the nightly job hands a task's rows to the engine), each call's texts of a
 * batch go to the JVM's shared engine ({@link EngineHolder}) at once, and the rows come out in their input order.
 * Rows are produced lazily, a batch at a time.
 */
final class LlmPartition implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {

    private final SqlModel model;
    private final List<LlmRequest> requests;
    private final List<Expression> texts;
    private final List<Attribute> input;
    private final StructType output;

    /**
     * @param texts  each call's text expression, over {@code input}
     * @param input  the child's output attributes
     * @param output the schema of the rows produced: the input's columns, then one per call
     */
    LlmPartition(SqlModel model, List<LlmRequest> requests, List<Expression> texts, List<Attribute> input,
                 StructType output) {
        this.model = model;
        this.requests = List.copyOf(requests);
        this.texts = List.copyOf(texts);
        this.input = List.copyOf(input);
        this.output = output;
    }

    @Override
    public Iterator<InternalRow> call(Iterator<InternalRow> rows) {
        if (!rows.hasNext()) {
            return rows;  // an empty partition opens no engine
        }
        TextGenerator engine = EngineHolder.get(model.factory(), TaskGpu.settingsFor(model.settings()));
        List<BatchAnswers> answers = new ArrayList<>();
        for (LlmRequest request : requests) {
            double price = request.function() == LlmFunction.ESTIMATE_COST ? model.inputPrice(request.api()) : 0;
            answers.add(new BatchAnswers(request, request.resolveChat(model.card()), price));
        }
        UnsafeProjection textProjection = UnsafeProjection.create(CollectionConverters.asScala(texts).toSeq(),
                CollectionConverters.asScala(input).toSeq());
        // a text built with rand() or monotonically_increasing_id() needs its partition
        org.apache.spark.TaskContext task = org.apache.spark.TaskContext.get();
        textProjection.initialize(task == null ? 0 : task.partitionId());
        UnsafeProjection outputProjection = UnsafeProjection.create(output);
        int batchRows = model.settings().engineOptions().maxBatchSize();
        return new Iterator<>() {
            private final List<InternalRow> batch = new ArrayList<>();
            private Object[][] values;
            private int next;
            private final JoinedRow joined = new JoinedRow();

            @Override
            public boolean hasNext() {
                if (next < batch.size()) {
                    return true;
                }
                batch.clear();
                next = 0;
                while (batch.size() < batchRows && rows.hasNext()) {
                    batch.add(rows.next().copy());  // the child may reuse its row object
                }
                if (batch.isEmpty()) {
                    return false;
                }
                values = new Object[batch.size()][answers.size()];
                for (int call = 0; call < answers.size(); call++) {
                    List<String> batchTexts = new ArrayList<>(batch.size());
                    for (InternalRow row : batch) {
                        InternalRow projected = textProjection.apply(row);
                        batchTexts.add(projected.isNullAt(call) ? null : projected.getUTF8String(call).toString());
                    }
                    Object[] answered = answers.get(call).answer(engine, batchTexts);
                    for (int r = 0; r < batch.size(); r++) {
                        values[r][call] = answered[r];
                    }
                }
                return true;
            }

            @Override
            public InternalRow next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                InternalRow row = batch.get(next);
                GenericInternalRow results = new GenericInternalRow(values[next]);
                next++;
                return outputProjection.apply(joined.apply(row, results));
            }
        };
    }
}
