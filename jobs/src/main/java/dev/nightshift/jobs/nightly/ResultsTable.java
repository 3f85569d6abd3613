package dev.nightshift.jobs.nightly;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The results table: exactly one row per (doc_id, task), replaced whenever the row's input hash changes.
 * Partitioned by {@code task} (a handful of values; each task's rows are read and rewritten together).
 * The columns are documented in the README ("Results table").
 */
public final class ResultsTable {

    /** Bumped whenever {@link #SCHEMA} changes; existing tables with another schema are refused, not altered. */
    public static final String VERSION = "results-v1";

    public static final StructType SCHEMA = new StructType()
            .add("doc_id", DataTypes.StringType, false)
            .add("task", DataTypes.StringType, false)
            .add("output", DataTypes.StringType)
            .add("label", DataTypes.StringType)
            .add("score", DataTypes.DoubleType)
            .add("fields", DataTypes.StringType)
            .add("prompt_tokens", DataTypes.IntegerType)
            .add("output_tokens", DataTypes.IntegerType)
            .add("finish_reason", DataTypes.StringType)
            .add("error", DataTypes.StringType)
            .add("warning", DataTypes.StringType)
            .add("latency_ms", DataTypes.LongType)
            .add("model_id", DataTypes.StringType)
            .add("model_fingerprint", DataTypes.StringType)
            .add("prompt_hash", DataTypes.StringType)
            .add("input_hash", DataTypes.StringType)
            .add("run_id", DataTypes.StringType)
            .add("processed_at", DataTypes.TimestampType);

    private ResultsTable() {
    }

    static boolean ensure(SparkSession spark, TableRef ref) {
        return DeltaTables.ensure(spark, ref, SCHEMA, "results", VERSION, "task");
    }

    /**
     * MERGEs one staged chunk: a row whose (doc_id, task) exists replaces it, others are inserted. Re-running the
     * same MERGE changes nothing, so a retried chunk cannot duplicate rows.
     */
    static void merge(SparkSession spark, TableRef ref, Dataset<Row> staged) {
        DeltaTables.open(spark, ref).as("t")
                .merge(staged.as("s"), "t.doc_id = s.doc_id AND t.task = s.task")
                .whenMatched().updateAll()
                .whenNotMatched().insertAll()
                .execute();
    }
}
