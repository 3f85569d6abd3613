package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.Reason;
import dev.nightshift.engine.ModelCard;
import dev.nightshift.engine.ModelFolder;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Observation;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
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
import static org.apache.spark.sql.functions.lit;
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
        ModelCard model = checkModel();
        String fingerprint = model.fingerprint();
        String modelId = Path.of(config.model().path()).getFileName().toString();
        List<TaskSpec> tasks = taskSpecs(model);
        listener.stage("read source", config.source().table().describe());
        Dataset<Row> docs = documents();
        long docsRead = checkDocuments(docs);
        docs = deduplicate(docs);
        boolean resultsExisted = ResultsTable.ensure(spark, config.output().results());
        RunsTable.ensure(spark, config.output().runs());
        EngineNotes notes = new EngineNotes();
        openEngineInLocalMode(notes);

        // 2. Claim the results table: no other live run of it, dead ones marked abandoned; the run is recorded.
        RunLease lease = new RunLease(spark.sparkContext().hadoopConfiguration(), config.output().staging(), runId);
        claim(lease);
        long rowsRead = docsRead * tasks.size();
        Counts counts = new Counts();
        RunsTable.start(spark, config.output().runs(), summary(runId, started, null, RunSummary.RUNNING, null, docsRead,
                rowsRead, 0, counts, modelId, fingerprint, -1, notes));
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "nightshift-progress");
            thread.setDaemon(true);
            return thread;
        });
        ticker.scheduleAtFixedRate(() -> {
            try {
                lease.beat();
            } catch (RuntimeException e) {
                listener.warning("cannot refresh the run heartbeat: " + e.getMessage());
            }
        }, RunLease.BEAT.toMillis(), RunLease.BEAT.toMillis(), TimeUnit.MILLISECONDS);

        Dataset<Row> pending = null;
        Dataset<Row> planned = null;
        long total = 0;
        try {
            // 3. Plan: what needs the model.
            listener.stage("plan", docsRead + " documents × " + tasks.size() + " tasks");
            Map<String, Integer> placeholders = placeholderPositions();
            Dataset<Row> work = docs.flatMap(new WorkItems(tasks, placeholders, config.source().text(), fingerprint),
                    Encoders.row(WorkItems.SCHEMA));
            pending = pending(work, resultsExisted).persist(StorageLevel.MEMORY_AND_DISK());
            total = pending.count();
            int chunkCount = (int) ((total + config.run().chunkRows() - 1) / config.run().chunkRows());
            planned = chunked(pending, total, chunkCount);
            ProgressEstimator estimate = total == 0 ? ProgressEstimator.ofRows() : ProgressEstimator.plan(pending, tasks);

            // 4. Chunks: infer once, stage, merge.
            InferencePartition.Counters counters = new InferencePartition.Counters(
                    spark.sparkContext().longAccumulator("nightshift rows"),
                    spark.sparkContext().longAccumulator("nightshift prompt tokens"),
                    spark.sparkContext().longAccumulator("nightshift output tokens"),
                    spark.sparkContext().collectionAccumulator("nightshift engine notes"));
            InferencePartition inference = new InferencePartition(engines, config.model().settings(), tasks, runId,
                    fingerprint, counters);
            startProgress(ticker, runId, total, counters, estimate);
            for (int chunk = 0; chunk < chunkCount; chunk++) {
                listener.stage("chunk " + (chunk + 1) + "/" + chunkCount, "infer, stage, merge");
                Row stats = runChunk(planned, chunk, inference, runId);
                counts.add(stats);
                notes.addAll(counters.engineNotes().value());
                listener.chunkCommitted(chunk + 1, chunkCount, stats.getLong(0), stats.getLong(1));
                if (crashAfterChunks > 0 && counts.chunks == crashAfterChunks) {
                    throw new InjectedCrash(counts.chunks);
                }
            }
        } catch (RuntimeException e) {
            RunSummary crashed = summary(runId, started, Instant.now(), RunSummary.FAILED, describe(e), docsRead,
                    rowsRead, rowsRead - total, counts, modelId, fingerprint, -1, notes);
            try {
                RunsTable.record(spark, config.output().runs(), crashed);
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        } finally {
            ticker.shutdownNow();
            if (pending != null) {
                pending.unpersist();
            }
            if (planned != null) {
                planned.unpersist();
            }
            ProgressCounters.forget(runId);
            DeltaTables.delete(spark, lease.folder());
        }

        // 5. Summary, cost and status.
        double rate = counts.processed == 0 ? 0 : (double) counts.failed / counts.processed;
        boolean tooMany = rate > config.run().maxFailureRate();
        String message = tooMany ? String.format(Locale.ROOT, "%d of %d rows failed (%.1f%%), above run.max_failure_rate %.1f%%",
                counts.failed, counts.processed, rate * 100, config.run().maxFailureRate() * 100) : null;
        long withErrors = DeltaTables.read(spark, config.output().results()).where(col("error").isNotNull()).count();
        RunSummary done = summary(runId, started, Instant.now(), tooMany ? RunSummary.TOO_MANY_FAILURES : RunSummary.SUCCEEDED,
                message, docsRead, rowsRead, rowsRead - total, counts, modelId, fingerprint, withErrors, notes);
        RunsTable.record(spark, config.output().runs(), done);
        return done;
    }

    /** Rows and tokens of the committed chunks, from each chunk's observed metrics: the run's one count. */
    private static final class Counts {
        long processed;
        long failed;
        long tokensIn;
        long tokensOut;
        int chunks;

        void add(Row stats) {
            processed += stats.getLong(0);
            failed += stats.getLong(1);
            tokensIn += stats.getLong(2);
            tokensOut += stats.getLong(3);
            chunks++;
        }
    }

    /** The provider the engines used and what they warned about, gathered from the driver and the executors. */
    private static final class EngineNotes {
        final java.util.Set<String> providers = new java.util.TreeSet<>();
        final java.util.Set<String> warnings = new java.util.LinkedHashSet<>();

        void addAll(List<String> notes) {
            for (String note : notes) {
                if (note.startsWith(InferencePartition.PROVIDER_NOTE)) {
                    providers.add(note.substring(InferencePartition.PROVIDER_NOTE.length()));
                } else {
                    warnings.add(note);
                }
            }
        }

        String provider() {
            return providers.isEmpty() ? null : String.join(",", providers);
        }
    }

    /**
     * Makes this run the one writing the results: refuses to start next to a live run (the earlier one keeps going),
     * removes dead runs' staging folders and marks their runs-table rows abandoned with what they committed.
     */
    private void claim(RunLease lease) {
        lease.beat();
        Instant now = Instant.now();
        String mine = lease.runId();
        java.util.Set<String> live = new java.util.HashSet<>();
        for (RunLease.OtherRun other : lease.others()) {
            if (other.alive(now)) {
                live.add(other.runId());
                if (other.runId().compareTo(mine) < 0) {
                    DeltaTables.delete(spark, lease.folder());
                    throw new JobConfigException("another run of job '" + config.name() + "' (" + other.runId()
                            + ", heartbeat " + Duration.between(other.lastBeat(), now).toSeconds() + " s ago) is writing "
                            + config.output().results().describe() + "; wait for it to finish. Nothing was processed. "
                            + "(A run whose driver was killed stops its heartbeat; the next run after "
                            + RunLease.STALE.toSeconds() + " s takes over.)");
                }
            } else {
                lease.remove(other.runId());
            }
        }
        live.add(mine);
        for (Row dead : RunsTable.running(spark, config.output().runs(), config.name(), live)) {
            String deadId = dead.getString(0);
            Row committed = DeltaTables.read(spark, config.output().results()).where(col("run_id").equalTo(deadId))
                    .agg(count(lit(1)), count(col("error"))).first();
            String message = "abandoned: its driver stopped without finishing (killed or lost); found by run " + mine
                    + "; " + committed.getLong(0) + " result rows committed by it are kept";
            RunsTable.abandon(spark, config.output().runs(), deadId, message, committed.getLong(0), committed.getLong(1));
            listener.warning("run " + deadId + " was " + message);
        }
    }

    /** Progress lines once a second while rows finish. */
    private void startProgress(ScheduledExecutorService ticker, String runId, long total,
                               InferencePartition.Counters counters, ProgressEstimator estimate) {
        long inferStart = System.nanoTime();
        long[] lastDone = {-1};
        ticker.scheduleAtFixedRate(() -> {
            // Redrawn only when rows finish, so the rate is the inference rate, not diluted by staging and MERGE time.
            long done = Math.min(total, Math.max(ProgressCounters.get(runId, ProgressCounters.ROWS),
                    counters.rows().value()));
            if (done == lastDone[0]) {
                return;
            }
            lastDone[0] = done;
            long tokens = Math.max(ProgressCounters.get(runId, ProgressCounters.PROMPT_TOKENS)
                    + ProgressCounters.get(runId, ProgressCounters.OUTPUT_TOKENS),
                    counters.promptTokens().value() + counters.outputTokens().value());
            double seconds = (System.nanoTime() - inferStart) / 1e9;
            listener.progress(done, total, tokens / seconds, estimate.etaSeconds(done, seconds));
        }, 1, 1, TimeUnit.SECONDS);
    }

    // --- checks --------------------------------------------------------------------------------------------

    /** The model folder is readable and looks like a converted model; returns its card (fingerprint, template). */
    private ModelCard checkModel() {
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
        ModelFolder model = ModelFolder.open(folder);
        if (!Files.isReadable(folder) || !Files.isReadable(model.file(ModelFolder.MODEL))) {
            throw new JobConfigException(config.locations().of("model.path") + ": " + folder + " is not a readable "
                    + "model folder (no readable " + ModelFolder.MODEL + "); point it at the output of `nightshift convert`");
        }
        try {
            return model.card();
        } catch (IOException e) {
            throw new JobConfigException(config.locations().of("model.path") + ": cannot read model folder " + folder
                    + ": " + e.getMessage(), e);
        }
    }

    private List<TaskSpec> taskSpecs(ModelCard model) {
        // the card's template was parsed and trial-rendered, so a broken one is known here, before any inference
        boolean modelHasTemplate = model.hasChatTemplate();
        String templateProblem = model.templateProblem();
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

    /** The source as (doc_id, text, title?, extra columns...), all strings, filter applied: {@link SourceDocuments}. */
    private Dataset<Row> documents() {
        return new SourceDocuments(spark, config).read();
    }

    private long checkDocuments(Dataset<Row> docs) {
        return new SourceDocuments(spark, config).check(docs);
    }

    private Dataset<Row> deduplicate(Dataset<Row> docs) {
        return new SourceDocuments(spark, config).deduplicate(docs);
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
    private void openEngineInLocalMode(EngineNotes notes) {
        if (!spark.sparkContext().isLocal()) {
            return;
        }
        try {
            dev.nightshift.engine.TextGenerator engine = EngineHolder.get(engines, config.model().settings());
            notes.addAll(List.of(InferencePartition.PROVIDER_NOTE + engine.model().provider()));
            notes.addAll(engine.warnings());
            engine.warnings().forEach(listener::warning);
        } catch (UncheckedIOException | IllegalArgumentException e) {
            throw new JobConfigException(config.locations().of("model.path") + ": cannot open the model: "
                    + Reason.of(e), e);
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
    private Row runChunk(Dataset<Row> planned, int chunk, InferencePartition inference, String runId) {
        Dataset<Row> rows = planned.where(col("chunk").equalTo(chunk)).drop("chunk");
        int partitions = config.run().partitions() > 0 ? config.run().partitions()
                : spark.sparkContext().defaultParallelism();
        // Counted while the rows are written (Observation metrics come from successful task attempts only).
        Observation observation = new Observation("chunk-" + chunk);
        Dataset<Row> results = rows.repartition(partitions)
                .sortWithinPartitions("task", "prompt_chars")
                .mapPartitions(inference, Encoders.row(ResultsTable.SCHEMA))
                // Tokens of successful rows only: a failed row's prompt was not (usefully) processed by the model.
                .observe(observation, count(lit(1)).as("rows"), count(col("error")).as("failed"),
                        coalesce(sum(when(col("error").isNull(), col("prompt_tokens"))).cast("long"), lit(0L)).as("tokens_in"),
                        coalesce(sum(when(col("error").isNull(), col("output_tokens"))).cast("long"), lit(0L)).as("tokens_out"));
        // Written out before the MERGE: the model runs exactly once per row even though the rows feed two actions.
        String staging = config.output().staging().replaceAll("/+$", "") + "/" + runId + "/chunk-" + chunk;
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


    // --- summary -------------------------------------------------------------------------------------------

    private RunSummary summary(String runId, Instant started, Instant ended, String status, String message,
                               long docsRead, long rowsRead, long skipped, Counts counts, String modelId,
                               String fingerprint, long rowsWithErrors, EngineNotes notes) {
        double seconds = Duration.between(started, ended == null ? Instant.now() : ended).toNanos() / 1e9;
        int executors = executors();
        double clusterCost = executors * seconds / 3600 * config.prices().executorHourUsd();
        List<RunSummary.ApiCost> apiCosts = new ArrayList<>();
        for (JobConfig.ApiPrice api : config.prices().apis()) {
            double cost = counts.tokensIn / 1e6 * api.inputPer1M() + counts.tokensOut / 1e6 * api.outputPer1M();
            apiCosts.add(new RunSummary.ApiCost(api.name(), cost, cost - clusterCost));
        }
        return new RunSummary(runId, config.name(), config.hash(), retryFailed ? "retry_failed" : "incremental", status,
                message, started, ended, docsRead, rowsRead, skipped, counts.processed, counts.failed, counts.chunks,
                counts.tokensIn, counts.tokensOut, seconds, seconds > 0 ? (counts.tokensIn + counts.tokensOut) / seconds : 0,
                executors, clusterCost, apiCosts, modelId, fingerprint, rowsWithErrors, notes.provider(),
                List.copyOf(notes.warnings));
    }

    /** Executors the run could use: 1 with a local master, else those registered (the driver not counted). */
    private int executors() {
        if (spark.sparkContext().isLocal()) {
            return 1;
        }
        return Math.max(1, spark.sparkContext().statusTracker().getExecutorInfos().length - 1);
    }

    private static String describe(Throwable e) {
        return Reason.withKind(e);
    }
}
