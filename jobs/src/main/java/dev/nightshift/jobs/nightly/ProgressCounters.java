package dev.nightshift.jobs.nightly;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Live row and token counts per run, kept in the JVM that runs the tasks. With a local master that JVM is the
 * driver, so progress lines move row by row; on a cluster the driver sees Spark accumulators instead, which
 * arrive as tasks finish.
 */
final class ProgressCounters {

    static final int ROWS = 0;
    static final int PROMPT_TOKENS = 1;
    static final int OUTPUT_TOKENS = 2;

    private static final Map<String, AtomicLongArray> RUNS = new ConcurrentHashMap<>();

    private ProgressCounters() {
    }

    static void add(String runId, long rows, long promptTokens, long outputTokens) {
        AtomicLongArray counts = RUNS.computeIfAbsent(runId, k -> new AtomicLongArray(3));
        counts.addAndGet(ROWS, rows);
        counts.addAndGet(PROMPT_TOKENS, promptTokens);
        counts.addAndGet(OUTPUT_TOKENS, outputTokens);
    }

    static long get(String runId, int which) {
        AtomicLongArray counts = RUNS.get(runId);
        return counts == null ? 0 : counts.get(which);
    }

    static void forget(String runId) {
        RUNS.remove(runId);
    }
}
