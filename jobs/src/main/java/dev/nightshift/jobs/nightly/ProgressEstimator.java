package dev.nightshift.jobs.nightly;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.ceil;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.log;
import static org.apache.spark.sql.functions.pow;
import static org.apache.spark.sql.functions.round;
import static org.apache.spark.sql.functions.when;

/**
 * The run's ETA, counted in planned tokens rather than rows. Rows cost very different amounts (a 2,000-character
 * summary against a 200-character label), and the job runs the shortest prompts first, so "seconds per row so far"
 * under-estimates the rest by up to the ratio of the longest to the shortest row.
 *
 * <p>Each pending row is planned at its prompt's estimated tokens ({@link #CHARS_PER_TOKEN} characters each) plus its
 * task's {@code max_new_tokens}. Rows are assumed to finish cheapest first (the job's order within and across
 * chunks), so after {@code n} rows the work done is the planned tokens of the {@code n} cheapest rows; the ETA is the
 * elapsed time scaled by remaining over done planned tokens. The plan is a histogram of row costs in 4% buckets, so
 * it is small whatever the row count.
 */
public final class ProgressEstimator {

    /** Characters per token for English-like text in Llama-family tokenizers; only ratios matter here. */
    static final double CHARS_PER_TOKEN = 4.0;
    private static final double BUCKET_RATIO = 1.04;

    private final long[] costs;
    private final long[] rows;
    private final double totalCost;

    /**
     * @param costs planned tokens per bucket, ascending
     * @param rows  rows in each bucket
     */
    ProgressEstimator(long[] costs, long[] rows) {
        if (costs.length != rows.length) {
            throw new IllegalArgumentException("costs and rows differ in length: " + costs.length + " vs " + rows.length);
        }
        this.costs = costs.clone();
        this.rows = rows.clone();
        double total = 0;
        for (int i = 0; i < costs.length; i++) {
            total += (double) costs[i] * rows[i];
        }
        this.totalCost = total;
    }

    /** The plan of a job's pending rows ({@code task}, {@code prompt_chars}); one small Spark aggregation. */
    static ProgressEstimator plan(Dataset<Row> pending, List<TaskSpec> tasks) {
        Map<String, Integer> maxNewTokens = new HashMap<>();
        for (TaskSpec task : tasks) {
            maxNewTokens.put(task.name(), task.generation().maxNewTokens());
        }
        org.apache.spark.sql.Column outputTokens = lit(0);
        for (Map.Entry<String, Integer> task : maxNewTokens.entrySet()) {
            outputTokens = when(col("task").equalTo(task.getKey()), lit(task.getValue())).otherwise(outputTokens);
        }
        org.apache.spark.sql.Column cost = ceil(col("prompt_chars").divide(CHARS_PER_TOKEN)).plus(outputTokens);
        // Bucketed on a log scale: BUCKET_RATIO^round(log_BUCKET_RATIO(cost)), so the histogram stays small.
        org.apache.spark.sql.Column bucket = round(pow(lit(BUCKET_RATIO), round(log(BUCKET_RATIO, cost.plus(1))))).cast("long");
        List<Row> histogram = pending.select(bucket.as("cost")).groupBy("cost").agg(count(lit(1)).as("rows"))
                .orderBy("cost").collectAsList();
        long[] costs = new long[histogram.size()];
        long[] rows = new long[histogram.size()];
        for (int i = 0; i < costs.length; i++) {
            costs[i] = histogram.get(i).<Long>getAs("cost");
            rows[i] = histogram.get(i).<Long>getAs("rows");
        }
        return new ProgressEstimator(costs, rows);
    }

    /** The same estimator from per-row planned tokens (tests, and callers that know their rows). */
    static ProgressEstimator ofRows(long... plannedTokens) {
        long[] sorted = plannedTokens.clone();
        Arrays.sort(sorted);
        long[] rows = new long[sorted.length];
        Arrays.fill(rows, 1);
        return new ProgressEstimator(sorted, rows);
    }

    /** Planned tokens of all pending rows. */
    public double totalTokens() {
        return totalCost;
    }

    /** Planned tokens of the {@code done} cheapest rows. */
    double doneTokens(long done) {
        double sum = 0;
        long left = done;
        for (int i = 0; i < costs.length && left > 0; i++) {
            long take = Math.min(left, rows[i]);
            sum += (double) costs[i] * take;
            left -= take;
        }
        return sum;
    }

    /** Seconds left after {@code done} rows in {@code elapsedSeconds}; NaN before the first row finishes. */
    public double etaSeconds(long done, double elapsedSeconds) {
        double doneTokens = doneTokens(done);
        if (done <= 0 || doneTokens <= 0) {
            return Double.NaN;
        }
        return elapsedSeconds * Math.max(0, totalCost - doneTokens) / doneTokens;
    }
}
