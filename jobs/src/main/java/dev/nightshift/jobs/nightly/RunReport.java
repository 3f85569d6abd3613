package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.Reason;
import org.apache.spark.sql.SparkSession;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The run's report: its {@link RowCounts} (the sum of the committed chunks': the run's one count), the engines'
 * notes, cost and status, written to the runs table when the run starts ({@code running}) and when it ends
 * ({@code succeeded}, {@code too_many_failures}, {@code budget_exceeded} or {@code failed} with the reason).
 */
final class RunReport {

    private final SparkSession spark;
    private final JobConfig config;
    private final boolean retryFailed;
    private final String runId;
    private final Instant started;
    private final String modelId;
    private final String fingerprint;
    private final EngineNotes notes;
    private final ExecutorLosses losses;
    private final long docsRead;
    private final long rowsRead;
    private RowCounts counts = RowCounts.ZERO;
    private int chunks;

    /**
     * @param losses   executors lost during the run: their notes join the engines' warnings
     * @param docsRead documents after the filter and de-duplication
     * @param tasks    tasks per document ({@code rows_read} = documents × tasks)
     */
    RunReport(SparkSession spark, JobConfig config, boolean retryFailed, String runId, Instant started, String modelId,
              String fingerprint, EngineNotes notes, ExecutorLosses losses, long docsRead, int tasks) {
        this.spark = spark;
        this.config = config;
        this.retryFailed = retryFailed;
        this.runId = runId;
        this.started = started;
        this.modelId = modelId;
        this.fingerprint = fingerprint;
        this.notes = notes;
        this.losses = losses;
        this.docsRead = docsRead;
        this.rowsRead = docsRead * tasks;
    }

    /** Records the run as {@code running}. */
    void start() {
        RunsTable.start(spark, config.output().runs(), summary(null, RunSummary.RUNNING, null, 0, -1));
    }

    /** A chunk was merged: its counts join the run's, and the notes executors sent with it are taken in. */
    void committed(RowCounts chunk) {
        counts = counts.plus(chunk);
        chunks++;
        notes.gather();
    }

    int chunks() {
        return chunks;
    }

    /**
     * Records the run as {@code failed} with {@code e}'s reason; a failure to record is added to {@code e}.
     *
     * @param pending rows the plan sent to the model (0 if planning did not finish); the rest were skipped
     */
    void failed(RuntimeException e, long pending) {
        RunSummary crashed = summary(Instant.now(), RunSummary.FAILED, Reason.withKind(e), rowsRead - pending, -1);
        try {
            RunsTable.record(spark, config.output().runs(), crashed);
        } catch (RuntimeException suppressed) {
            e.addSuppressed(suppressed);
        }
    }

    /** Records and returns the final row: {@code too_many_failures} above {@code run.max_failure_rate}, else success. */
    RunSummary finished(long pending) {
        double rate = counts.rows() == 0 ? 0 : (double) counts.failed() / counts.rows();
        boolean tooMany = rate > config.run().maxFailureRate();
        String message = tooMany ? String.format(Locale.ROOT, "%d of %d rows failed (%.1f%%), above run.max_failure_rate %.1f%%",
                counts.failed(), counts.rows(), rate * 100, config.run().maxFailureRate() * 100) : null;
        long withErrors = ResultsTable.rowsWithErrors(spark, config.output().results());
        RunSummary done = summary(Instant.now(), tooMany ? RunSummary.TOO_MANY_FAILURES : RunSummary.SUCCEEDED,
                message, rowsRead - pending, withErrors);
        RunsTable.record(spark, config.output().runs(), done);
        return done;
    }

    /**
     * Records and returns the row of a run its budget stopped between chunks: status {@code budget_exceeded}, a message
     * with what was spent, how far it got and that the next run continues, and the cost report of what it did.
     *
     * @param reason     {@link RunBudget#exceeded}'s text
     * @param pending    rows the plan sent to the model
     * @param chunkCount chunks the plan had
     */
    RunSummary budgetExceeded(String reason, long pending, int chunkCount) {
        long left = pending - counts.rows();
        String message = String.format(Locale.ROOT, "stopped by its budget (%s) after %d of %d chunks: %,d of %,d pending "
                        + "rows processed; the next run continues with the %,d rows left", reason, chunks, chunkCount,
                counts.rows(), pending, left);
        long withErrors = ResultsTable.rowsWithErrors(spark, config.output().results());
        RunSummary stopped = summary(Instant.now(), RunSummary.BUDGET_EXCEEDED, message, rowsRead - pending, withErrors);
        RunsTable.record(spark, config.output().runs(), stopped);
        return stopped;
    }

    /** The engines' warnings, then one per executor lost. */
    private List<String> warnings() {
        List<String> all = new ArrayList<>(notes.warnings());
        all.addAll(losses.notes());
        return all;
    }

    private RunSummary summary(Instant ended, String status, String message, long skipped, long rowsWithErrors) {
        double seconds = Duration.between(started, ended == null ? Instant.now() : ended).toNanos() / 1e9;
        int executors = RunCosts.executors(spark);
        double clusterCost = RunCosts.cluster(config.prices(), executors, seconds);
        List<RunSummary.ApiCost> apiCosts = RunCosts.apis(config.prices(), counts.tokensIn(), counts.tokensOut(), clusterCost);
        return new RunSummary(runId, config.name(), config.hash(), retryFailed ? "retry_failed" : "incremental", status,
                message, started, ended, docsRead, rowsRead, skipped, counts.rows(), counts.failed(), chunks,
                counts.tokensIn(), counts.tokensOut(), seconds, seconds > 0 ? counts.tokens() / seconds : 0,
                executors, clusterCost, apiCosts, modelId, fingerprint, rowsWithErrors, notes.provider(),
                warnings());
    }
}
