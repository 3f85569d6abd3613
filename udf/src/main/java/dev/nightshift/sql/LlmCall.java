package dev.nightshift.sql;

import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.analysis.TypeCheckResult;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.Unevaluable;
import org.apache.spark.sql.catalyst.expressions.codegen.CodegenContext;
import org.apache.spark.sql.catalyst.expressions.codegen.CodegenFallback;
import org.apache.spark.sql.catalyst.expressions.codegen.ExprCode;
import org.apache.spark.sql.types.DataType;
import scala.collection.immutable.IndexedSeq;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

import java.util.List;
import java.util.Objects;

/**
 * An {@code llm_*} call in a query plan. It is never evaluated row by row: {@link LlmStrategy} plans every call in a
 * SELECT list or WHERE clause as a batched {@link LlmBatchExec} beneath it, the way Spark plans Python UDFs, and
 * {@link LlmCallsIntoProjections} moves calls from other places there. Should a call still be reached elsewhere,
 * evaluating it fails with an error that says to move it into a subquery.
 *
 * <p>It is {@link Unevaluable} so that the optimizer never evaluates it itself (Spark computes a projection over an
 * in-memory relation while optimizing, which would run the model row by row).
 *
 * <p>The call says it is not deterministic although greedy answers are. That is what keeps Catalyst from copying it:
 * a deterministic expression may be inlined into every place that uses it (a filter pushed below the SELECT that
 * computed it), and each copy would run the model again.
 */
public final class LlmCall extends Expression implements Unevaluable, CodegenFallback, java.io.Serializable {

    private final LlmFunction function;
    private final List<Expression> args;
    private transient LlmRequest request;

    public LlmCall(LlmFunction function, List<Expression> args) {
        this.function = Objects.requireNonNull(function);
        this.args = List.copyOf(args);
    }

    /** The constructor Catalyst's {@code makeCopy} finds by reflection: the product elements in order. */
    public LlmCall(LlmFunction function, Seq<Expression> args) {
        this(function, CollectionConverters.asJava(args));
    }

    public LlmFunction function() {
        return function;
    }

    /** The text argument: the one value that differs between rows. */
    public Expression text() {
        return args.get(0);
    }

    /**
     * What the call asks of every row, read from its constant arguments.
     *
     * @throws IllegalArgumentException for a bad argument ({@link #checkInputDataTypes} reports it during analysis)
     */
    public LlmRequest request() {
        if (request == null) {
            request = LlmRequest.of(function, args);
        }
        return request;
    }

    /** Whether any of the expressions holds a call. */
    static boolean anyIn(Iterable<? extends Expression> expressions) {
        for (Expression expression : expressions) {
            if (expression.find(e -> e instanceof LlmCall).isDefined()) {
                return true;
            }
        }
        return false;
    }

    /** A rewrite that replaces each call in {@code results} by its result column (for {@code transformUp}). */
    static scala.PartialFunction<Expression, Expression> replacedBy(java.util.Map<LlmCall, ? extends Expression> results) {
        return new scala.runtime.AbstractPartialFunction<>() {
            @Override
            public boolean isDefinedAt(Expression e) {
                return e instanceof LlmCall call && results.containsKey(call);
            }

            @Override
            public Expression apply(Expression e) {
                return results.get((LlmCall) e);
            }
        };
    }

    @Override
    public TypeCheckResult checkInputDataTypes() {
        try {
            request();
            return TypeCheckResult.TypeCheckSuccess$.MODULE$;
        } catch (IllegalArgumentException e) {
            return new TypeCheckResult.TypeCheckFailure(e.getMessage());
        }
    }

    @Override
    public DataType dataType() {
        return request().resultType();
    }

    @Override
    public boolean nullable() {
        return true;
    }

    @Override
    public boolean deterministic() {
        return false;
    }

    @Override
    public String prettyName() {
        return function.sqlName();
    }

    @Override
    public Object eval(InternalRow input) {
        throw new UnsupportedOperationException(function.sqlName() + " cannot run here: llm_* calls run batched in "
                + "SELECT lists and WHERE clauses; compute it in a subquery first, e.g. SELECT avg(c.score) FROM "
                + "(SELECT llm_classify(text, array('a', 'b')) AS c FROM t)");
    }

    @Override
    public ExprCode doGenCode(CodegenContext ctx, ExprCode ev) {
        return CodegenFallback.super.doGenCode(ctx, ev);
    }

    @Override
    public Seq<Expression> children() {
        return CollectionConverters.asScala(args).toSeq();
    }

    @Override
    public Expression withNewChildrenInternal(IndexedSeq<Expression> children) {
        return new LlmCall(function, CollectionConverters.asJava(children));
    }

    @Override
    public int productArity() {
        return 2;
    }

    @Override
    public Object productElement(int n) {
        return switch (n) {
            case 0 -> function;
            case 1 -> children();
            default -> throw new IndexOutOfBoundsException(n);
        };
    }

    @Override
    public boolean canEqual(Object other) {
        return other instanceof LlmCall;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof LlmCall call && call.function == function && call.args.equals(args);
    }

    @Override
    public int hashCode() {
        return Objects.hash(function, args);
    }
}
