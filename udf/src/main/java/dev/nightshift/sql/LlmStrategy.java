package dev.nightshift.sql;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.AttributeReference;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.plans.logical.Filter;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.Project;
import org.apache.spark.sql.execution.FilterExec;
import org.apache.spark.sql.execution.ProjectExec;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.SparkStrategy;
import org.apache.spark.sql.types.Metadata;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractPartialFunction;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Plans a SELECT list or WHERE clause holding {@code llm_*} calls as {@link LlmBatchExec} (the calls, batched) under
 * the ordinary projection or filter, which then reads each call's result as a column. Nested calls
 * ({@code llm_summarize(llm_generate(...))}) become one batched operator per level, innermost first. The same call
 * written twice in one SELECT runs once.
 *
 * <p>Every other plan node is left to Spark's own strategies. The analyzer has already moved calls out of GROUP BY,
 * ORDER BY and the like into a projection beneath them (Spark does so for every expression that is not deterministic);
 * a call inside an aggregate function stays there, and fails with a message that says to use a subquery.
 */
public final class LlmStrategy extends SparkStrategy {

    private final SparkSession session;

    public LlmStrategy(SparkSession session) {
        this.session = session;
    }

    @Override
    public Seq<SparkPlan> apply(LogicalPlan plan) {
        if (plan instanceof Project project && hasCall(expressions(project.projectList()))) {
            List<Expression> list = expressions(project.projectList());
            Batched batched = batch(list, project.child());
            List<NamedExpression> named = new ArrayList<>();
            batched.expressions().forEach(e -> named.add((NamedExpression) e));
            return one(new ProjectExec(CollectionConverters.asScala(named).toSeq(), batched.plan()));
        }
        if (plan instanceof Filter filter && hasCall(List.of(filter.condition()))) {
            Batched batched = batch(List.of(filter.condition()), filter.child());
            SparkPlan filtered = new FilterExec(batched.expressions().get(0), batched.plan());
            // the filter's output is its child's: leave the results columns behind
            List<NamedExpression> columns = new ArrayList<>();
            for (Attribute a : CollectionConverters.asJava(filter.output())) {
                columns.add(a);
            }
            return one(new ProjectExec(CollectionConverters.asScala(columns).toSeq(), filtered));
        }
        return CollectionConverters.asScala(List.<SparkPlan>of()).toSeq();
    }

    /** Expressions rewritten to read call results, over the plan that computes them. */
    private record Batched(List<Expression> expressions, SparkPlan plan) {
    }

    private Batched batch(List<Expression> expressions, LogicalPlan child) {
        SqlModel model;
        try {
            model = SqlModel.from(session.conf());
        } catch (IllegalArgumentException e) {
            throw new LlmSetupException(e.getMessage(), e);
        }
        SparkPlan plan = planLater(child);
        List<Expression> current = expressions;
        while (hasCall(current)) {
            // the innermost calls first: their arguments are plain columns of the plan so far
            Map<LlmCall, Attribute> results = new LinkedHashMap<>();
            for (Expression expression : current) {
                for (Expression node : CollectionConverters.asJava(expression.collect(innermostCalls()))) {
                    LlmCall call = (LlmCall) node;
                    results.computeIfAbsent(call, c -> new AttributeReference(c.function().sqlName(), c.dataType(),
                            true, Metadata.empty(), NamedExpression.newExprId(),
                            CollectionConverters.asScala(List.<String>of()).toSeq()));
                }
            }
            plan = new LlmBatchExec(new LlmBatchExec.Calls(new ArrayList<>(results.keySet()),
                    new ArrayList<>(results.values()), model), plan);
            List<Expression> rewritten = new ArrayList<>();
            for (Expression expression : current) {
                rewritten.add(expression.transformUp(replace(results)));
            }
            current = rewritten;
        }
        return new Batched(current, plan);
    }

    private static List<Expression> expressions(Seq<NamedExpression> named) {
        List<Expression> list = new ArrayList<>();
        for (NamedExpression e : CollectionConverters.asJava(named)) {
            list.add((Expression) e);  // a Scala trait: Java sees no subtype relation
        }
        return list;
    }

    private static boolean hasCall(List<? extends Expression> expressions) {
        for (Expression expression : expressions) {
            if (expression.find(calls()).isDefined()) {
                return true;
            }
        }
        return false;
    }

    private static scala.Function1<Expression, Object> calls() {
        return e -> e instanceof LlmCall;
    }

    private static AbstractPartialFunction<Expression, Expression> innermostCalls() {
        return new AbstractPartialFunction<>() {
            @Override
            public boolean isDefinedAt(Expression e) {
                if (!(e instanceof LlmCall)) {
                    return false;
                }
                for (Expression child : CollectionConverters.asJava(e.children())) {
                    if (child.find(calls()).isDefined()) {
                        return false;
                    }
                }
                return true;
            }

            @Override
            public Expression apply(Expression e) {
                return e;
            }
        };
    }

    private static AbstractPartialFunction<Expression, Expression> replace(Map<LlmCall, Attribute> results) {
        return new AbstractPartialFunction<>() {
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

    private static Seq<SparkPlan> one(SparkPlan plan) {
        return CollectionConverters.asScala(List.of(plan)).toSeq();
    }
}
