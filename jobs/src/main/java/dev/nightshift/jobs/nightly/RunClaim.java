package dev.nightshift.jobs.nightly;

import org.apache.spark.sql.SparkSession;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;

/**
 * Makes a run the one writing its results table: refuses to start next to a live run (the earlier one keeps going),
 * removes dead runs' staging folders and marks their runs-table rows abandoned with what they committed.
 */
final class RunClaim {

    private final SparkSession spark;
    private final JobConfig config;
    private final JobListener listener;

    RunClaim(SparkSession spark, JobConfig config, JobListener listener) {
        this.spark = spark;
        this.config = config;
        this.listener = listener;
    }

    /** @throws JobConfigException when an earlier run is alive (this run's lease is removed first) */
    void claim(RunLease lease) {
        lease.beat();
        Instant now = Instant.now();
        String mine = lease.runId();
        Set<String> live = new HashSet<>();
        for (RunLease.OtherRun other : lease.others()) {
            if (other.alive(now)) {
                live.add(other.runId());
                if (other.runId().compareTo(mine) < 0) {
                    DeltaTables.delete(spark, lease.folder());
                    throw new JobConfigException("another run of job '" + config.name() + "' (" + other.runId()
                            + ", heartbeat " + Duration.between(other.lastBeat(), now).toSeconds() + " s ago) is writing "
                            + config.output().results().describe() + "; wait for it to finish. Nothing was processed. "
                            + "(A run whose driver was killed stops its heartbeat; the next run after "
                            + RunLease.STALE.toSeconds() + " s takes over.)");
                }
            } else {
                lease.remove(other.runId());
            }
        }
        live.add(mine);
        for (String deadId : RunsTable.running(spark, config.output().runs(), config.name(), live)) {
            RowCounts committed = ResultsTable.committedBy(spark, config.output().results(), deadId);
            String message = "abandoned: its driver stopped without finishing (killed or lost); found by run " + mine
                    + "; " + committed.rows() + " result rows committed by it are kept";
            RunsTable.abandon(spark, config.output().runs(), deadId, message, committed.rows(), committed.failed());
            listener.warning("run " + deadId + " was " + message);
        }
    }
}
