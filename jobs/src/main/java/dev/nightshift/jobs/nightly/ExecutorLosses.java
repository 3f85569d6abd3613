package dev.nightshift.jobs.nightly;

import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Executors that left the application while a run was going (killed, out of memory, a lost worker), as notes for
 * the run's {@code warnings}: Spark re-runs their unfinished tasks, and the chunk protocol keeps the results
 * exactly-once, but the runs table should say it happened. Never any in local mode (the driver is the executor).
 */
final class ExecutorLosses extends SparkListener implements AutoCloseable {

    private final SparkContext spark;
    private final List<String> notes = new CopyOnWriteArrayList<>();

    private ExecutorLosses(SparkContext spark) {
        this.spark = spark;
    }

    /** Starts listening; {@link #close()} stops (what was heard stays in {@link #notes()}). */
    static ExecutorLosses watch(SparkContext spark) {
        ExecutorLosses losses = new ExecutorLosses(spark);
        spark.addSparkListener(losses);
        return losses;
    }

    @Override
    public void onExecutorRemoved(SparkListenerExecutorRemoved removed) {
        notes.add("executor " + removed.executorId() + " was lost during the run (" + removed.reason()
                + "); Spark re-ran its unfinished tasks on other executors");
    }

    /** One note per executor lost so far, in the order Spark reported them. */
    List<String> notes() {
        return List.copyOf(notes);
    }

    @Override
    public void close() {
        spark.removeSparkListener(this);
    }
}
