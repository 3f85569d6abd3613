package dev.nightshift.jobs.nightly;

import java.util.List;

/**
 * What a run would do, from {@link NightlyJob#dryRun()}: everything before inference has run (checks, source,
 * anti-join, exact prompt token counts) and nothing was written.
 *
 * @param job              the config's job name
 * @param mode             incremental or retry_failed
 * @param docsRead         source documents after the filter and de-duplication
 * @param rowsRead         docsRead × tasks
 * @param rowsSkipped      rows whose current result already matches their input (or, retrying, is not an error)
 * @param chunks           chunks of {@code run.chunk_rows} the run would MERGE
 * @param tasks            per task: rows to process, tokens, rows over the context
 * @param calibration      this model's measured speed on this machine
 * @param executors        engines working in parallel (1 with a local master: one engine per JVM)
 * @param estimatedSeconds (prompt tokens / prefill rate + decode work / decode rate) / executors; excludes Spark
 *                         start-up, planning and MERGEs
 * @param clusterCostUsd   the estimated time's cost here ({@link RunCosts#cluster})
 * @param lastRunTokensPerSecond this job's latest run with this model: tokens per second over its whole wall time
 *                         (Spark included), from the runs table; null when there is none
 * @param lastRunSeconds   (prompt + expected output tokens) at that speed; NaN when there is none
 * @param apiCosts         the same tokens at each configured API ({@link RunCosts#apis}: prompt tokens and the
 *                         expected output tokens)
 */
public record DryRunReport(String job, String mode, long docsRead, long rowsRead, long rowsSkipped, int chunks,
                           List<TaskEstimate> tasks, EngineCalibration calibration, int executors,
                           double estimatedSeconds, double clusterCostUsd, Double lastRunTokensPerSecond,
                           double lastRunSeconds, List<RunSummary.ApiCost> apiCosts) {

    public DryRunReport {
        tasks = List.copyOf(tasks);
        apiCosts = List.copyOf(apiCosts);
    }

    /**
     * One task's share.
     *
     * @param task         the task's name
     * @param type         summarize, classify, extract or generate
     * @param rows         pending rows that go to the model
     * @param errorRows    pending rows that become error rows without the model (blank text, malformed records)
     * @param promptTokens exact prompt tokens of {@code rows}, as the run records them (before any overflow policy)
     * @param outputTokens expected output tokens: an upper bound ({@code outputBasis} says which)
     * @param decodeWork   decode steps the time estimate charges (classify: every label is scored)
     * @param overContext  rows whose prompt leaves less room than the task needs: the overflow policy applies to them
     * @param outputBasis  how {@code outputTokens} is made
     */
    public record TaskEstimate(String task, String type, long rows, long errorRows, long promptTokens,
                               long outputTokens, long decodeWork, long overContext, String outputBasis) {
    }

    /**
     * The report from the counts: time = (prompt tokens / prefill rate + decode work / decode rate) / executors; costs
     * by {@link RunCosts}, the code of the runs table's cost columns.
     *
     * @param lastRunTokensPerSecond {@link RunsTable#lastTokensPerSecond}, or null
     */
    static DryRunReport of(JobConfig config, String mode, long docsRead, long rowsRead, long rowsSkipped, int chunks,
                           List<TaskEstimate> tasks, EngineCalibration calibration, int executors,
                           Double lastRunTokensPerSecond) {
        long promptTokens = tasks.stream().mapToLong(TaskEstimate::promptTokens).sum();
        long outputTokens = tasks.stream().mapToLong(TaskEstimate::outputTokens).sum();
        long decodeWork = tasks.stream().mapToLong(TaskEstimate::decodeWork).sum();
        double seconds = (promptTokens / calibration.prefillTokensPerSecond()
                + decodeWork / calibration.decodeTokensPerSecond()) / executors;
        double clusterCost = RunCosts.cluster(config.prices(), executors, seconds);
        double lastRunSeconds = lastRunTokensPerSecond == null ? Double.NaN
                : (promptTokens + outputTokens) / lastRunTokensPerSecond;
        return new DryRunReport(config.name(), mode, docsRead, rowsRead, rowsSkipped, chunks, tasks, calibration,
                executors, seconds, clusterCost, lastRunTokensPerSecond, lastRunSeconds,
                RunCosts.apis(config.prices(), promptTokens, outputTokens, clusterCost));
    }

    /** Rows the run would send to the model, all tasks. */
    public long rowsToProcess() {
        return tasks.stream().mapToLong(TaskEstimate::rows).sum();
    }

    public long promptTokens() {
        return tasks.stream().mapToLong(TaskEstimate::promptTokens).sum();
    }

    public long outputTokens() {
        return tasks.stream().mapToLong(TaskEstimate::outputTokens).sum();
    }
}
