package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.ChatTemplate;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Observation;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.count_distinct;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

/**
 * The nightly job: documents in, one result per (document, task) MERGEd into Delta.
 *
 * <pre>{@code
 * RunSummary run = NightlyJob.of(spark, JobConfigLoader.load(Path.of("conf/nightly-example.yaml"))).run();
 * }</pre>
 *
 * <p>Flow: check everything that can be wrong before the model runs (model folder, source, columns, ids, output
 * schemas: {@link JobConfigException}); render each (document, task) prompt and hash it with the task and model;
 * anti-join against the results table so unchanged rows are skipped; split what is left into chunks of at most
 * {@code run.chunk_rows}, shortest prompts first; per chunk, run the model once per row (one engine per executor
 * JVM), write the rows to a staging Delta table, and MERGE that into the results on (doc_id, task). A crash loses
 * at most the chunk in flight; a rerun skips what was committed. Spark task retries cannot duplicate rows: a failed
 * task's staging files are never committed, and the MERGE is keyed.
 */
public final class NightlyJob {

    private static final StructType CHUNK_SCHEMA = new StructType()
            .add("doc_id", DataTypes.StringType, false)
            .add("task", DataTypes.StringType, false)
            .add("chunk", DataTypes.IntegerType, false);

    private final SparkSession spark;
    private final JobConfig config;
    private final EngineFactory engines;
    private final boolean retryFailed;
    private final JobListener listener;
    private final int crashAfterChunks;

    private NightlyJob(SparkSession spark, JobConfig config, EngineFactory engines, boolean retryFailed,
                       JobListener listener, int crashAfterChunks) {
        this.spark = spark;
        this.config = config;
        this.engines = engines;
        this.retryFailed = retryFailed;
        this.listener = listener;
        this.crashAfterChunks = crashAfterChunks;
    }

    public static NightlyJob of(SparkSession spark, JobConfig config) {
        return new NightlyJob(spark, config, EngineFactory.onnx(), false, JobListener.NONE, 0);
    }

    /** Another engine (tests use a deterministic fake). */
    public NightlyJob engines(EngineFactory factory) {
        return new NightlyJob(spark, config, factory, retryFailed, listener, crashAfterChunks);
    }

    /** Reprocess only rows whose current result is an error. */
    public NightlyJob retryFailed(boolean value) {
        return new NightlyJob(spark, config, engines, value, listener, crashAfterChunks);
    }

    public NightlyJob listener(JobListener value) {
        return new NightlyJob(spark, config, engines, retryFailed, value, crashAfterChunks);
    }

    /** Fault injection for crash tests: fail the run right after committing this many chunks (0 = never). */
    public NightlyJob crashAfterChunks(int chunks) {
        return new NightlyJob(spark, config, engines, retryFailed, listener, chunks);
    }

    /** Thrown by {@link #crashAfterChunks}. */
    public static final class InjectedCrash extends RuntimeException {
        InjectedCrash(int chunks) {
            super("injected crash after " + chunks + " committed chunk(s)");
        }
    }

    /**
     * Runs the job.
     *
     * @return the run's summary (also written to the runs table); its status says whether the failure rate stayed
     * under {@code run.max_failure_rate}
     * @throws JobConfigException before any inference, for bad config or data
     */
    public RunSummary run() {
        Instant started = Instant.now();
        String runId = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT).withZone(ZoneOffset.UTC)
                .format(started) + "-" + UUID.randomUUID().toString().substring(0, 8);

        // 1. Everything that can be checked before the model runs.
        listener.stage("check", "model " + config.model().path());
        String fingerprint = checkModel();
        String modelId = Path.of(config.model().path()).getFileName().toString();
        List<TaskSpec> tasks = taskSpecs();
        listener.stage("read source", config.source().table().describe());
        Dataset<Row> docs = documents();
        long docsRead = checkDocuments(docs);
        docs = deduplicate(docs);
        boolean resultsExisted = ResultsTable.ensure(spark, config.output().results());
        RunsTable.ensure(spark, config.output().runs());
        openEngineInLocalMode();

        // 2. Plan: what needs the model.
        listener.stage("plan", docsRead + " documents × " + tasks.size() + " tasks");
        Map<String, Integer> placeholders = placeholderPositions();
        Dataset<Row> work = docs.flatMap(new WorkItems(tasks, placeholders, config.source().text(), fingerprint),
                Encoders.row(WorkItems.SCHEMA));
        Dataset<Row> pending = pending(work, resultsExisted).persist(StorageLevel.MEMORY_AND_DISK());
        long rowsRead = docsRead * tasks.size();
        long total = pending.count();
        int chunkCount = (int) ((total + config.run().chunkRows() - 1) / config.run().chunkRows());
        Dataset<Row> planned = chunked(pending, total, chunkCount);

        // 3. Chunks: infer once, stage, merge.
        LongAccumulator rowsDone = spark.sparkContext().longAccumulator("nightshift rows");
        LongAccumulator promptTokens = spark.sparkContext().longAccumulator("nightshift prompt tokens");
        LongAccumulator outputTokens = spark.sparkContext().longAccumulator("nightshift output tokens");
        InferencePartition inference = new InferencePartition(engines, config.model().settings(), tasks, runId,
                fingerprint, rowsDone, promptTokens, outputTokens);
        long processed = 0;
        long failed = 0;
        long tokensIn = 0;
        long tokensOut = 0;
        int committed = 0;
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "nightshift-progress");
            thread.setDaemon(true);
            return thread;
        });
        long inferStart = System.nanoTime();
        long[] lastDone = {-1};
        ticker.scheduleAtFixedRate(() -> {
            // Redrawn only when rows finish, so the rate is the inference rate, not diluted by staging and MERGE time.
            long done = Math.min(total, Math.max(ProgressCounters.get(runId, ProgressCounters.ROWS), rowsDone.value()));
            if (done == lastDone[0]) {
                return;
            }
            lastDone[0] = done;
            long tokens = Math.max(ProgressCounters.get(runId, ProgressCounters.PROMPT_TOKENS)
                    + ProgressCounters.get(runId, ProgressCounters.OUTPUT_TOKENS), promptTokens.value() + outputTokens.value());
            double seconds = (System.nanoTime() - inferStart) / 1e9;
            double eta = done == 0 ? Double.NaN : seconds / done * (total - done);
            listener.progress(done, total, tokens / seconds, eta);
        }, 1, 1, TimeUnit.SECONDS);
        try {
            for (int chunk = 0; chunk < chunkCount; chunk++) {
                listener.stage("chunk " + (chunk + 1) + "/" + chunkCount, "infer, stage, merge");
                Row stats = runChunk(planned, chunk, chunkCount, inference, runId);
                long rows = stats.getLong(0);
                processed += rows;
                failed += stats.getLong(1);
                tokensIn += stats.getLong(2);
                tokensOut += stats.getLong(3);
                committed++;
                listener.chunkCommitted(chunk + 1, chunkCount, rows, stats.getLong(1));
                if (crashAfterChunks > 0 && committed == crashAfterChunks) {
                    throw new InjectedCrash(committed);
                }
            }
        } catch (RuntimeException e) {
            RunSummary crashed = summary(runId, started, Instant.now(), RunSummary.FAILED, describe(e), docsRead,
                    rowsRead, rowsRead - total, processed, failed, committed, tokensIn, tokensOut, modelId, fingerprint);
            try {
                RunsTable.append(spark, config.output().runs(), crashed);
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        } finally {
            ticker.shutdownNow();
            pending.unpersist();
            planned.unpersist();
            ProgressCounters.forget(runId);
            DeltaTables.delete(spark, stagingRoot(runId));
        }

        // 4. Summary, cost and status.
        double rate = processed == 0 ? 0 : (double) failed / processed;
        boolean tooMany = rate > config.run().maxFailureRate();
        String message = tooMany ? String.format(Locale.ROOT, "%d of %d rows failed (%.1f%%), above run.max_failure_rate %.1f%%",
                failed, processed, rate * 100, config.run().maxFailureRate() * 100) : null;
        RunSummary done = summary(runId, started, Instant.now(), tooMany ? RunSummary.TOO_MANY_FAILURES : RunSummary.SUCCEEDED,
                message, docsRead, rowsRead, rowsRead - total, processed, failed, committed, tokensIn, tokensOut, modelId,
                fingerprint);
        RunsTable.append(spark, config.output().runs(), done);
        return done;
    }

    // --- checks --------------------------------------------------------------------------------------------

    /** The model folder is readable and looks like a converted model; returns its fingerprint. */
    private String checkModel() {
        String path = config.model().path();
        if (path.matches("[A-Za-z][A-Za-z0-9+.-]*:/.*") && !path.startsWith("file:")) {
            throw new JobConfigException(config.locations().of("model.path") + ": " + path + " is not a local path; "
                    + "the engine reads the model folder from each executor's file system (use a shared mount)");
        }
        Path folder = Path.of(path.startsWith("file:") ? java.net.URI.create(path).getPath() : path);
        if (!Files.isDirectory(folder)) {
            throw new JobConfigException(config.locations().of("model.path") + ": model folder " + folder
                    + " does not exist; convert a model with `nightshift convert` or fix the path");
        }
        if (!Files.isReadable(folder) || !Files.isReadable(folder.resolve("model.onnx"))) {
            throw new JobConfigException(config.locations().of("model.path") + ": " + folder + " is not a readable "
                    + "model folder (no readable model.onnx); point it at the output of `nightshift convert`");
        }
        try {
            return dev.nightshift.engine.LlmEngine.fingerprint(folder);
        } catch (IOException e) {
            throw new JobConfigException(config.locations().of("model.path") + ": cannot read model folder " + folder
                    + ": " + e.getMessage(), e);
        }
    }

    private List<TaskSpec> taskSpecs() {
        boolean modelHasTemplate;
        String templateProblem = null;
        try {
            // find() parses and trial-renders the template, so a broken one is found here, before any inference
            modelHasTemplate = ChatTemplate.find(Path.of(config.model().path())).isPresent();
        } catch (IOException | RuntimeException e) {
            modelHasTemplate = true;
            templateProblem = e.getMessage();
        }
        List<TaskSpec> specs = new ArrayList<>();
        for (JobConfig.Task task : config.tasks()) {
            boolean chat = switch (task.chat()) {
                case "true" -> true;
                case "false" -> false;
                default -> modelHasTemplate;
            };
            if (chat && templateProblem != null) {
                // running on without the template would send every prompt unformatted (or, before, half-rendered)
                throw new JobConfigException(config.locations().of("model.path") + ": task " + task.name()
                        + " uses the model's chat template, which cannot be used: " + templateProblem
                        + "; fix the template or set the task's chat: false");
            }
            specs.add(TaskSpec.of(task, chat));
        }
        return specs;
    }

    /**
     * The source as (doc_id, text, title?, extra columns...), all strings, filter applied. Column names are taken
     * literally (back-quoted), so no config value reaches SQL except {@code source.filter}, which is parsed as a
     * single expression.
     */
    private Dataset<Row> documents() {
        JobConfig.Source source = config.source();
        TableRef ref = source.table();
        Dataset<Row> raw;
        try {
            if (ref.isPath()) {
                if (!DeltaTables.pathExists(spark, ref.path())) {
                    throw new JobConfigException(config.locations().of("source.path") + ": " + ref.path()
                            + " does not exist");
                }
                raw = ref.format().equals("delta") ? spark.read().format("delta").load(ref.path())
                        : spark.read().format(ref.format()).options(readerOptions(ref)).load(ref.path());
            } else {
                if (!spark.catalog().tableExists(ref.name())) {
                    throw new JobConfigException(config.locations().of("source.table") + ": table " + ref.name()
                            + " does not exist in the catalog (tables created without a Hive metastore last one session; "
                            + "use source.path for files and Delta folders)");
                }
                raw = spark.read().table(ref.name());
            }
        } catch (JobConfigException e) {
            throw e;
        } catch (Exception e) {
            // AnalysisException (a checked exception Scala does not declare) and friends: unreadable files, bad options
            throw new JobConfigException("cannot read the source " + ref.describe() + ": " + firstLine(e.getMessage()), e);
        }
        List<String> available = List.of(raw.columns());
        if (available.isEmpty()) {
            throw new JobConfigException("the source " + ref.describe() + " has no columns (an empty folder or file?)");
        }
        if (source.filter() != null) {
            try {
                raw = raw.where(source.filter());
            } catch (Exception e) {
                // ParseException/AnalysisException: checked in Java's eyes, undeclared by Scala.
                throw new JobConfigException(config.locations().of("source.filter") + ": the filter '" + source.filter()
                        + "' is not a valid condition on the source: " + firstLine(e.getMessage()), e);
            }
        }
        List<Column> columns = new ArrayList<>();
        columns.add(SqlNames.column(column(available, source.id(), "source.id")).cast("string").as("doc_id"));
        columns.add(SqlNames.column(column(available, source.text(), "source.text")).cast("string").as("__text"));
        if (source.title() != null) {
            columns.add(SqlNames.column(column(available, source.title(), "source.title")).cast("string").as("__title"));
        }
        for (int i = 0; i < source.columns().size(); i++) {
            columns.add(SqlNames.column(column(available, source.columns().get(i), "source.columns"))
                    .cast("string").as("__c" + i));
        }
        if (source.latestBy() != null) {
            columns.add(SqlNames.column(column(available, source.latestBy(), "source.latest_by")).as("__latest"));
        }
        return raw.select(columns.toArray(Column[]::new));
    }

    private static Map<String, String> readerOptions(TableRef ref) {
        Map<String, String> options = new LinkedHashMap<>();
        if (ref.format().equals("csv")) {
            options.put("header", "true");
            options.put("multiLine", "true");
            options.put("escape", "\"");
        }
        options.putAll(ref.options());
        return options;
    }

    /** A configured column's actual name (exact, else the one case-insensitive match), or a clear error. */
    private String column(List<String> available, String name, String key) {
        if (available.contains(name)) {
            return name;
        }
        List<String> folded = available.stream().filter(c -> c.equalsIgnoreCase(name)).toList();
        if (folded.size() == 1) {
            return folded.get(0);
        }
        throw new JobConfigException(config.locations().of(key) + ": unknown column '" + name + "' in the source "
                + config.source().table().describe() + "; its columns are " + available);
    }

    /** Counts documents and checks ids before any work: empty source, null ids and (by policy) duplicates. */
    private long checkDocuments(Dataset<Row> docs) {
        Row stats = docs.agg(count(lit(1)), count(when(col("doc_id").isNull(), 1)), count_distinct(col("doc_id")))
                .first();
        long rows = stats.getLong(0);
        long nullIds = stats.getLong(1);
        long distinct = stats.getLong(2);
        String source = config.source().table().describe()
                + (config.source().filter() == null ? "" : " (filter: " + config.source().filter() + ")");
        if (rows == 0) {
            throw new JobConfigException("the source " + source + " has no rows; nothing to do. Check the path, "
                    + "table or filter (an empty nightly input is usually an upstream failure)");
        }
        if (nullIds > 0) {
            throw new JobConfigException(nullIds + " source rows have a null id (column " + config.source().id()
                    + "); every document needs an id to be merged on");
        }
        if (distinct < rows && config.source().duplicates() == JobConfig.Duplicates.ERROR) {
            List<String> examples = docs.groupBy("doc_id").count().where(col("count").gt(1)).limit(5)
                    .select("doc_id").as(Encoders.STRING()).collectAsList();
            throw new JobConfigException(config.locations().of("source.duplicates") + ": " + (rows - distinct)
                    + " source rows repeat an id (for example " + examples + "); de-duplicate the source, or set "
                    + "source.duplicates: keep_latest with source.latest_by: <column>");
        }
        return distinct;
    }

    private Dataset<Row> deduplicate(Dataset<Row> docs) {
        if (config.source().duplicates() != JobConfig.Duplicates.KEEP_LATEST) {
            return docs;
        }
        // Ties on latest_by are broken by the text, so reruns pick the same version.
        return docs.withColumn("__rank", row_number().over(Window.partitionBy("doc_id")
                        .orderBy(col("__latest").desc_nulls_last(), col("__text").desc_nulls_last())))
                .where(col("__rank").equalTo(1)).drop("__rank", "__latest");
    }

    private Map<String, Integer> placeholderPositions() {
        Map<String, Integer> positions = new LinkedHashMap<>();
        positions.put("id", 0);
        positions.put("text", 1);
        int next = 2;
        if (config.source().title() != null) {
            positions.put("title", next++);
        }
        for (String column : config.source().columns()) {
            positions.putIfAbsent(column, next++);
        }
        return positions;
    }

    /** Local master: the driver is the executor, so open (and check) the model now, once, before anything runs. */
    private void openEngineInLocalMode() {
        if (!spark.sparkContext().isLocal()) {
            return;
        }
        try {
            EngineHolder.get(engines, config.model().settings());
        } catch (UncheckedIOException | IllegalArgumentException e) {
            throw new JobConfigException(config.locations().of("model.path") + ": cannot open the model: "
                    + firstLine(e.getMessage()), e);
        }
    }

    // --- planning and chunks -------------------------------------------------------------------------------

    /** Work items that need the model: new or changed rows (or, with --retry-failed, rows whose result is an error). */
    private Dataset<Row> pending(Dataset<Row> work, boolean resultsExisted) {
        if (!resultsExisted) {
            return retryFailed ? work.limit(0) : work;
        }
        Dataset<Row> existing = DeltaTables.read(spark, config.output().results());
        if (retryFailed) {
            Dataset<Row> errors = existing.where(col("error").isNotNull()).select("doc_id", "task");
            return work.join(errors, scala.jdk.javaapi.CollectionConverters.asScala(List.of("doc_id", "task")).toSeq(),
                    "left_semi");
        }
        return work.join(existing.select("doc_id", "task", "input_hash"),
                scala.jdk.javaapi.CollectionConverters.asScala(List.of("doc_id", "task", "input_hash")).toSeq(),
                "left_anti");
    }

    /**
     * Numbers the pending rows by prompt length (ties by id) and cuts them into chunks of {@code chunk_rows}, so each
     * MERGE is bounded and each chunk's prompts have similar lengths (tight engine batches).
     */
    private Dataset<Row> chunked(Dataset<Row> pending, long total, int chunkCount) {
        if (chunkCount <= 1) {
            return pending.withColumn("chunk", lit(0));
        }
        long chunkRows = config.run().chunkRows();
        JavaRDD<Row> numbered = pending.select("doc_id", "task", "prompt_chars")
                .orderBy(col("prompt_chars"), col("doc_id"), col("task")).javaRDD()
                .zipWithIndex()
                .map(pair -> RowFactory.create(pair._1().getString(0), pair._1().getString(1), (int) (pair._2() / chunkRows)));
        Dataset<Row> chunks = spark.createDataFrame(numbered, CHUNK_SCHEMA);
        return pending.join(chunks, scala.jdk.javaapi.CollectionConverters.asScala(List.of("doc_id", "task")).toSeq())
                .persist(StorageLevel.MEMORY_AND_DISK());
    }

    /** Infers one chunk into its staging table, merges it, and returns (rows, failed, tokens in, tokens out). */
    private Row runChunk(Dataset<Row> planned, int chunk, int chunkCount, InferencePartition inference, String runId) {
        Dataset<Row> rows = planned.where(col("chunk").equalTo(chunk)).drop("chunk");
        int partitions = config.run().partitions() > 0 ? config.run().partitions()
                : spark.sparkContext().defaultParallelism();
        // Counted while the rows are written (Observation metrics come from successful task attempts only).
        Observation observation = new Observation("chunk-" + chunk);
        Dataset<Row> results = rows.repartition(partitions)
                .sortWithinPartitions("task", "prompt_chars")
                .mapPartitions(inference, Encoders.row(ResultsTable.SCHEMA))
                .observe(observation, count(lit(1)).as("rows"), count(col("error")).as("failed"),
                        coalesce(sum(col("prompt_tokens")).cast("long"), lit(0L)).as("tokens_in"),
                        coalesce(sum(col("output_tokens")).cast("long"), lit(0L)).as("tokens_out"));
        // Written out before the MERGE: the model runs exactly once per row even though the rows feed two actions.
        String staging = stagingRoot(runId) + "/chunk-" + chunk;
        results.write().format("delta").mode("overwrite").save(staging);
        Map<String, Object> stats;
        try {
            stats = observation.getAsJava();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading the metrics of chunk " + chunk, e);
        }
        ResultsTable.merge(spark, config.output().results(), spark.read().format("delta").load(staging));
        DeltaTables.delete(spark, staging);
        return RowFactory.create(stats.get("rows"), stats.get("failed"), stats.get("tokens_in"), stats.get("tokens_out"));
    }

    private String stagingRoot(String runId) {
        return config.output().staging().replaceAll("/+$", "") + "/" + runId;
    }

    // --- summary -------------------------------------------------------------------------------------------

    private RunSummary summary(String runId, Instant started, Instant ended, String status, String message,
                               long docsRead, long rowsRead, long skipped, long processed, long failed, int chunks,
                               long tokensIn, long tokensOut, String modelId, String fingerprint) {
        double seconds = Duration.between(started, ended == null ? Instant.now() : ended).toNanos() / 1e9;
        int executors = executors();
        double clusterCost = executors * seconds / 3600 * config.prices().executorHourUsd();
        List<RunSummary.ApiCost> apiCosts = new ArrayList<>();
        for (JobConfig.ApiPrice api : config.prices().apis()) {
            double cost = tokensIn / 1e6 * api.inputPer1M() + tokensOut / 1e6 * api.outputPer1M();
            apiCosts.add(new RunSummary.ApiCost(api.name(), cost, cost - clusterCost));
        }
        return new RunSummary(runId, config.name(), config.hash(), retryFailed ? "retry_failed" : "incremental", status,
                message, started, ended, docsRead, rowsRead, skipped, processed, failed, chunks, tokensIn, tokensOut,
                seconds, seconds > 0 ? (tokensIn + tokensOut) / seconds : 0, executors, clusterCost, apiCosts, modelId,
                fingerprint);
    }

    /** Executors the run could use: 1 with a local master, else those registered (the driver not counted). */
    private int executors() {
        if (spark.sparkContext().isLocal()) {
            return 1;
        }
        return Math.max(1, spark.sparkContext().statusTracker().getExecutorInfos().length - 1);
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + firstLine(message));
    }

    static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
