package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.EngineFactory;
import dev.nightshift.engine.ModelCard;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
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
 */
public final class NightlyJob {

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
        ModelCheck modelCheck = new ModelCheck(config);
        ModelCard model = modelCheck.card();
        String fingerprint = model.fingerprint();
        List<TaskSpec> tasks = modelCheck.taskSpecs(model);
        listener.stage("read source", config.source().table().describe());
        SourceDocuments source = new SourceDocuments(spark, config);
        Dataset<Row> docs = source.read();
        long docsRead = source.check(docs);
        docs = source.deduplicate(docs);
        boolean resultsExisted = ResultsTable.ensure(spark, config.output().results());
        RunsTable.ensure(spark, config.output().runs());
        EngineNotes notes = new EngineNotes(spark.sparkContext());
        modelCheck.openLocally(spark, engines, notes, listener);

        // 2. Claim the results table: no other live run of it, dead ones marked abandoned; the run is recorded.
        RunLease lease = new RunLease(spark.sparkContext().hadoopConfiguration(), config.output().staging(), runId);
        new RunClaim(spark, config, listener).claim(lease);
        ExtractedColumn.ensure(spark, config.output().results(), ExtractedColumn.types(config));
        RunReport report = new RunReport(spark, config, retryFailed, runId, started,
                Path.of(config.model().path()).getFileName().toString(), fingerprint, notes, docsRead, tasks.size());
        report.start();

        long pending = 0;
        WorkPlan plan = null;
        try (ProgressTicker ticker = new ProgressTicker(lease, listener)) {
            // 3. Plan: what needs the model.
            listener.stage("plan", docsRead + " documents × " + tasks.size() + " tasks");
            plan = new WorkPlanner(spark, config, retryFailed).plan(docs, tasks, fingerprint, resultsExisted);
            pending = plan.total();

            // 4. Chunks: infer once, stage, merge.
            ProgressCounters progress = ProgressCounters.register(spark.sparkContext(), runId);
            InferencePartition inference = new InferencePartition(engines, config.model().settings(), tasks, runId,
                    fingerprint, progress, notes.accumulator());
            ChunkCommitter committer = new ChunkCommitter(spark, config, inference, runId);
            ticker.progress(pending, progress, plan.estimate());
            for (int chunk = 0; chunk < plan.chunkCount(); chunk++) {
                listener.stage("chunk " + (chunk + 1) + "/" + plan.chunkCount(), "infer, stage, merge");
                RowCounts counts = committer.commit(plan, chunk);
                report.committed(counts);
                listener.chunkCommitted(chunk + 1, plan.chunkCount(), counts.rows(), counts.failed());
                if (crashAfterChunks > 0 && report.chunks() == crashAfterChunks) {
                    throw new InjectedCrash(report.chunks());
                }
            }
        } catch (RuntimeException e) {
            report.failed(e, pending);
            throw e;
        } finally {
            if (plan != null) {
                plan.close();
            }
            ProgressCounters.forget(runId);
            DeltaTables.delete(spark, lease.folder());
        }

        // 5. Summary, cost and status.
        return report.finished(pending);
    }
}
