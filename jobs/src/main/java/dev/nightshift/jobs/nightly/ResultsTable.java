package dev.nightshift.jobs.nightly;

import io.delta.tables.DeltaTable;
import org.apache.spark.sql.Dataset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;

/**
 * The results table: exactly one row per (doc_id, task), replaced whenever the row's input hash changes, except that a
 * failed attempt never destroys the last good output (see {@link #merge}).
 * Partitioned by {@code task} (a handful of values; each task's rows are read and rewritten together).
 * The columns are documented in the README ("Results table").
 */
public final class ResultsTable {

    /** Bumped whenever {@link #SCHEMA} changes; existing tables with another schema are refused, not altered. */
    public static final String VERSION = "results-v3";

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
            .add("processed_at", DataTypes.TimestampType)
            // results-v2: added at the end, so `ALTER TABLE ... ADD COLUMNS` migrates a results-v1 table.
            .add("error_code", DataTypes.StringType)
            .add("attempts", DataTypes.IntegerType)
            .add("output_at", DataTypes.TimestampType)
            // results-v3: likewise at the end (V3_COLUMNS).
            .add("scores", DataTypes.createMapType(DataTypes.StringType, DataTypes.DoubleType))
            .add("labels", DataTypes.createArrayType(DataTypes.StringType))
            .add("field_confidence", DataTypes.createMapType(DataTypes.StringType, DataTypes.DoubleType))
            .add("evidence", DataTypes.createMapType(DataTypes.StringType, new StructType()
                    .add("start", DataTypes.IntegerType).add("end", DataTypes.IntegerType)))
            .add("summary_chunks", DataTypes.IntegerType)
            .add("summary_depth", DataTypes.IntegerType);

    /** The columns results-v3 added, as {@code ALTER TABLE ... ADD COLUMNS} takes them (README's migration). */
    static final String V3_COLUMNS = "scores MAP<STRING, DOUBLE>, labels ARRAY<STRING>, "
            + "field_confidence MAP<STRING, DOUBLE>, evidence MAP<STRING, STRUCT<start: INT, end: INT>>, "
            + "summary_chunks INT, summary_depth INT";

    /** Columns a failed attempt updates on a row that has a good output (the rest of the row is that output). */
    private static final List<String> FAILURE_COLUMNS = List.of("error", "error_code", "input_hash", "run_id", "processed_at");

    private ResultsTable() {
    }

    static boolean ensure(SparkSession spark, TableRef ref) {
        return DeltaTables.ensure(spark, ref, SCHEMA, List.of(ExtractedColumn.NAME), "results", VERSION, "task");
    }

    /** Whether the table exists, its schema checked as {@link #ensure} does; creates nothing. */
    static boolean check(SparkSession spark, TableRef ref) {
        return DeltaTables.check(spark, ref, SCHEMA, List.of(ExtractedColumn.NAME), "results", VERSION);
    }

    /** Rows whose latest attempt failed: what {@code --retry-failed} would retry (the table's state, not a run's count). */
    static long rowsWithErrors(SparkSession spark, TableRef ref) {
        return DeltaTables.read(spark, ref).where(col("error").isNotNull()).count();
    }

    /** Rows a run left in the table, and how many of them are errors (for a run found abandoned). */
    static RowCounts committedBy(SparkSession spark, TableRef ref, String runId) {
        Row committed = DeltaTables.read(spark, ref).where(col("run_id").equalTo(runId))
                .agg(count(lit(1)).as("rows"), count(col("error")).as("failed")).first();
        return new RowCounts(committed.<Long>getAs("rows"), committed.<Long>getAs("failed"), 0, 0);
    }

    /**
     * Appends one chunk whose (doc_id, task) keys are all absent from the table ({@link WorkPlan#newKeysOnly()}): what
     * {@link #merge} would do with such rows (every row inserted as it is), in one write, without the staging table
     * and the MERGE's joins and rewrite. Exactly once as the MERGE is: Delta commits only the files of successful
     * task attempts, atomically, and the run's claim keeps other runs off the table meanwhile.
     *
     * @param rows result rows of {@link #SCHEMA}; written as they are computed, so the model runs once per row
     */
    static void append(SparkSession spark, TableRef ref, Dataset<Row> rows) {
        StructType table = DeltaTables.read(spark, ref).schema();
        Dataset<Row> source = ExtractedColumn.withColumn(rows, table);
        // by name: the table's column order (an older table may have had columns added at the end)
        source = source.selectExpr(java.util.Arrays.stream(table.fieldNames()).map(n -> "`" + n + "`")
                .toArray(String[]::new));
        var writer = source.write().format("delta").mode("append");
        if (ref.isPath()) {
            writer.save(ref.path());
        } else {
            writer.saveAsTable(ref.name());
        }
    }

    /**
     * MERGEs one staged chunk on (doc_id, task). New rows are inserted. An existing row is replaced by a successful
     * attempt; a failed attempt replaces it only when it has no good output yet ({@code output_at} null). A failed
     * attempt over a good output updates just {@code error}, {@code error_code}, {@code input_hash} (so the same
     * failing input is not retried every night; {@code --retry-failed} retries it), {@code run_id} and
     * {@code processed_at}: the output columns keep the last good result, and {@code error} beside them says the
     * latest attempt failed. {@code attempts} counts every attempt. The staged chunk is written once and this MERGE
     * runs once per chunk; a retried Spark task cannot duplicate rows because the MERGE is keyed.
     */
    static void merge(SparkSession spark, TableRef ref, Dataset<Row> staged) {
        Map<String, String> failure = new LinkedHashMap<>();
        FAILURE_COLUMNS.forEach(c -> failure.put(c, "s." + c));
        failure.put("attempts", "coalesce(t.attempts, 1) + 1");
        DeltaTable table = DeltaTables.open(spark, ref);
        Dataset<Row> source = ExtractedColumn.withColumn(staged, table.toDF().schema());
        Map<String, String> replace = new LinkedHashMap<>();
        for (String column : source.schema().fieldNames()) {
            replace.put(column, "s." + column);
        }
        replace.put("attempts", "coalesce(t.attempts, 1) + 1");
        table.as("t")
                .merge(source.as("s"), "t.doc_id = s.doc_id AND t.task = s.task")
                .whenMatched("s.error IS NOT NULL AND t.output_at IS NOT NULL").updateExpr(failure)
                .whenMatched().updateExpr(replace)
                .whenNotMatched().insertAll()
                .execute();
    }
}
