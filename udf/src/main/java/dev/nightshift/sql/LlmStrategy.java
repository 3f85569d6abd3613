package dev.nightshift.sql;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.expressions.And;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.AttributeReference;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.plans.logical.Aggregate;
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
 * written twice in one SELECT, or in a SELECT and its WHERE, runs once.
 *
 * <p>An aggregate whose results feed calls (one summary per group) is planned as a projection above it.
 * Conditions of a WHERE clause without calls filter the rows first. Every other plan node is left to Spark's own
 * strategies: {@link LlmCallsIntoProjections} has already moved calls out of them into projections.
 */
public final class LlmStrategy extends SparkStrategy {

    private final SparkSession session;

    public LlmStrategy(SparkSession session) {
        this.session = session;
    }

    @Override
    public Seq<SparkPlan> apply(LogicalPlan plan) {
        if (plan instanceof Aggregate aggregate && !LlmCallsIntoProjections.above(aggregate).isEmpty()) {
            // calls over the groups' keys or results: a projection above the aggregate runs them
            return apply(LlmCallsIntoProjections.pushAbove(aggregate));
        }
        if (plan instanceof Project project) {
            List<Expression> list = expressions(project.projectList());
            boolean filterCalls = project.child() instanceof Filter filter && hasCall(List.of(filter.condition()));
            if (!hasCall(list) && !filterCalls) {
                return none();
            }
            // a SELECT over a WHERE, both with calls: one batched operator beneath both, so a call written in each
            // runs once
            Where where = filterCalls ? where((Filter) project.child()) : new Where(project.child(), null);
            List<Expression> all = new ArrayList<>(list);
            if (where.condition() != null) {
                all.add(where.condition());
            }
            Batched batched = batch(all, where.input());
            SparkPlan input = batched.plan();
            if (where.condition() != null) {
                input = new FilterExec(batched.expressions().get(list.size()), input);
            }
            List<NamedExpression> named = new ArrayList<>();
            batched.expressions().subList(0, list.size()).forEach(e -> named.add((NamedExpression) e));
            return one(new ProjectExec(CollectionConverters.asScala(named).toSeq(), input));
        }
        if (plan instanceof Filter filter && hasCall(List.of(filter.condition()))) {
            Where where = where(filter);
            Batched batched = batch(List.of(where.condition()), where.input());
            SparkPlan filtered = new FilterExec(batched.expressions().get(0), batched.plan());
            // the filter's output is its child's: leave the results columns behind
            List<NamedExpression> columns = new ArrayList<>();
            for (Attribute a : CollectionConverters.asJava(filter.output())) {
                columns.add(a);
            }
            return one(new ProjectExec(CollectionConverters.asScala(columns).toSeq(), filtered));
        }
        return none();
    }

    /** A WHERE clause split: the conditions without calls filter the input first, the rest ({@code condition}) after. */
    private record Where(LogicalPlan input, Expression condition) {
    }

    private static Where where(Filter filter) {
        List<Expression> plain = new ArrayList<>();
        List<Expression> withCalls = new ArrayList<>();
        for (Expression condition : conjuncts(filter.condition())) {
            (hasCall(List.of(condition)) ? withCalls : plain).add(condition);
        }
        LogicalPlan input = plain.isEmpty() ? filter.child() : new Filter(and(plain), filter.child());
        return new Where(input, and(withCalls));
    }

    private static Seq<SparkPlan> none() {
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
            for (LlmCall call : results.keySet()) {
                check(call, model);
            }
            plan = new LlmBatchExec(new LlmBatchExec.Calls(new ArrayList<>(results.keySet()),
                    new ArrayList<>(results.values()), model), plan);
            List<Expression> rewritten = new ArrayList<>();
            for (Expression expression : current) {
                rewritten.add(expression.transformUp(LlmCall.replacedBy(results)));
            }
            current = rewritten;
        }
        return new Batched(current, plan);
    }

    /** What the session must provide for a call, checked before any row runs. */
    private static void check(LlmCall call, SqlModel model) {
        LlmRequest request = call.request();
        try {
            if (request.function() == LlmFunction.ESTIMATE_COST) {
                model.inputPrice(request.api());
            }
        } catch (IllegalArgumentException e) {
            throw new LlmSetupException(e.getMessage(), e);
        }
        if (request.task() != null && request.resolveChat(model.card()) && model.card().templateProblem() != null) {
            // the job refuses such a model the same way: without the template every prompt would go out unformatted
            throw new LlmSetupException(request.function().sqlName() + " uses the model's chat template, which cannot "
                    + "be used: " + model.card().templateProblem() + "; fix the template or pass map('chat', 'false')",
                    null);
        }
    }

    private static List<Expression> conjuncts(Expression condition) {
        if (condition instanceof And and) {
            List<Expression> all = new ArrayList<>(conjuncts(and.left()));
            all.addAll(conjuncts(and.right()));
            return all;
        }
        return List.of(condition);
    }

    private static Expression and(List<Expression> conditions) {
        Expression all = conditions.get(0);
        for (int i = 1; i < conditions.size(); i++) {
            all = new And(all, conditions.get(i));
        }
        return all;
    }

    private static List<Expression> expressions(Seq<NamedExpression> named) {
        List<Expression> list = new ArrayList<>();
        for (NamedExpression e : CollectionConverters.asJava(named)) {
            list.add((Expression) e);  // a Scala trait: Java sees no subtype relation
        }
        return list;
    }

    private static boolean hasCall(List<? extends Expression> expressions) {
        return LlmCall.anyIn(expressions);
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

    private static Seq<SparkPlan> one(SparkPlan plan) {
        return CollectionConverters.asScala(List.of(plan)).toSeq();
    }
}
