package dev.nightshift.jobs.nightly;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.sql.Timestamp;
import java.util.List;

/**
 * The runs table: one row per run, appended when the run ends (succeeded, too_many_failures, or failed with the
 * reason). A driver killed outright leaves no row; its committed chunks are in the results table under its run_id.
 */
public final class RunsTable {

    public static final String VERSION = "runs-v1";

    public static final StructType API_COST = new StructType()
            .add("api", DataTypes.StringType)
            .add("cost_usd", DataTypes.DoubleType)
            .add("saving_usd", DataTypes.DoubleType);

    public static final StructType SCHEMA = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("job", DataTypes.StringType)
            .add("config_hash", DataTypes.StringType)
            .add("mode", DataTypes.StringType)
            .add("status", DataTypes.StringType)
            .add("message", DataTypes.StringType)
            .add("started_at", DataTypes.TimestampType)
            .add("ended_at", DataTypes.TimestampType)
            .add("docs_read", DataTypes.LongType)
            .add("rows_read", DataTypes.LongType)
            .add("rows_skipped", DataTypes.LongType)
            .add("rows_processed", DataTypes.LongType)
            .add("rows_failed", DataTypes.LongType)
            .add("chunks", DataTypes.IntegerType)
            .add("tokens_in", DataTypes.LongType)
            .add("tokens_out", DataTypes.LongType)
            .add("wall_seconds", DataTypes.DoubleType)
            .add("tokens_per_second", DataTypes.DoubleType)
            .add("executors", DataTypes.IntegerType)
            .add("cluster_cost_usd", DataTypes.DoubleType)
            .add("api_costs", DataTypes.createArrayType(API_COST))
            .add("model_id", DataTypes.StringType)
            .add("model_fingerprint", DataTypes.StringType);

    private RunsTable() {
    }

    static boolean ensure(SparkSession spark, TableRef ref) {
        return DeltaTables.ensure(spark, ref, SCHEMA, "runs", VERSION);
    }

    /** Appends the run's row. */
    static void append(SparkSession spark, TableRef ref, RunSummary run) {
        List<Row> apiCosts = run.apiCosts().stream()
                .map(c -> RowFactory.create(c.api(), c.costUsd(), c.savingUsd())).toList();
        Row row = RowFactory.create(run.runId(), run.job(), run.configHash(), run.mode(), run.status(), run.message(),
                Timestamp.from(run.startedAt()), run.endedAt() == null ? null : Timestamp.from(run.endedAt()),
                run.docsRead(), run.rowsRead(), run.rowsSkipped(), run.rowsProcessed(), run.rowsFailed(), run.chunks(),
                run.tokensIn(), run.tokensOut(), run.wallSeconds(), run.tokensPerSecond(), run.executors(),
                run.clusterCostUsd(), scala.jdk.javaapi.CollectionConverters.asScala(apiCosts).toSeq(),
                run.modelId(), run.modelFingerprint());
        var writer = spark.createDataFrame(List.of(row), SCHEMA).coalesce(1).write().format("delta").mode("append");
        if (ref.isPath()) {
            writer.save(ref.path());
        } else {
            writer.saveAsTable(ref.name());
        }
    }
}
