package dev.nightshift.jobs.nightly;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Observation;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.util.Arrays;
import java.util.Map;

/**
 * Commits one chunk: runs inference over its work items, writes the result rows to a staging Delta table, MERGEs
 * that into the results and deletes it. The model runs exactly once per row: the staged rows, not the inference,
 * feed the MERGE. When the plan has only new keys ({@link WorkPlan#newKeysOnly()}: a first run, a night of new
 * documents) the MERGE would only insert, so the rows are appended to the results as they are computed instead
 * (one write). A crash loses at most the chunk in flight; a failed Spark task's files are never committed.
 */
final class ChunkCommitter {

    private final SparkSession spark;
    private final JobConfig config;
    private final InferencePartition inference;
    private final String runId;
    private final JobListener listener;

    /** @param listener told each chunk's phase times ({@link JobListener#chunkTimes}) */
    ChunkCommitter(SparkSession spark, JobConfig config, InferencePartition inference, String runId,
                   JobListener listener) {
        this.spark = spark;
        this.config = config;
        this.inference = inference;
        this.runId = runId;
        this.listener = listener;
    }

    /** Infers, stages and merges chunk {@code index} of the plan; returns its {@link RowCounts} (the recorded ones). */
    RowCounts commit(WorkPlan plan, int index) {
        int partitions = config.run().partitions() > 0 ? config.run().partitions()
                : spark.sparkContext().defaultParallelism();
        // Counted while the rows are written (Observation metrics come from successful task attempts only).
        Observation observation = new Observation("chunk-" + index);
        Column[] metrics = RowCounts.observed();
        Dataset<Row> results = plan.chunk(index).repartition(partitions)
                .sortWithinPartitions("task", "prompt_chars")
                .mapPartitions(inference, Encoders.row(ResultsTable.SCHEMA))
                .observe(observation, metrics[0], Arrays.copyOfRange(metrics, 1, metrics.length));
        long started = System.nanoTime();
        if (plan.newKeysOnly()) {
            // Only inserts: appended as computed, one write (no staging table, no MERGE).
            ResultsTable.append(spark, config.output().results(), results);
            listener.chunkTimes(index + 1, (System.nanoTime() - started) / 1e9, 0);
            return RowCounts.of(observed(observation, index));
        }
        // Written out before the MERGE: the model runs exactly once per row even though the rows feed two actions.
        String staging = config.output().staging().replaceAll("/+$", "") + "/" + runId + "/chunk-" + index;
        results.write().format("delta").mode("overwrite").save(staging);
        long staged = System.nanoTime();
        Map<String, Object> observed = observed(observation, index);
        ResultsTable.merge(spark, config.output().results(), spark.read().format("delta").load(staging));
        long merged = System.nanoTime();
        DeltaTables.delete(spark, staging);
        listener.chunkTimes(index + 1, (staged - started) / 1e9, (merged - staged) / 1e9);
        return RowCounts.of(observed);
    }

    private static Map<String, Object> observed(Observation observation, int index) {
        try {
            return observation.getAsJava();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading the metrics of chunk " + index, e);
        }
    }
}
