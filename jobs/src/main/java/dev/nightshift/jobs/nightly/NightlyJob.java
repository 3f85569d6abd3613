package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.EngineHolder;
import dev.nightshift.engine.EngineFactory;
import dev.nightshift.engine.ModelCard;
import dev.nightshift.engine.Reason;
import dev.nightshift.engine.TextGenerator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * The nightly job: documents in, one result per (document, task) MERGEd into Delta.
 *
 * <pre>{@code
 * RunSummary run = NightlyJob.of(spark, JobConfigLoader.load(Path.of("conf/nightly-example.yaml"))).run();
 * }</pre>
 *
 * <p>This class only sequences the pipeline; each step is its own class. Check everything that can be wrong before the
 * model runs ({@link ModelCheck}, {@link SourceDocuments}: {@link JobConfigException}); claim the results table
 * ({@link RunClaim}) and record the run ({@link RunReport}); plan the work ({@link WorkPlanner}: render each
 * (document, task) prompt, hash it with the task and model, anti-join against the results so unchanged rows are
 * skipped, chunks of at most {@code run.chunk_rows}, shortest prompts first); per chunk ({@link ChunkCommitter}), run
 * the model once per row (one engine per executor JVM), write the rows to a staging Delta table, and MERGE that into
 * the results on (doc_id, task); report progress meanwhile ({@link ProgressTicker}) and the run's figures at the end
 * ({@link RunReport}). A crash loses at most the chunk in flight; a rerun skips what was committed. Spark task
 * retries cannot duplicate rows: a failed task's staging files are never committed, and the MERGE is keyed.
 *
 * <p>A budget ({@link RunBudget}: {@code run.max_cost_usd}, {@code run.max_wall_minutes}) is asked after each chunk
 * and ends the run between chunks ({@code budget_exceeded}). {@link #dryRun()} runs the checks and the plan, counts
 * prompt tokens and estimates time and cost, and writes nothing.
 */
public final class NightlyJob {

    private final SparkSession spark;
    private final JobConfig config;
    private final EngineFactory engines;
    private final boolean retryFailed;
    private final JobListener listener;
    private final int crashAfterChunks;
    private final Path calibrationFile;

    private NightlyJob(SparkSession spark, JobConfig config, EngineFactory engines, boolean retryFailed,
                       JobListener listener, int crashAfterChunks, Path calibrationFile) {
        this.spark = spark;
        this.config = config;
        this.engines = engines;
        this.retryFailed = retryFailed;
        this.listener = listener;
        this.crashAfterChunks = crashAfterChunks;
        this.calibrationFile = calibrationFile;
    }

    public static NightlyJob of(SparkSession spark, JobConfig config) {
        return new NightlyJob(spark, config, EngineFactory.onnx(), false, JobListener.NONE, 0, null);
    }

    /** Another engine (tests use a deterministic fake). */
    public NightlyJob engines(EngineFactory factory) {
        return new NightlyJob(spark, config, factory, retryFailed, listener, crashAfterChunks, calibrationFile);
    }

    /** Reprocess only rows whose current result is an error. */
    public NightlyJob retryFailed(boolean value) {
        return new NightlyJob(spark, config, engines, value, listener, crashAfterChunks, calibrationFile);
    }

    public NightlyJob listener(JobListener value) {
        return new NightlyJob(spark, config, engines, retryFailed, value, crashAfterChunks, calibrationFile);
    }

    /** Fault injection for crash tests: fail the run right after committing this many chunks (0 = never). */
    public NightlyJob crashAfterChunks(int chunks) {
        return new NightlyJob(spark, config, engines, retryFailed, listener, chunks, calibrationFile);
    }

    /** Where {@link #dryRun()} caches its calibration; default {@link EngineCalibration#defaultFile()}. */
    public NightlyJob calibrationFile(Path file) {
        return new NightlyJob(spark, config, engines, retryFailed, listener, crashAfterChunks, file);
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
        Inputs in = inputs();
        ModelCheck modelCheck = in.modelCheck();
        String fingerprint = in.fingerprint();
        List<TaskSpec> tasks = in.tasks();
        Dataset<Row> docs = in.docs();
        long docsRead = in.docsRead();
        boolean resultsExisted = ResultsTable.ensure(spark, config.output().results());
        RunsTable.ensure(spark, config.output().runs());
        EngineNotes notes = new EngineNotes(spark.sparkContext());
        modelCheck.openLocally(spark, engines, notes, listener);

        // 2. Claim the results table: no other live run of it, dead ones marked abandoned; the run is recorded.
        RunLease lease = new RunLease(spark.sparkContext().hadoopConfiguration(), config.output().staging(), runId);
        new RunClaim(spark, config, listener).claim(lease);
        ExtractedColumn.ensure(spark, config.output().results(), ExtractedColumn.types(config));
        ExecutorLosses losses = ExecutorLosses.watch(spark.sparkContext());
        RunReport report = new RunReport(spark, config, retryFailed, runId, started,
                Path.of(config.model().path()).getFileName().toString(), fingerprint, notes, losses, docsRead,
                tasks.size());
        report.start();

        long pending = 0;
        int chunkCount = 0;
        String stopped = null;
        WorkPlan plan = null;
        try (ProgressTicker ticker = new ProgressTicker(lease, listener)) {
            // 3. Plan: what needs the model.
            listener.stage("plan", docsRead + " documents × " + tasks.size() + " tasks");
            plan = new WorkPlanner(spark, config, retryFailed).plan(docs, tasks, fingerprint, resultsExisted);
            pending = plan.total();
            chunkCount = plan.chunkCount();

            // 4. Chunks: infer once, stage, merge.
            ProgressCounters progress = ProgressCounters.register(spark.sparkContext(), runId);
            InferencePartition inference = new InferencePartition(engines, config.model().settings(), tasks, runId,
                    fingerprint, progress, notes.accumulator());
            ChunkCommitter committer = new ChunkCommitter(spark, config, inference, runId, listener);
            ticker.progress(pending, progress, plan.estimate());
            RunBudget budget = new RunBudget(config, started);
            for (int chunk = 0; chunk < plan.chunkCount(); chunk++) {
                listener.stage("chunk " + (chunk + 1) + "/" + plan.chunkCount(), "infer, stage, merge");
                RowCounts counts = committer.commit(plan, chunk);
                report.committed(counts);
                listener.chunkCommitted(chunk + 1, plan.chunkCount(), counts.rows(), counts.failed());
                if (crashAfterChunks > 0 && report.chunks() == crashAfterChunks) {
                    throw new InjectedCrash(report.chunks());
                }
                // Asked between chunks only, so no chunk is cut short; at least one chunk runs, so reruns make progress.
                if (chunk + 1 < plan.chunkCount() && config.run().hasBudget()) {
                    stopped = budget.exceeded(RunCosts.executors(spark), Instant.now());
                    if (stopped != null) {
                        listener.stage("budget", stopped + "; stopping after chunk " + (chunk + 1) + "/" + plan.chunkCount());
                        break;
                    }
                }
            }
        } catch (RuntimeException e) {
            report.failed(e, pending);
            throw e;
        } finally {
            losses.close();
            if (plan != null) {
                plan.close();
            }
            ProgressCounters.forget(runId);
            DeltaTables.delete(spark, lease.folder());
        }

        // 5. Summary, cost and status.
        return stopped != null ? report.budgetExceeded(stopped, pending, chunkCount) : report.finished(pending);
    }

    /** What run and dry run check first: the model folder and tasks, then the source, read, checked, de-duplicated. */
    private record Inputs(ModelCheck modelCheck, String fingerprint, List<TaskSpec> tasks, Dataset<Row> docs,
                          long docsRead) {
    }

    private Inputs inputs() {
        listener.stage("check", "model " + config.model().path());
        ModelCheck modelCheck = new ModelCheck(config);
        ModelCard model = modelCheck.card();
        List<TaskSpec> tasks = modelCheck.taskSpecs(model);
        listener.stage("read source", config.source().table().describe());
        SourceDocuments source = new SourceDocuments(spark, config);
        Dataset<Row> docs = source.read();
        long docsRead = source.check(docs);
        return new Inputs(modelCheck, model.fingerprint(), tasks, source.deduplicate(docs), docsRead);
    }

    /**
     * What {@link #run()} would do, without doing it: the same checks, source read and anti-join, then each pending
     * row's exact prompt tokens from the model's tokenizer ({@link PromptTokens}), expected output tokens, and a time
     * and cost estimate from this model's measured speed here ({@link EngineCalibration}, cached in
     * {@link #calibrationFile}). Nothing is written: no table, no Delta log, no runs row, no staging folder (only the
     * calibration cache file, when it has no entry for this model and machine).
     *
     * @throws JobConfigException for bad config or data, as {@link #run()} would before any inference
     */
    public DryRunReport dryRun() {
        return dryRun(null);
    }

    /**
     * {@link #dryRun()}, and also writes every pending row's rendered prompt to {@code promptsFile} (JSON lines,
     * {@link PromptsFile}): the exact work the run would send to the model, for {@code bench --prompts}. That file is
     * the only thing written besides the calibration cache.
     *
     * @param promptsFile where to write the prompts, or null for none
     */
    public DryRunReport dryRun(Path promptsFile) {
        Inputs in = inputs();
        boolean resultsExist = ResultsTable.check(spark, config.output().results());
        boolean runsExist = RunsTable.check(spark, config.output().runs());
        EngineNotes notes = new EngineNotes(spark.sparkContext());
        in.modelCheck().openLocally(spark, engines, notes, listener);
        listener.stage("plan", in.docsRead() + " documents × " + in.tasks().size() + " tasks");
        List<DryRunReport.TaskEstimate> estimates;
        int chunks;
        long pending;
        try (WorkPlan plan = new WorkPlanner(spark, config, retryFailed).plan(in.docs(), in.tasks(), in.fingerprint(),
                resultsExist)) {
            pending = plan.total();
            chunks = plan.chunkCount();
            listener.stage("count tokens", pending + " rows, with the model's tokenizer");
            estimates = new PromptTokens(engines, config.model().settings(), in.tasks()).perTask(plan.pending(), pending);
            if (promptsFile != null) {
                listener.stage("write prompts", pending + " rows to " + promptsFile);
                Iterator<Row> rows = plan.pending().toLocalIterator();
                PromptsFile.write(promptsFile, config, in.tasks(), in.fingerprint(), WorkItem.of(rows));
            }
        }
        listener.stage("calibrate", "this model's prefill and decode speed on this machine");
        EngineCalibration calibration = calibrate(in.fingerprint());
        // The calibration times inference alone; an earlier run of this job shows what Spark adds here.
        Double lastRun = runsExist ? RunsTable.lastTokensPerSecond(spark, config.output().runs(), config.name(),
                in.fingerprint()) : null;
        long rowsRead = in.docsRead() * in.tasks().size();
        return DryRunReport.of(config, retryFailed ? "retry_failed" : "incremental", in.docsRead(), rowsRead,
                rowsRead - pending, chunks, estimates, calibration, RunCosts.executors(spark), lastRun);
    }

    /** The driver's engine, measured once per model fingerprint, CPU, provider and thread count. */
    private EngineCalibration calibrate(String fingerprint) {
        JobConfig.Model model = config.model();
        TextGenerator engine;
        try {
            engine = EngineHolder.get(engines, model.settings());
        } catch (UncheckedIOException | IllegalArgumentException e) {
            throw new JobConfigException(config.locations().of("model.path") + ": cannot open the model on the driver "
                    + "to calibrate the estimate: " + Reason.of(e), e);
        }
        String key = fingerprint + " | " + EngineCalibration.cpu() + " | " + engine.model().provider() + " | threads "
                + (model.threads() == 0 ? "all" : model.threads());
        return EngineCalibration.of(calibrationFile != null ? calibrationFile : EngineCalibration.defaultFile(), key,
                engine, model.maxBatchRows());
    }
}
