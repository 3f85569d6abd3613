package dev.nightshift.sql;

import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.ExpressionInfo;
import scala.Function1;
import scala.Tuple3;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.BoxedUnit;

/**
 * Nightshift's Spark SQL functions, enabled with
 * {@code spark.sql.extensions=dev.nightshift.sql.NightshiftExtensions} and a model ({@link SqlModel} lists the
 * confs): registers every {@link LlmFunction}, the analyzer rule that leaves calls only in SELECT lists and WHERE
 * clauses ({@link LlmCallsIntoProjections}), the optimizer rule that puts a LIMIT beneath them
 * ({@link LimitBeneathLlmCalls}) and the planner strategy that batches them ({@link LlmStrategy}).
 *
 * <pre>{@code
 * SELECT id, llm_classify(body, array('billing', 'refund', 'other')).label FROM tickets
 * }</pre>
 */
public final class NightshiftExtensions implements Function1<SparkSessionExtensions, BoxedUnit> {

    /** The value of {@code spark.sql.extensions} that enables the functions. */
    public static final String CLASS = NightshiftExtensions.class.getName();

    @Override
    public BoxedUnit apply(SparkSessionExtensions extensions) {
        for (LlmFunction function : LlmFunction.values()) {
            ExpressionInfo info = new ExpressionInfo(LlmCall.class.getName(), null, function.sqlName(),
                    function.usage(), "", "", "", "", "", "", "");
            Function1<scala.collection.immutable.Seq<Expression>, Expression> builder =
                    args -> new LlmCall(function, CollectionConverters.asJava(args));
            extensions.injectFunction(new Tuple3<>(new FunctionIdentifier(function.sqlName()), info, builder));
        }
        extensions.injectResolutionRule(session -> new LlmCallsIntoProjections());
        extensions.injectOptimizerRule(session -> new LimitBeneathLlmCalls());
        extensions.injectPlannerStrategy(LlmStrategy::new);
        return BoxedUnit.UNIT;
    }
}
