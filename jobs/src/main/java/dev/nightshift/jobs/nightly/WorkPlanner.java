package dev.nightshift.jobs.nightly;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

/**
 * Decides what needs the model: renders every (document, task) prompt and its input hash ({@link WorkItems}), keeps
 * the new or changed ones (anti-join on {@code input_hash} against the results; {@code --retry-failed}: the rows whose
 * result is an error), and numbers them into chunks of {@code run.chunk_rows}, shortest prompts first. Notes whether
 * every pending row is a new key (no row of that (doc_id, task) in the results), so chunks can be appended.
 */
final class WorkPlanner {

    private static final StructType CHUNK_SCHEMA = new StructType()
            .add("doc_id", DataTypes.StringType, false)
            .add("task", DataTypes.StringType, false)
            .add(WorkPlan.CHUNK, DataTypes.IntegerType, false);

    private final SparkSession spark;
    private final JobConfig config;
    private final boolean retryFailed;

    WorkPlanner(SparkSession spark, JobConfig config, boolean retryFailed) {
        this.spark = spark;
        this.config = config;
        this.retryFailed = retryFailed;
    }

    /**
     * Plans the run; the plan holds cached datasets, so close it when the run ends.
     *
     * @param docs           {@link SourceDocuments#read()}'s rows, checked and de-duplicated
     * @param resultsExisted whether the results table had rows to compare with before this run
     */
    WorkPlan plan(Dataset<Row> docs, List<TaskSpec> tasks, String modelFingerprint, boolean resultsExisted) {
        Dataset<Row> work = docs.flatMap(new WorkItems(tasks, SourceDocuments.placeholderColumns(config.source()),
                config.source().text(), modelFingerprint), Encoders.row(WorkItem.SCHEMA));
        Dataset<Row> pending = pending(work, resultsExisted).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            long total = pending.count();
            int chunkCount = (int) ((total + config.run().chunkRows() - 1) / config.run().chunkRows());
            Dataset<Row> planned = chunked(pending, chunkCount);
            ProgressEstimator estimate = total == 0 ? ProgressEstimator.ofRows() : ProgressEstimator.plan(pending, tasks);
            return new WorkPlan(pending, planned, total, chunkCount, estimate, total > 0 && newKeysOnly(pending,
                    resultsExisted));
        } catch (RuntimeException e) {
            pending.unpersist();
            throw e;
        }
    }

    /**
     * Whether none of the pending rows' (doc_id, task) keys is in the results table: a first run, or a night of new
     * documents only. Changed documents and --retry-failed replace rows, which needs the MERGE.
     */
    private boolean newKeysOnly(Dataset<Row> pending, boolean resultsExisted) {
        if (!resultsExisted) {
            return true;
        }
        if (retryFailed) {
            return false;
        }
        Dataset<Row> keys = DeltaTables.read(spark, config.output().results()).select("doc_id", "task");
        return pending.select("doc_id", "task").join(keys, columns("doc_id", "task"), "left_semi").isEmpty();
    }

    /** Work items that need the model: new or changed rows (or, with --retry-failed, rows whose result is an error). */
    private Dataset<Row> pending(Dataset<Row> work, boolean resultsExisted) {
        if (!resultsExisted) {
            return retryFailed ? work.limit(0) : work;
        }
        Dataset<Row> existing = DeltaTables.read(spark, config.output().results());
        if (retryFailed) {
            Dataset<Row> errors = existing.where(col("error").isNotNull()).select("doc_id", "task");
            return work.join(errors, columns("doc_id", "task"), "left_semi");
        }
        return work.join(existing.select("doc_id", "task", "input_hash"), columns("doc_id", "task", "input_hash"),
                "left_anti");
    }

    /**
     * Numbers the pending rows by prompt length (ties by id) and cuts them into chunks of {@code chunk_rows}, so each
     * MERGE is bounded and each chunk's prompts have similar lengths (tight engine batches).
     */
    private Dataset<Row> chunked(Dataset<Row> pending, int chunkCount) {
        if (chunkCount <= 1) {
            return pending.withColumn(WorkPlan.CHUNK, lit(0));
        }
        long chunkRows = config.run().chunkRows();
        JavaRDD<Row> numbered = pending.select("doc_id", "task", "prompt_chars")
                .orderBy(col("prompt_chars"), col("doc_id"), col("task")).javaRDD()
                .zipWithIndex()
                .map(pair -> RowFactory.create(pair._1().<String>getAs("doc_id"), pair._1().<String>getAs("task"),
                        (int) (pair._2() / chunkRows)));
        Dataset<Row> chunks = spark.createDataFrame(numbered, CHUNK_SCHEMA);
        return pending.join(chunks, columns("doc_id", "task")).persist(StorageLevel.MEMORY_AND_DISK());
    }

    private static scala.collection.immutable.Seq<String> columns(String... names) {
        return scala.jdk.javaapi.CollectionConverters.asScala(List.of(names)).toSeq();
    }
}
