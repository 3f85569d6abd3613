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
 * feed the MERGE. A crash loses at most the chunk in flight; a failed Spark task's staging files are never committed.
 */
final class ChunkCommitter {

    private final SparkSession spark;
    private final JobConfig config;
    private final InferencePartition inference;
    private final String runId;

    ChunkCommitter(SparkSession spark, JobConfig config, InferencePartition inference, String runId) {
        this.spark = spark;
        this.config = config;
        this.inference = inference;
        this.runId = runId;
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
        // Written out before the MERGE: the model runs exactly once per row even though the rows feed two actions.
        String staging = config.output().staging().replaceAll("/+$", "") + "/" + runId + "/chunk-" + index;
        results.write().format("delta").mode("overwrite").save(staging);
        Map<String, Object> observed;
        try {
            observed = observation.getAsJava();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading the metrics of chunk " + index, e);
        }
        ResultsTable.merge(spark, config.output().results(), spark.read().format("delta").load(staging));
        DeltaTables.delete(spark, staging);
        return RowCounts.of(observed);
    }
}
