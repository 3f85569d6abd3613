package dev.nightshift.sql;

import org.apache.spark.sql.catalyst.expressions.Alias;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.expressions.aggregate.AggregateExpression;
import org.apache.spark.sql.catalyst.plans.logical.Aggregate;
import org.apache.spark.sql.catalyst.plans.logical.Filter;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.Project;
import org.apache.spark.sql.catalyst.plans.logical.UnaryNode;
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
 * An analyzer rule that leaves {@code llm_*} calls only where {@link LlmStrategy} batches them, in a SELECT list
 * (a projection) or a WHERE clause (a filter):
 * <ul>
 *   <li>an aggregate's calls in the GROUP BY or inside an aggregate function move into a projection beneath it, which
 *   then groups by (or aggregates) their result columns: {@code SELECT llm_classify(t, array('a','b')).label,
 *   count(*) FROM docs GROUP BY 1} runs each row once;</li>
 *   <li>its other calls, over grouping keys or aggregate results ({@code llm_summarize(concat_ws(' ',
 *   collect_list(text)))} per group), stay; {@link LlmStrategy} plans them in a projection above it
 *   ({@link #pushAbove});</li>
 *   <li>calls of any other one-input operator (ORDER BY, DISTRIBUTE BY, LATERAL VIEW / explode, a window's keys) move
 *   into a projection beneath it, and a projection above keeps the operator's own columns.</li>
 * </ul>
 * The calls say they are not deterministic ({@link LlmCall}), which Spark refuses in those places; they are gone
 * from them before its checks run.
 */
public final class LlmCallsIntoProjections extends Rule<LogicalPlan> {

    @Override
    public LogicalPlan apply(LogicalPlan plan) {
        return plan.transformUp(new AbstractPartialFunction<>() {
            @Override
            public boolean isDefinedAt(LogicalPlan node) {
                if (!node.resolved() || node instanceof Project || node instanceof Filter
                        || !(node instanceof UnaryNode)) {
                    return false;
                }
                return node instanceof Aggregate aggregate ? !beneath(aggregate).isEmpty()
                        : !movable(node.expressions(), node.children().head()).isEmpty();
            }

            @Override
            public LogicalPlan apply(LogicalPlan node) {
                return pullBeneath(node);
            }
        });
    }

    // ---- calls beneath an operator ----------------------------------------------------------------------------

    /** The distinct calls among expressions that can run on the child's rows: over its columns, no aggregate inside. */
    private static List<LlmCall> movable(Seq<Expression> expressions, LogicalPlan child) {
        List<LlmCall> calls = new ArrayList<>();
        for (Expression expression : CollectionConverters.asJava(expressions)) {
            collectMovable(expression, child, calls);
        }
        return calls;
    }

    private static void collectMovable(Expression expression, LogicalPlan child, List<LlmCall> calls) {
        for (Expression node : CollectionConverters.asJava(expression.collect(new AbstractPartialFunction<
                Expression, Expression>() {
            @Override
            public boolean isDefinedAt(Expression e) {
                return e instanceof LlmCall && e.find(x -> x instanceof AggregateExpression).isEmpty()
                        && e.references().subsetOf(child.outputSet());
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

    /**
     * An aggregate's calls that run beneath it: in the GROUP BY (the same call in the SELECT list is then read from
     * the grouped column), or inside an aggregate function.
     */
    private static List<LlmCall> beneath(Aggregate aggregate) {
        LogicalPlan child = aggregate.child();
        List<LlmCall> calls = movable(aggregate.groupingExpressions(), child);
        for (NamedExpression named : CollectionConverters.asJava(aggregate.aggregateExpressions())) {
            for (Expression function : CollectionConverters.asJava(((Expression) named).collect(
                    new AbstractPartialFunction<Expression, Expression>() {
                        @Override
                        public boolean isDefinedAt(Expression e) {
                            return e instanceof AggregateExpression;
                        }

                        @Override
                        public Expression apply(Expression e) {
                            return e;
                        }
                    }))) {
                collectMovable(function, child, calls);
            }
        }
        return calls;
    }

    /** Replaces the node's movable calls by columns of a projection beneath it; keeps the node's own output. */
    private static LogicalPlan pullBeneath(LogicalPlan node) {
        LogicalPlan child = node.children().head();
        List<LlmCall> calls = node instanceof Aggregate aggregate ? beneath(aggregate)
                : movable(node.expressions(), child);
        List<NamedExpression> projected = new ArrayList<>();
        for (Attribute column : CollectionConverters.asJava(child.output())) {
            projected.add(column);
        }
        Map<LlmCall, Attribute> results = new LinkedHashMap<>();
        for (LlmCall call : calls) {
            Alias alias = alias(call, "_" + call.function().sqlName() + "_" + results.size());
            projected.add(alias);
            results.put(call, alias.toAttribute());
        }
        LogicalPlan rewritten = node.withNewChildren(seq(List.of((LogicalPlan) new Project(seq(projected), child))))
                .transformExpressions(LlmCall.replacedBy(results));
        if (rewritten.output().equals(node.output())) {
            return rewritten;
        }
        List<NamedExpression> own = new ArrayList<>();
        for (Attribute column : CollectionConverters.asJava(node.output())) {
            own.add(column);
        }
        return new Project(seq(own), rewritten);
    }

    // ---- calls above an aggregate -------------------------------------------------------------------------------

    /** An aggregate's remaining calls: over its grouping keys or aggregate results. */
    static List<LlmCall> above(Aggregate aggregate) {
        List<LlmCall> calls = new ArrayList<>();
        for (NamedExpression named : CollectionConverters.asJava(aggregate.aggregateExpressions())) {
            for (Expression call : CollectionConverters.asJava(((Expression) named).collect(calls(null)))) {
                if (!calls.contains(call)) {
                    calls.add((LlmCall) call);
                }
            }
        }
        return calls;
    }

    /**
     * The aggregate computes each remaining call's non-constant arguments as columns; a projection above it runs the
     * calls on them and keeps every other output column (same names and ids). {@link LlmStrategy} does this while
     * planning: done by the analyzer, the optimizer would merge the projection back into the aggregate.
     */
    static Project pushAbove(Aggregate aggregate) {
        List<NamedExpression> inside = new ArrayList<>();
        List<NamedExpression> outside = new ArrayList<>();
        int n = 0;
        for (NamedExpression named : CollectionConverters.asJava(aggregate.aggregateExpressions())) {
            Expression expression = (Expression) named;
            if (expression.find(e -> e instanceof LlmCall).isEmpty() || !(named instanceof Alias alias)) {
                inside.add(named);
                outside.add(named.toAttribute());
                continue;
            }
            Map<Expression, Expression> arguments = new LinkedHashMap<>();
            List<Alias> computed = new ArrayList<>();
            for (Expression call : CollectionConverters.asJava(expression.collect(calls(null)))) {
                for (Expression argument : CollectionConverters.asJava(call.children())) {
                    if (!argument.foldable() && !arguments.containsKey(argument)) {
                        Alias column = alias(argument, "_llm_argument_" + n++);
                        computed.add(column);
                        arguments.put(argument, column.toAttribute());
                    }
                }
            }
            inside.addAll(computed);
            Expression rewritten = alias.child().transformUp(new AbstractPartialFunction<Expression, Expression>() {
                @Override
                public boolean isDefinedAt(Expression e) {
                    return e instanceof LlmCall;
                }

                @Override
                public Expression apply(Expression e) {
                    List<Expression> children = new ArrayList<>();
                    for (Expression child : CollectionConverters.asJava(e.children())) {
                        children.add(arguments.getOrDefault(child, child));
                    }
                    return new LlmCall(((LlmCall) e).function(), children);
                }
            });
            outside.add(new Alias(rewritten, alias.name(), alias.exprId(), alias.qualifier(), alias.explicitMetadata(),
                    alias.nonInheritableMetadataKeys()));
        }
        return new Project(seq(outside), new Aggregate(aggregate.groupingExpressions(), seq(inside), aggregate.child(),
                aggregate.hint()));
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    /** Matches calls (over the child's columns when a child is given). */
    private static AbstractPartialFunction<Expression, Expression> calls(LogicalPlan child) {
        return new AbstractPartialFunction<>() {
            @Override
            public boolean isDefinedAt(Expression e) {
                return e instanceof LlmCall && (child == null || e.references().subsetOf(child.outputSet()));
            }

            @Override
            public Expression apply(Expression e) {
                return e;
            }
        };
    }

    private static Alias alias(Expression expression, String name) {
        return new Alias(expression, name, NamedExpression.newExprId(), seq(List.of()), Option.<Metadata>empty(),
                seq(List.of()));
    }

    private static <T> Seq<T> seq(List<T> list) {
        return CollectionConverters.asScala(list).toSeq();
    }
}
