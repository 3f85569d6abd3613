package dev.nightshift.jobs.nightly;

import java.time.Instant;
import java.util.List;

/**
 * What a run did: the row written to the runs table, and what {@code run} prints. Rows are (document, task) pairs.
 *
 * @param runId            the run's id (also in every result row it wrote)
 * @param job              the config's job name
 * @param configHash       sha256 of the config file
 * @param mode             incremental or retry_failed
 * @param status           succeeded, too_many_failures, budget_exceeded or failed
 * @param message          why a run failed, exceeded its threshold or stopped at its budget, else null
 * @param startedAt        start time
 * @param endedAt          end time
 * @param docsRead         source documents after the filter and de-duplication
 * @param rowsRead         docsRead × tasks
 * @param rowsSkipped      rows whose current result already matches their input hash (or, in retry mode, whose
 *                         result is not an error)
 * @param rowsProcessed    rows sent through the model in this run
 * @param rowsFailed       processed rows whose result has an error
 * @param chunks           chunks committed
 * @param tokensIn         prompt tokens of processed rows
 * @param tokensOut        generated tokens (classify: the tokens of the chosen label)
 * @param wallSeconds      run time
 * @param tokensPerSecond  (tokensIn + tokensOut) / wallSeconds
 * @param executors        executors used for the cost estimate (1 with a local master)
 * @param clusterCostUsd   executors × hours × prices.executor_hour_usd
 * @param apiCosts         what the same tokens would cost at each configured API
 * @param modelId          the model folder's name
 * @param modelFingerprint {@code ModelFolder.fingerprint()} of the model folder (equal to the engine's {@code ModelInfo.fingerprint()})
 * @param rowsWithErrors   rows of the results table whose latest attempt failed, after this run (what
 *                         {@code --retry-failed} would retry); -1 when unknown (the run failed before counting)
 * @param provider         the execution provider the engines actually used (cpu, cuda; "cpu,cuda" when executors
 *                         differed), or null when no engine ran
 * @param warnings         what the engines reported when they opened (a CUDA request that fell back to CPU)
 */
public record RunSummary(String runId, String job, String configHash, String mode, String status, String message,
                         Instant startedAt, Instant endedAt, long docsRead, long rowsRead, long rowsSkipped,
                         long rowsProcessed, long rowsFailed, int chunks, long tokensIn, long tokensOut,
                         double wallSeconds, double tokensPerSecond, int executors, double clusterCostUsd,
                         List<ApiCost> apiCosts, String modelId, String modelFingerprint, long rowsWithErrors,
                         String provider, List<String> warnings) {

    /** Recorded when the run starts; replaced by its final status when it ends. */
    public static final String RUNNING = "running";
    /** A run found still "running" by a later run after its heartbeat stopped: its driver was killed. */
    public static final String ABANDONED = "abandoned";
    public static final String SUCCEEDED = "succeeded";
    public static final String TOO_MANY_FAILURES = "too_many_failures";
    public static final String FAILED = "failed";
    /** Stopped after a chunk because {@code run.max_cost_usd} or {@code run.max_wall_minutes} was reached. */
    public static final String BUDGET_EXCEEDED = "budget_exceeded";

    public RunSummary {
        apiCosts = List.copyOf(apiCosts);
        warnings = warnings == null ? List.of() : List.copyOf(warnings);
    }

    /** One API's price for this run's tokens, and how much running it here saved (negative: it cost more). */
    public record ApiCost(String api, double costUsd, double savingUsd) {
    }

    public double failureRate() {
        return rowsProcessed == 0 ? 0 : (double) rowsFailed / rowsProcessed;
    }

    /** 0 when the run succeeded, 1 when it failed, exceeded its failure threshold or stopped at its budget. */
    public int exitCode() {
        return SUCCEEDED.equals(status) ? 0 : 1;
    }
}
