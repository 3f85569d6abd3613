package dev.nightshift.jobs.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.engine.EngineFactory;
import dev.nightshift.engine.EngineHolder;
import dev.nightshift.engine.TextGenerator;
import dev.nightshift.jobs.nightly.JobBuilder;
import dev.nightshift.jobs.nightly.JobConfig;
import dev.nightshift.jobs.nightly.JobListener;
import dev.nightshift.jobs.nightly.Nightshift;
import dev.nightshift.jobs.nightly.PromptsFile;
import dev.nightshift.jobs.nightly.RunSummary;
import dev.nightshift.jobs.nightly.TableRef;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import static org.apache.spark.sql.functions.col;

/**
 * Whole-job throughput against the raw engine (issue 13), two harnesses that print figures.
 *
 * <p>{@code bench --job-vs-engine ROWS}: documents of mixed length (drawn uniformly between two token counts) go
 * through the nightly job per task (classify, summarize) on local Spark; the same job's dry run first writes the exact
 * prompts ({@link PromptsFile}), which then run through the executor's code without Spark on the same engine. Prints
 * job rows/s (rows processed and wall seconds from the runs table), engine rows/s, their ratio, and where the job's
 * time went: before planning (checks, source, tables, claim), planning, per chunk the inference-and-staging Spark job
 * and the MERGE, and the end (the runs row).
 *
 * <p>{@code bench --rows-per-hour ROWS}: per document length and task (classify, summarize, extract), ROWS documents
 * through the engine on the job's prompts, as rows per hour and per hour and thread.
 */
final class JobBench {

    private static final List<String> LABELS = List.of("World", "Sports", "Business", "Sci/Tech");
    private static final List<String> FIELDS = List.of("company", "amount", "currency");
    private static final String[] WORDS = ("the market team season research election company players scientists "
            + "government shares match study minister profit league data vote growth coach model court results")
            .split(" ");

    private final Path model;
    private final int threads;
    private final int maxBatchRows;
    private final int summaryNewTokens;
    private final Path work;
    private final PrintWriter out;
    private final SparkSession spark;
    /** Fresh tables per harness run: every row is new to the job. */
    private final long stamp = System.currentTimeMillis();

    JobBench(Path model, int threads, int maxBatchRows, int summaryNewTokens, Path work, PrintWriter out) {
        this.model = model.toAbsolutePath();
        this.threads = threads;
        this.maxBatchRows = maxBatchRows;
        this.summaryNewTokens = summaryNewTokens;
        this.work = work.toAbsolutePath();
        this.out = out;
        this.spark = JobConsole.session("local[*]", this.work.resolve("warehouse"));
    }

    /**
     * @param minTokens  shortest document, in the model's tokens
     * @param maxTokens  longest
     * @param chunkRows  the job's run.chunk_rows
     * @param partitions the job's run.partitions (0: Spark's default parallelism)
     */
    void jobVsEngine(int rows, int minTokens, int maxTokens, int chunkRows, int partitions) throws IOException {
        Path docs = work.resolve("job-bench-docs.jsonl");
        writeDocuments(docs, rows, minTokens, maxTokens, new Random(7));
        Path warm = work.resolve("job-bench-warm-up.jsonl");
        writeDocuments(warm, 8, minTokens, minTokens, new Random(8));
        out.printf(Locale.ROOT, "job vs engine: %d documents of %d-%d tokens, model %s, chunk_rows %d, partitions %s "
                        + "(default parallelism %d), max_batch_rows %d%n", rows, minTokens, maxTokens, model, chunkRows,
                partitions == 0 ? "default" : partitions, spark.sparkContext().defaultParallelism(), maxBatchRows);
        // warm-up: the engine opens, the JIT compiles, Delta writes its first tables
        job("warm-up", List.of("classify", "summarize"), warm, chunkRows, partitions).run(spark);
        out.printf(Locale.ROOT, "%-10s %6s %10s %10s %10s %10s %11s  %s%n", "task", "rows", "job s", "job rows/s",
                "engine s", "eng rows/s", "job/engine", "job phases (s)");
        for (String task : List.of("classify", "summarize")) {
            String name = "measured-" + task;
            Path prompts = work.resolve("job-bench-" + task + ".prompts.jsonl");
            job(name, List.of(task), docs, chunkRows, partitions).job(spark)
                    .calibrationFile(work.resolve("calibration.properties")).dryRun(prompts);
            PhaseClock clock = new PhaseClock();
            RunSummary run = job(name, List.of(task), docs, chunkRows, partitions).job(spark).listener(clock).run();
            clock.end();
            Row recorded = spark.read().format("delta").load(tables(name) + "-runs")
                    .where(col("run_id").equalTo(run.runId())).first();
            double jobSeconds = recorded.<Double>getAs("wall_seconds");
            long jobRows = recorded.<Long>getAs("rows_processed");
            PromptsFile file = PromptsFile.read(prompts);
            TextGenerator engine = EngineHolder.get(EngineFactory.onnx(), file.settings(null));
            PromptsFile.Replay replay = file.replay(engine, Integer.MAX_VALUE);
            double jobRate = jobRows / jobSeconds;
            out.printf(Locale.ROOT, "%-10s %6d %10.1f %10.2f %10.1f %10.2f %11.3f  %s%n", task, jobRows, jobSeconds,
                    jobRate, replay.seconds(), replay.rowsPerSecond(), jobRate / replay.rowsPerSecond(), clock);
            if (replay.failed() > 0) {
                out.printf(Locale.ROOT, "  engine: %d of %d rows failed: %s%n", replay.failed(), replay.rows(),
                        replay.describeFailures());
            }
        }
    }

    /** ROWS documents of each length through the engine on the job's prompts, per task: rows per hour. */
    void rowsPerHour(int rows, List<Integer> lengths) throws IOException {
        out.printf(Locale.ROOT, "rows per hour: %d documents per length, model %s, %s threads, max_batch_rows %d, "
                + "summarize max_new_tokens %d, extract fields %s%n", rows, model, threads == 0 ? "all" : threads,
                maxBatchRows, summaryNewTokens, FIELDS);
        out.printf(Locale.ROOT, "%-10s %8s %14s %10s %12s %14s%n", "task", "doc tok", "prompt tok/row", "rows/s",
                "rows/hour", "rows/hour/thread");
        for (int length : lengths) {
            Path docs = work.resolve("rows-per-hour-" + length + ".jsonl");
            int spread = Math.max(1, length / 10);
            writeDocuments(docs, rows, length - spread, length + spread, new Random(length));
            Path prompts = work.resolve("rows-per-hour-" + length + ".prompts.jsonl");
            job("rows-per-hour-" + length, List.of("classify", "summarize", "extract"), docs, 5000, 0).job(spark)
                    .calibrationFile(work.resolve("calibration.properties")).dryRun(prompts);
            PromptsFile file = PromptsFile.read(prompts);
            TextGenerator engine = EngineHolder.get(EngineFactory.onnx(), file.settings(null));
            int engineThreads = file.settings(null).engineOptions().threads();
            file.replay(engine, Math.min(maxBatchRows, file.rows()));
            for (String task : file.taskNames()) {
                PromptsFile.Replay replay = file.onlyTask(task).replay(engine, Integer.MAX_VALUE);
                double rate = replay.rowsPerSecond();
                out.printf(Locale.ROOT, "%-10s %8d %14.0f %10.2f %,12.0f %,14.0f%n", task, length,
                        replay.promptTokens() / (double) Math.max(1, replay.rows() - replay.failed()), rate,
                        rate * 3600, rate * 3600 / engineThreads);
                if (replay.failed() > 0) {
                    out.printf(Locale.ROOT, "  %d of %d %s rows failed: %s%n", replay.failed(), replay.rows(), task,
                            replay.describeFailures());
                }
            }
        }
    }

    private JobBuilder job(String name, List<String> tasks, Path docs, int chunkRows, int partitions) {
        JobBuilder job = Nightshift.job("job-bench-" + name)
                .source(new TableRef(null, docs.toString(), "json", Map.of()), "id", "text");
        for (String task : tasks) {
            job = switch (task) {
                case "classify" -> job.classify(task, LABELS, o -> { });
                case "summarize" -> job.summarize(task, o -> o.maxWords(40).maxNewTokens(summaryNewTokens));
                default -> job.extract(task, FIELDS, o -> { });
            };
        }
        return job.model(model.toString()).threads(threads).maxBatchRows(maxBatchRows)
                .batchBudgetMb(1024).mergeInto(tables(name) + "-results").runsTable(tables(name) + "-runs")
                .chunkRows(chunkRows).partitions(partitions).maxFailureRate(1.0);
    }

    private String tables(String name) {
        return work.resolve("tables-" + stamp + "-" + name).toString();
    }

    /**
     * Documents of random words whose token counts (this model's tokenizer) are drawn uniformly from
     * [minTokens, maxTokens]; words are added until the count is reached (measured every few words, so a document
     * ends at most a few words past its target).
     */
    private void writeDocuments(Path file, int rows, int minTokens, int maxTokens, Random random) throws IOException {
        // the job's engine settings, so this is the engine the job and the replay use (one per settings per JVM)
        TextGenerator engine = EngineHolder.get(EngineFactory.onnx(),
                new JobConfig.Model(model.toString(), "cpu", threads, 1024, maxBatchRows, "host", false).settings());
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            int target = minTokens + random.nextInt(maxTokens - minTokens + 1);
            StringBuilder text = new StringBuilder();
            int tokens = 0;
            while (tokens < target) {
                // a word of this vocabulary can be several tokens (a synthetic tokenizer splits it into bytes), so
                // add an eighth of the gap in words at a time: the text ends within a word of the target, not over it
                for (int w = 0; w < Math.max(1, (target - tokens) / 8); w++) {
                    text.append(text.isEmpty() ? "" : " ").append(WORDS[random.nextInt(WORDS.length)]);
                }
                tokens = engine.countTokens(text.toString());
            }
            lines.add(json.writeValueAsString(Map.of("id", String.format(Locale.ROOT, "doc-%05d", i),
                    "text", text.append('.').toString())));
        }
        Files.createDirectories(file.getParent());
        Files.write(file, lines);
    }

    /** The job's stages as they start, and each chunk's inference-and-staging and MERGE seconds. */
    private static final class PhaseClock implements JobListener {
        private final long start = System.nanoTime();
        private long planStarted;
        private long firstChunk;
        private long lastCommitted;
        private long ended;
        private double inferAndStage;
        private double merge;
        private int chunks;

        @Override
        public void stage(String name, String detail) {
            long now = System.nanoTime();
            if (name.equals("plan")) {
                planStarted = now;
            } else if (name.startsWith("chunk ") && firstChunk == 0) {
                firstChunk = now;
            }
        }

        @Override
        public void chunkTimes(int index, double inferAndStageSeconds, double mergeSeconds) {
            inferAndStage += inferAndStageSeconds;
            merge += mergeSeconds;
            chunks++;
        }

        @Override
        public void chunkCommitted(int index, int count, long rows, long failed) {
            lastCommitted = System.nanoTime();
        }

        void end() {
            ended = System.nanoTime();
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "before plan %.1f, plan %.1f, %d chunk(s): infer+stage %.1f, merge %.1f, "
                            + "end %.1f", (planStarted - start) / 1e9, (firstChunk - planStarted) / 1e9, chunks,
                    inferAndStage, merge, (ended - lastCommitted) / 1e9);
        }
    }
}
