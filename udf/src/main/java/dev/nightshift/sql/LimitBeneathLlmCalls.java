package dev.nightshift.sql;

import org.apache.spark.sql.catalyst.plans.logical.GlobalLimit;
import org.apache.spark.sql.catalyst.plans.logical.LocalLimit;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.Project;
import org.apache.spark.sql.catalyst.rules.Rule;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractPartialFunction;

/**
 * An optimizer rule: a LIMIT over a SELECT list holding {@code llm_*} calls moves beneath it, so the model runs on
 * the rows kept only, and so Spark's own plan for "limit over projection over sort" (which evaluates the projection
 * row by row inside its top-N operator) never sees the calls. A projection keeps every row, so the two commute.
 * {@code df.orderBy("id").selectExpr("llm_classify(...)").show()} is such a query.
 */
public final class LimitBeneathLlmCalls extends Rule<LogicalPlan> {

    @Override
    public LogicalPlan apply(LogicalPlan plan) {
        return plan.transformDown(new AbstractPartialFunction<>() {
            @Override
            public boolean isDefinedAt(LogicalPlan node) {
                return node instanceof GlobalLimit global && global.child() instanceof LocalLimit local
                        && local.child() instanceof Project project && hasCall(project);
            }

            @Override
            public LogicalPlan apply(LogicalPlan node) {
                GlobalLimit global = (GlobalLimit) node;
                LocalLimit local = (LocalLimit) global.child();
                Project project = (Project) local.child();
                return new Project(project.projectList(), new GlobalLimit(global.limitExpr(),
                        new LocalLimit(local.limitExpr(), project.child())));
            }
        });
    }

    private static boolean hasCall(Project project) {
        return LlmCall.anyIn(CollectionConverters.asJava(project.expressions()));
    }
}
