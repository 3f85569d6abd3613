package dev.nightshift.jobs.nightly;

import java.util.ArrayList;
import java.util.List;

/**
 * The cost report's arithmetic, shared by the run's summary ({@link RunReport}), its budget ({@link RunBudget}) and
 * the dry run's estimate ({@link DryRunReport}): the cost here is executors × hours × {@code prices.executor_hour_usd};
 * each configured API costs its input price per million prompt tokens plus its output price per million output
 * tokens, and the saving is that minus the cost here (negative: running here cost more).
 */
final class RunCosts {

    private RunCosts() {
    }

    /** Executors the run can use: 1 with a local master (one engine per JVM), else those registered (not the driver). */
    static int executors(org.apache.spark.sql.SparkSession spark) {
        if (spark.sparkContext().isLocal()) {
            return 1;
        }
        return Math.max(1, spark.sparkContext().statusTracker().getExecutorInfos().length - 1);
    }

    /** USD for {@code executors} executors over {@code seconds} of wall time. */
    static double cluster(JobConfig.Prices prices, int executors, double seconds) {
        return executors * seconds / 3600 * prices.executorHourUsd();
    }

    /** What {@code tokensIn} prompt and {@code tokensOut} output tokens cost at each configured API, against {@code clusterCost}. */
    static List<RunSummary.ApiCost> apis(JobConfig.Prices prices, long tokensIn, long tokensOut, double clusterCost) {
        List<RunSummary.ApiCost> costs = new ArrayList<>();
        for (JobConfig.ApiPrice api : prices.apis()) {
            double cost = tokensIn / 1e6 * api.inputPer1M() + tokensOut / 1e6 * api.outputPer1M();
            costs.add(new RunSummary.ApiCost(api.name(), cost, cost - clusterCost));
        }
        return costs;
    }
}
