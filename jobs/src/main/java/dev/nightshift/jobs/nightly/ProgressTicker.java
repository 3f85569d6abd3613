package dev.nightshift.jobs.nightly;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The run's background clock on the driver: the lease heartbeat every {@link RunLease#BEAT}, and once inference
 * starts, a progress line once a second with the rate and the ETA ({@link ProgressEstimator}). One daemon thread,
 * stopped by {@link #close()}.
 */
final class ProgressTicker implements AutoCloseable {

    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "nightshift-progress");
        thread.setDaemon(true);
        return thread;
    });
    private final JobListener listener;

    /** Starts the heartbeat. */
    ProgressTicker(RunLease lease, JobListener listener) {
        this.listener = listener;
        ticker.scheduleAtFixedRate(() -> {
            try {
                lease.beat();
            } catch (RuntimeException e) {
                listener.warning("cannot refresh the run heartbeat: " + e.getMessage());
            }
        }, RunLease.BEAT.toMillis(), RunLease.BEAT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Starts the progress lines: {@code total} rows to go, counted live by {@code counters}. */
    void progress(long total, ProgressCounters counters, ProgressEstimator estimate) {
        long inferStart = System.nanoTime();
        long[] lastDone = {-1};
        ticker.scheduleAtFixedRate(() -> {
            // Redrawn only when rows finish, so the rate is the inference rate, not diluted by staging and MERGE time.
            long done = Math.min(total, counters.rows());
            if (done == lastDone[0]) {
                return;
            }
            lastDone[0] = done;
            double seconds = (System.nanoTime() - inferStart) / 1e9;
            try {
                listener.progress(done, total, counters.tokens() / seconds, estimate.etaSeconds(done, seconds));
            } catch (RuntimeException e) {
                // a task that throws is cancelled by the executor: say so once instead of going quiet
                listener.warning("progress display failed: " + e.getMessage());
            }
        }, 1, 1, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        ticker.shutdownNow();
    }
}
