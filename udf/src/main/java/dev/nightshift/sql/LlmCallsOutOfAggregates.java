package dev.nightshift.sql;

import org.apache.spark.sql.catalyst.expressions.Alias;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.expressions.aggregate.AggregateExpression;
import org.apache.spark.sql.catalyst.plans.logical.Aggregate;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.Project;
import org.apache.spark.sql.catalyst.rules.Rule;
import org.apache.spark.sql.types.Metadata;
import scala.Option;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractPartialFunction;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An analyzer rule: {@code llm_*} calls in a GROUP BY or inside an aggregate function move into a projection beneath
 * the aggregate, which then groups by (or aggregates) their result columns. So
 * {@code SELECT llm_classify(t, array('a','b')).label, count(*) FROM docs GROUP BY 1} runs each row once, batched
 * ({@link LlmStrategy} plans the projection), and Spark's check that grouping keys and aggregate arguments are
 * deterministic never sees the calls (they say they are not: {@link LlmCall}).
 *
 * <p>A call whose argument is itself an aggregate ({@code llm_summarize(concat_ws(' ', collect_list(text)))}) stays
 * where it is; evaluating it there fails with a message that says to compute it in a subquery.
 */
public final class LlmCallsOutOfAggregates extends Rule<LogicalPlan> {

    @Override
    public LogicalPlan apply(LogicalPlan plan) {
        return plan.transformUp(new AbstractPartialFunction<>() {
            @Override
            public boolean isDefinedAt(LogicalPlan node) {
                return node instanceof Aggregate aggregate && aggregate.resolved() && !movable(aggregate).isEmpty();
            }

            @Override
            public LogicalPlan apply(LogicalPlan node) {
                return pullOut((Aggregate) node);
            }
        });
    }

    /** The distinct calls of an aggregate that can run beneath it: over its input's columns, no aggregate inside. */
    private static List<LlmCall> movable(Aggregate aggregate) {
        List<LlmCall> calls = new ArrayList<>();
        List<Expression> expressions = new ArrayList<>(CollectionConverters.asJava(aggregate.groupingExpressions()));
        for (NamedExpression named : CollectionConverters.asJava(aggregate.aggregateExpressions())) {
            expressions.add((Expression) named);
        }
        for (Expression expression : expressions) {
            for (Expression node : CollectionConverters.asJava(expression.collect(new AbstractPartialFunction<
                    Expression, Expression>() {
                @Override
                public boolean isDefinedAt(Expression e) {
                    return e instanceof LlmCall && e.find(x -> x instanceof AggregateExpression).isEmpty()
                            && e.references().subsetOf(aggregate.child().outputSet());
                }

                @Override
                public Expression apply(Expression e) {
                    return e;
                }
            }))) {
                if (!calls.contains(node)) {
                    calls.add((LlmCall) node);
                }
            }
        }
        return calls;
    }

    private static Aggregate pullOut(Aggregate aggregate) {
        Map<LlmCall, Attribute> results = new LinkedHashMap<>();
        List<NamedExpression> projected = new ArrayList<>();
        for (Attribute column : CollectionConverters.asJava(aggregate.child().output())) {
            projected.add(column);
        }
        int n = 0;
        for (LlmCall call : movable(aggregate)) {
            Alias alias = new Alias(call, "_" + call.function().sqlName() + "_" + n++,
                    NamedExpression.newExprId(), seq(List.of()), Option.<Metadata>empty(), seq(List.of()));
            projected.add(alias);
            results.put(call, alias.toAttribute());
        }
        AbstractPartialFunction<Expression, Expression> replace = new AbstractPartialFunction<>() {
            @Override
            public boolean isDefinedAt(Expression e) {
                return e instanceof LlmCall call && results.containsKey(call);
            }

            @Override
            public Expression apply(Expression e) {
                return results.get((LlmCall) e);
            }
        };
        List<Expression> grouping = new ArrayList<>();
        for (Expression e : CollectionConverters.asJava(aggregate.groupingExpressions())) {
            grouping.add(e.transformUp(replace));
        }
        List<NamedExpression> aggregates = new ArrayList<>();
        for (NamedExpression e : CollectionConverters.asJava(aggregate.aggregateExpressions())) {
            aggregates.add((NamedExpression) ((Expression) e).transformUp(replace));
        }
        return new Aggregate(seq(grouping), seq(aggregates), new Project(seq(projected), aggregate.child()),
                aggregate.hint());
    }

    private static <T> Seq<T> seq(List<T> list) {
        return CollectionConverters.asScala(list).toSeq();
    }
}
