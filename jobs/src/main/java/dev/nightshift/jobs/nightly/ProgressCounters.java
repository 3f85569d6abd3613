package dev.nightshift.jobs.nightly;

import org.apache.spark.SparkContext;
import org.apache.spark.util.LongAccumulator;

import java.io.Serializable;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Live row and token counts of a run, for the progress line only (the recorded figures are {@link RowCounts} of the
 * committed chunks). Executors add each batch's {@link RowCounts} to two transports, because neither reaches the
 * driver alone in every mode: a per-JVM table (with a local master that JVM is the driver, so progress moves row by
 * row) and Spark accumulators (on a cluster they reach the driver as tasks finish). The driver reads the larger.
 */
final class ProgressCounters implements Serializable {

    private static final int ROWS = 0;
    private static final int TOKENS = 1;

    private static final Map<String, AtomicLongArray> LOCAL = new ConcurrentHashMap<>();

    private final String runId;
    private final LongAccumulator rows;
    private final LongAccumulator promptTokens;
    private final LongAccumulator outputTokens;

    private ProgressCounters(String runId, LongAccumulator rows, LongAccumulator promptTokens,
                             LongAccumulator outputTokens) {
        this.runId = runId;
        this.rows = rows;
        this.promptTokens = promptTokens;
        this.outputTokens = outputTokens;
    }

    /** Registers the run's accumulators (on the driver; their names show in the Spark UI). */
    static ProgressCounters register(SparkContext spark, String runId) {
        return new ProgressCounters(runId, spark.longAccumulator("nightshift rows"),
                spark.longAccumulator("nightshift prompt tokens"), spark.longAccumulator("nightshift output tokens"));
    }

    /** On an executor: a batch's rows are done. */
    void add(RowCounts batch) {
        rows.add(batch.rows());
        promptTokens.add(batch.tokensIn());
        outputTokens.add(batch.tokensOut());
        AtomicLongArray local = LOCAL.computeIfAbsent(runId, k -> new AtomicLongArray(2));
        local.addAndGet(ROWS, batch.rows());
        local.addAndGet(TOKENS, batch.tokens());
    }

    /** On the driver: rows done so far. */
    long rows() {
        return Math.max(local(ROWS), rows.value());
    }

    /** On the driver: prompt and output tokens of successful rows so far. */
    long tokens() {
        return Math.max(local(TOKENS), promptTokens.value() + outputTokens.value());
    }

    private long local(int which) {
        AtomicLongArray counts = LOCAL.get(runId);
        return counts == null ? 0 : counts.get(which);
    }

    /** Drops the run's per-JVM counts (when the run ends). */
    static void forget(String runId) {
        LOCAL.remove(runId);
    }
}
