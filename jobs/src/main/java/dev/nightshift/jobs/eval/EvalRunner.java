package dev.nightshift.jobs.eval;

import dev.nightshift.engine.Reason;
import dev.nightshift.jobs.nightly.SqlNames;
import dev.nightshift.jobs.nightly.JobConfig;
import dev.nightshift.jobs.nightly.JobConfigException;
import dev.nightshift.jobs.nightly.JobListener;
import dev.nightshift.jobs.nightly.NightlyJob;
import dev.nightshift.jobs.nightly.RunSummary;
import dev.nightshift.jobs.nightly.SourceRows;
import dev.nightshift.jobs.nightly.TableRef;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.to_json;

/**
 * The Spark side of {@code eval}: sample the labelled documents, run the job's task on them through the nightly
 * pipeline itself ({@link NightlyJob}, same model, prompts and settings), and read the results back by column name.
 *
 * <p>The sampled source rows (every column) are copied to {@code <scratch>/sample}, and the job runs with that copy
 * as its source, the one task, and results, runs and staging under {@code <scratch>}: eval never writes to the
 * production results table, and a fresh scratch folder means every sampled row is processed (nothing is skipped as
 * unchanged), so the run's time and cost are the sample's. The scratch folder is deleted afterwards.
 */
public final class EvalRunner {

    private final SparkSession spark;
    private final JobConfig config;
    private final JobConfig.Task task;
    private final String goldColumn;

    public EvalRunner(SparkSession spark, JobConfig config, JobConfig.Task task, String goldColumn) {
        this.spark = spark;
        this.config = config;
        this.task = task;
        this.goldColumn = goldColumn;
    }

    /** The sample: ids in sample order and the raw gold values (checked later by {@link GoldValues}). */
    public record Sample(GoldValues gold, Dataset<Row> rows) {
    }

    /** Samples {@code n} documents and reads their gold values. */
    public Sample sample(int n) {
        Dataset<Row> source = SourceRows.read(spark, config);
        List<String> columns = Arrays.asList(source.columns());
        if (!columns.contains(goldColumn)) {
            throw new JobConfigException("--gold-column " + goldColumn + ": the source " + config.source().table().describe()
                    + " has no such column; its columns: " + String.join(", ", columns));
        }
        if (!columns.contains(config.source().id())) {
            throw new JobConfigException(config.locations().of("source.id") + ": the source has no column '"
                    + config.source().id() + "'; its columns: " + String.join(", ", columns));
        }
        List<String> ids = EvalSample.ids(source, config.source().id(), n);
        Column id = SqlNames.column(config.source().id()).cast("string");
        Dataset<Row> rows = source.where(id.isin(ids.toArray()));
        DataType type = source.schema().apply(goldColumn).dataType();
        Column gold = type instanceof StructType || type instanceof MapType ? to_json(SqlNames.column(goldColumn))
                : type instanceof ArrayType ? SqlNames.column(goldColumn) : SqlNames.column(goldColumn).cast("string");
        String latestBy = config.source().latestBy();
        Dataset<Row> goldRows = rows.select(id.as("id"), gold.as("gold"),
                latestBy == null ? lit(null).as("latest") : SqlNames.column(latestBy).as("latest"));
        Map<String, Object> values = new HashMap<>();
        Map<String, Object> latest = new HashMap<>();
        for (Row row : goldRows.collectAsList()) {
            String docId = row.getString(0);
            Object value = row.isNullAt(1) ? null : type instanceof ArrayType ? row.getList(1) : row.getString(1);
            Object version = row.get(2);
            // keep_latest: the gold of the version the job keeps (the greatest latest_by)
            if (!values.containsKey(docId) || greater(version, latest.get(docId))) {
                values.put(docId, value);
                latest.put(docId, version);
            }
        }
        return new Sample(new GoldValues(goldColumn, ids, values), rows);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static boolean greater(Object a, Object b) {
        return a instanceof Comparable ca && b != null && ca.compareTo(b) > 0;
    }

    /** What the job's own run gave: a prediction per document, and the run's figures. */
    public record OwnResults(Map<String, Prediction> predictions, RunSummary run) {
    }

    /**
     * Runs the task on the sample through the nightly job, under {@code scratch}, and reads the results.
     *
     * @param engines lets tests swap the engine ({@link NightlyJob#engines}); identity in production
     */
    public OwnResults run(Sample sample, String scratch, JobListener listener, UnaryOperator<NightlyJob> engines) {
        String sampleTable = scratch + "/sample";
        sample.rows().write().format("delta").mode("overwrite").save(sampleTable);
        JobConfig.Source source = config.source();
        JobConfig.Source copy = new JobConfig.Source(TableRef.delta(sampleTable), source.id(), source.text(),
                source.title(), source.columns(), null, source.duplicates(), source.latestBy(), JobConfig.BadRows.ERROR);
        TableRef results = TableRef.delta(scratch + "/results");
        // The nightly job's budget is not the evaluation's: a stop part-way would score a partial sample.
        JobConfig.Run run = new JobConfig.Run(config.run().chunkRows(), config.run().partitions(),
                config.run().maxFailureRate());
        JobConfig job = new JobConfig(config.name() + "-eval", copy, List.of(task), config.model(),
                new JobConfig.Output(results, TableRef.delta(scratch + "/runs"), scratch + "/staging"),
                run, config.prices(), config.hash(), config.locations());
        RunSummary summary = engines.apply(NightlyJob.of(spark, job).listener(listener)).run();
        Dataset<Row> table = spark.read().format("delta").load(results.path()).where(col("task").equalTo(task.name()));
        List<String> names = Arrays.asList(table.columns());
        Map<String, Prediction> predictions = new LinkedHashMap<>();
        for (Row row : table.collectAsList()) {
            predictions.put(row.getAs("doc_id"), prediction(row, names));
        }
        return new OwnResults(predictions, summary);
    }

    /** A results row as a prediction, by column name; {@code labels} (multi-label) when the table has it. */
    static Prediction prediction(Row row, List<String> names) {
        List<String> labels = null;
        if (names.contains("labels") && !row.isNullAt(row.fieldIndex("labels"))) {
            labels = new ArrayList<>(row.getList(row.fieldIndex("labels")));
        }
        String error = row.getAs("error");
        String code = row.getAs("error_code");
        return new Prediction(row.getAs("doc_id"), row.getAs("output"), row.getAs("label"), labels, row.getAs("score"),
                row.getAs("fields"), row.getAs("prompt_tokens"), row.getAs("output_tokens"), row.getAs("latency_ms"),
                error == null ? null : code == null ? error : "[" + code + "] " + error);
    }

    /** Deletes the scratch folder (best effort: a leftover folder only costs space). */
    public void deleteScratch(String scratch) {
        try {
            org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(scratch);
            FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
            fs.delete(path, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the eval scratch folder " + scratch + ": " + Reason.of(e), e);
        }
    }
}
