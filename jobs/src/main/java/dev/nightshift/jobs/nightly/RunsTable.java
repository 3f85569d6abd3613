package dev.nightshift.jobs.nightly;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.sql.Timestamp;
import java.util.List;
import java.util.Map;

/**
 * The runs table: one row per run, written when the run starts (status {@code running}) and replaced when it ends
 * ({@code succeeded}, {@code too_many_failures}, {@code budget_exceeded} with what was spent, or {@code failed} with
 * the reason). A run whose driver was killed
 * stays {@code running} until the next run of the job marks it {@code abandoned} with what it committed.
 */
public final class RunsTable {

    public static final String VERSION = "runs-v2";

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
            .add("model_fingerprint", DataTypes.StringType)
            // runs-v2: added at the end, so `ALTER TABLE ... ADD COLUMNS` migrates a runs-v1 table.
            .add("rows_with_errors", DataTypes.LongType)
            .add("provider", DataTypes.StringType)
            .add("warnings", DataTypes.createArrayType(DataTypes.StringType));

    private RunsTable() {
    }

    static boolean ensure(SparkSession spark, TableRef ref) {
        return DeltaTables.ensure(spark, ref, SCHEMA, "runs", VERSION);
    }

    /** Whether the table exists, its schema checked as {@link #ensure} does; creates nothing. */
    static boolean check(SparkSession spark, TableRef ref) {
        return DeltaTables.check(spark, ref, SCHEMA, List.of(), "runs", VERSION);
    }

    /** Appends the row of a run that starts (an append costs less than a MERGE, and its run id is new). */
    static void start(SparkSession spark, TableRef ref, RunSummary run) {
        var writer = spark.createDataFrame(List.of(toRow(run)), SCHEMA).coalesce(1).write().format("delta").mode("append");
        if (ref.isPath()) {
            writer.save(ref.path());
        } else {
            writer.saveAsTable(ref.name());
        }
    }

    /** Writes the run's final row, replacing the one {@link #start} wrote (MERGE on run_id). */
    static void record(SparkSession spark, TableRef ref, RunSummary run) {
        DeltaTables.open(spark, ref).as("t")
                .merge(spark.createDataFrame(List.of(toRow(run)), SCHEMA).as("s"), "t.run_id = s.run_id")
                .whenMatched().updateAll()
                .whenNotMatched().insertAll()
                .execute();
    }

    /**
     * The whole-run speed of this job's latest run with this model that processed rows ({@code tokens_per_second}:
     * prompt and output tokens over the run's wall time, Spark start-up, planning and MERGEs included), or null.
     */
    static Double lastTokensPerSecond(SparkSession spark, TableRef ref, String job, String modelFingerprint) {
        List<Row> last = DeltaTables.read(spark, ref)
                .where(functions.col("job").equalTo(job)
                        .and(functions.col("model_fingerprint").equalTo(modelFingerprint))
                        .and(functions.col("status").isin(RunSummary.SUCCEEDED, RunSummary.TOO_MANY_FAILURES,
                                RunSummary.BUDGET_EXCEEDED))
                        .and(functions.col("tokens_per_second").gt(0)))
                .orderBy(functions.col("started_at").desc()).select("tokens_per_second").limit(1).collectAsList();
        return last.isEmpty() ? null : last.get(0).getDouble(0);
    }

    /** Ids of this job's runs still marked {@code running}, except {@code live} ones. */
    static List<String> running(SparkSession spark, TableRef ref, String job, java.util.Set<String> live) {
        return DeltaTables.read(spark, ref)
                .where(functions.col("status").equalTo(RunSummary.RUNNING)
                        .and(functions.col("job").equalTo(job)))
                .select("run_id").as(org.apache.spark.sql.Encoders.STRING()).collectAsList().stream()
                .filter(id -> !live.contains(id)).toList();
    }

    /** Marks a run abandoned, with what it committed. */
    static void abandon(SparkSession spark, TableRef ref, String runId, String message, long rowsCommitted,
                        long failedCommitted) {
        Map<String, org.apache.spark.sql.Column> set = new java.util.LinkedHashMap<>();
        set.put("status", functions.lit(RunSummary.ABANDONED));
        set.put("message", functions.lit(message));
        set.put("rows_processed", functions.lit(rowsCommitted));
        set.put("rows_failed", functions.lit(failedCommitted));
        DeltaTables.open(spark, ref).update(functions.col("run_id").equalTo(runId), set);
    }

    private static Row toRow(RunSummary run) {
        List<Row> apiCosts = run.apiCosts().stream()
                .map(c -> RowFactory.create(c.api(), c.costUsd(), c.savingUsd())).toList();
        return RowFactory.create(run.runId(), run.job(), run.configHash(), run.mode(), run.status(), run.message(),
                Timestamp.from(run.startedAt()), run.endedAt() == null ? null : Timestamp.from(run.endedAt()),
                run.docsRead(), run.rowsRead(), run.rowsSkipped(), run.rowsProcessed(), run.rowsFailed(), run.chunks(),
                run.tokensIn(), run.tokensOut(), run.wallSeconds(), run.tokensPerSecond(), run.executors(),
                run.clusterCostUsd(), scala.jdk.javaapi.CollectionConverters.asScala(apiCosts).toSeq(),
                run.modelId(), run.modelFingerprint(), run.rowsWithErrors(), run.provider(),
                scala.jdk.javaapi.CollectionConverters.asScala(run.warnings()).toSeq());
    }
}
