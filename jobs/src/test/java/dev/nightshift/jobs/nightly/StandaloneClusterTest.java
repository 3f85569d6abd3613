package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.EngineHolder;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The job on a real Spark standalone cluster (loopback: a master and two one-core workers, each in its own JVM, from
 * the Maven artifacts; see {@link StandaloneCluster}), submitted as the shaded application jar through
 * {@code SparkSubmit}. It proves what local mode cannot: the application jar carries everything a stock Spark lacks
 * and nothing in it clashes with Spark's own jars; each executor JVM loads the model once; the results equal a
 * {@code local[2]} run of the same config row for row; a killed executor or a killed driver costs neither a row nor
 * a duplicate. Runs in Surefire's {@code cluster} execution (after {@code package}, which builds the jar); one
 * cluster serves every scenario, and every JVM it started is killed afterwards, failed or not. The driver-kill
 * scenario is also tagged {@code slow}.
 */
@Tag("cluster")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StandaloneClusterTest {

    /** Per submitted run: a healthy one takes 1 to 2.5 minutes on a 2-core box shared with other builds. */
    private static final Duration RUN_TIMEOUT = Duration.ofSeconds(240);
    private static final int DOCS = 24;
    private static final int TASKS = 2;
    private static final String COMPARED = "doc_id, task, output, label, round(score, 4) AS score, fields, "
            + "prompt_tokens, output_tokens, finish_reason, error, error_code, input_hash, prompt_hash, model_fingerprint";

    private static final Path REPO = Path.of(System.getProperty("nightshift.repo", ".."));
    private static final Path DISCOVERY = REPO.resolve("conf/gpu/getGpusResources.sh");
    /** What each worker's discovery script announces (NIGHTSHIFT_GPUS): one GPU each, different ids. */
    private static final List<String> WORKER_GPUS = List.of("0", "1");
    private static final Pattern CUDA_DEVICE = Pattern.compile(Pattern.quote(EngineHolder.CUDA_DEVICE) + "(\\d+)");

    @TempDir
    static Path dir;
    static StandaloneCluster cluster;
    static SparkSession spark;
    static Path model;
    static Path docs;
    static List<String> localResults;

    @BeforeAll
    static void setUp() throws IOException {
        Path appJar = Path.of(System.getProperty("nightshift.appJar", "target/missing-spark.jar"));
        assertTrue(Files.isRegularFile(appJar), "the application jar " + appJar + " is built by `mvn package` first");
        List<Path> classpath = Arrays.stream(Files.readString(Path.of(System.getProperty("nightshift.classpathFile",
                "target/classpath.txt"))).trim().split(":")).map(Path::of).toList();
        // Fake GPUs through the real discovery script: worker 0 announces GPU "0", worker 1 GPU "1".
        cluster = StandaloneCluster.start(dir.resolve("cluster"), appJar, classpath, StandaloneCluster.nightshiftFlags(),
                2, "600m", Duration.ofSeconds(60), new StandaloneCluster.WorkerGpus(DISCOVERY, WORKER_GPUS));
        try (var jars = Files.list(dir.resolve("cluster/spark-home/jars"))) {
            List<String> names = jars.map(j -> j.getFileName().toString()).toList();
            assertTrue(names.stream().anyMatch(n -> n.startsWith("spark-core_2.13")), names.toString());
            for (String ours : List.of("nightshift-", "delta-", "onnxruntime", "tokenizers", "jinjava", "picocli")) {
                assertTrue(names.stream().noneMatch(n -> n.startsWith(ours)), "the cluster's Spark has no " + ours + "*");
            }
        }

        // 64 wide, 2 layers, vocabulary 512: loads in well under a second.
        LlamaConfig config = new LlamaConfig(64, 172, 2, 8, 4, 8, 512, 1024, 1e-5f, 10000, null, false, false, 1,
                new int[]{2});
        model = dir.resolve("model");
        ModelConverter.convert(new RandomWeights(config, 11), model, ConversionOptions.of(Precision.INT4), null,
                ConversionListener.NONE);
        docs = new JobFiles(dir.resolve("docs")).documents(DOCS, java.util.Map.of()).docs;

        // The reference: the same config in local mode, in this JVM.
        spark = TestSpark.start(dir.resolve("warehouse"));
        Path local = dir.resolve("local");
        NightlyJob.of(spark, JobConfigLoader.parse(yaml(local, "cpu"), "local.yaml")).run();
        localResults = results(local);
        assertEquals(DOCS * TASKS, localResults.size());
    }

    @AfterAll
    static void tearDown() {
        try {
            if (cluster != null) {
                cluster.close();
            }
        } finally {
            EngineHolder.closeAll();
        }
    }

    /**
     * Classify and summarize (greedy: equal across batch shapes), 24 rows a chunk: 2 chunks, 2 partitions each, on
     * {@code provider} (cpu or cuda).
     */
    private static String yaml(Path out, String provider) {
        return """
                job: cluster-test
                source: {path: '%s', format: json, id: id, text: text, title: title}
                tasks:
                  - name: topic
                    type: classify
                    labels: [World, Sports, Business, Sci/Tech]
                    prompt: "Topic ({labels}): {title}. {text}\\nTopic:"
                  - name: tldr
                    type: summarize
                    max_words: 8
                    prompt: "{title}. {text}\\nSummary:"
                    generation: {max_new_tokens: 6}
                model: {path: '%s', max_batch_rows: 8, provider: %s}
                output:
                  results: {path: '%s'}
                  runs: {path: '%s'}
                run: {chunk_rows: 24, partitions: 2, max_failure_rate: 0}
                prices:
                  executor_hour_usd: 0.20
                """.formatted(docs, model, provider, out.resolve("results"), out.resolve("runs"));
    }

    private static List<String> results(Path out) {
        return spark.sql("SELECT " + COMPARED + " FROM delta.`" + out.resolve("results") + "` ORDER BY doc_id, task")
                .collectAsList().stream().map(Row::toString).toList();
    }

    private static List<Row> runs(Path out) {
        return spark.sql("SELECT * FROM delta.`" + out.resolve("runs") + "` ORDER BY started_at").collectAsList();
    }

    /**
     * The repository's conf/spark-defaults.conf (with {@code gpu}, conf/gpu/spark-defaults.conf on top: one GPU per
     * executor and task), sized down for one-core, small-memory workers: what conf/spark-submit.sh passes, plus the
     * JVM flags it adds. Later lines win.
     */
    private static Path properties(Path out, boolean gpu) throws IOException {
        List<String> lines = new ArrayList<>(Files.readAllLines(REPO.resolve("conf/spark-defaults.conf")));
        if (gpu) {
            lines.addAll(Files.readAllLines(REPO.resolve("conf/gpu/spark-defaults.conf")));
            // The workers assign the GPUs (their discovery); this path only matters where an executor discovers its own.
            lines.add("spark.executor.resource.gpu.discoveryScript " + DISCOVERY.toAbsolutePath());
        }
        String flags = String.join(" ", StandaloneCluster.nightshiftFlags());
        lines.addAll(List.of(
                "spark.executor.cores 1", "spark.task.cpus 1", "spark.cores.max 2",
                "spark.executor.memory 512m", "spark.executor.memoryOverhead 384m",
                "spark.driver.host 127.0.0.1", "spark.driver.bindAddress 127.0.0.1", "spark.ui.enabled false",
                "spark.sql.shuffle.partitions 2", "spark.default.parallelism 2",
                "spark.databricks.delta.snapshotPartitions 2", "spark.sql.adaptive.enabled false",
                // Both executors get tasks at once instead of waiting for the one holding the plan's blocks.
                "spark.locality.wait 0",
                "spark.executor.extraJavaOptions " + flags + " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"));
        Path file = out.resolve("spark.conf");
        Files.write(file, lines);
        return file;
    }

    /** A submitted job: the driver process, its application id, its log. */
    private record Submitted(Process driver, String appId, Path log) {
    }

    /** Submits the job with {@code out}'s config on {@code provider}; a cuda run asks for one GPU per executor and task. */
    private static Submitted submit(Path out, String provider) throws IOException {
        Files.createDirectories(out);
        Path config = out.resolve("job.yaml");
        Files.writeString(config, yaml(out, provider));
        Set<String> before = cluster.applications();
        Path log = cluster.logs().resolve(out.getFileName() + "-driver.log");
        Process driver = cluster.submit(properties(out, provider.equals("cuda")), List.of("run", "--config", config.toString()), log);
        String app = cluster.newApplication(before, Duration.ofSeconds(60));
        return new Submitted(driver, app, log);
    }

    private static void awaitExit(Submitted run, int expected) throws InterruptedException {
        boolean done = run.driver().waitFor(RUN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(done, "the job did not finish within " + RUN_TIMEOUT.toSeconds() + " s; driver log:\n"
                + StandaloneCluster.tail(run.log()));
        assertEquals(expected, run.driver().exitValue(), "driver log:\n" + StandaloneCluster.tail(run.log()));
    }

    /** Executors of the application that opened the engine, each exactly once. */
    private static List<StandaloneCluster.Executor> loadedOnce(String app) {
        List<StandaloneCluster.Executor> loaded = new ArrayList<>();
        for (StandaloneCluster.Executor executor : cluster.executors(app)) {
            long opened = executor.count(EngineHolder.OPENED);
            assertTrue(opened <= 1, "executor " + executor.id() + " opened the engine " + opened + " times:\n"
                    + StandaloneCluster.tail(executor.stderr()));
            if (opened == 1) {
                loaded.add(executor);
            }
        }
        return loaded;
    }

    /**
     * One run proves four things: the output equals local mode's, each executor JVM loads the model once (the
     * replacement of the killed one included), an executor killed inside its first inference task costs no row, and
     * GPU scheduling: the job asks for cuda with one GPU per executor and task, the workers' discovery script
     * announces GPU "0" on one worker and "1" on the other, each executor's engine is opened on its worker's device
     * (so executors see different device ids), and with no CUDA here the run falls back to CPU with the fallback
     * warning once in the runs row, however many executors gave it. (One run, not a clean one, a killed one and a GPU
     * one: each submitted run costs CI a minute or more.)
     */
    @Test
    @Order(1)
    void anExecutorKilledMidTaskCostsNoRowAndEveryExecutorLoadsTheModelOnceOnItsAssignedGpu() throws Exception {
        Path out = dir.resolve("executor-killed");
        Submitted run = submit(out, "cuda");
        // The first executor to open the engine is inside its first inference task: kill its JVM there.
        StandaloneCluster.Executor[] victim = new StandaloneCluster.Executor[1];
        StandaloneCluster.await(() -> {
            for (StandaloneCluster.Executor e : cluster.executors(run.appId())) {
                if (e.count(EngineHolder.OPENED) > 0 && e.process().isPresent()) {
                    victim[0] = e;
                    return true;
                }
            }
            return !run.driver().isAlive();
        }, RUN_TIMEOUT, () -> "no executor opened the engine; driver log:\n" + StandaloneCluster.tail(run.log()));
        assertTrue(victim[0] != null, "the job ended before an executor could be killed");
        ProcessHandle process = victim[0].process().orElseThrow();
        // Workers launch executors with `-cp conf:jars/*`: the line stays under the 4 KB that crash ONNX Runtime 1.29.
        String commandLine = process.info().commandLine().orElseThrow();
        assertTrue(commandLine.length() < 4096, commandLine.length() + " characters: " + commandLine);
        assertTrue(process.destroyForcibly(), "kill executor " + victim[0].id());
        awaitExit(run, 0);

        assertEquals(localResults, results(out), "every (doc_id, task) once, and as in local mode");
        assertEquals((long) DOCS * TASKS, spark.sql("SELECT DISTINCT doc_id, task FROM delta.`" + out.resolve("results")
                + "`").count());
        Row recorded = runs(out).get(0);
        assertEquals(RunSummary.SUCCEEDED, recorded.getAs("status"));
        assertEquals((long) DOCS * TASKS, recorded.<Long>getAs("rows_processed"));
        assertEquals("cpu", recorded.getAs("provider"), "no CUDA here: every engine fell back to CPU");
        // The CUDA fallback warning once (every executor's engine gave it, the driver's too), then the lost executor.
        List<String> warnings = recorded.getList(recorded.fieldIndex("warnings"));
        assertEquals(2, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).startsWith("CUDA requested but unavailable, running on CPU (set require_gpu to fail "
                + "instead): this ONNX Runtime is the CPU-only build"), warnings.get(0));
        assertTrue(warnings.get(1).startsWith("executor " + victim[0].id() + " was lost during the run"), warnings.get(1));
        // Each executor JVM that ran inference loaded the model exactly once: the killed one, the other one, and the
        // one the worker started in place of the killed one (a new JVM) when it ran inference.
        List<StandaloneCluster.Executor> loaded = loadedOnce(run.appId());
        assertTrue(loaded.size() >= 2, "executors that loaded the model: " + loaded);
        // Each opened its engine on the GPU its worker announced and Spark assigned to its tasks: both ids were used.
        Set<Integer> devices = new TreeSet<>();
        for (StandaloneCluster.Executor executor : loaded) {
            int device = device(executor);
            assertEquals(Integer.parseInt(WORKER_GPUS.get(executor.worker())), device, "executor " + executor.id()
                    + " on worker " + executor.worker());
            devices.add(device);
        }
        assertEquals(Set.of(0, 1), devices, "device ids of the executors that opened the engine: " + loaded);
    }

    /** The CUDA device id in an executor's {@link EngineHolder#OPENED} line. */
    private static int device(StandaloneCluster.Executor executor) {
        String line = StandaloneCluster.read(executor.stderr()).lines().filter(l -> l.contains(EngineHolder.OPENED))
                .findFirst().orElseThrow();
        Matcher m = CUDA_DEVICE.matcher(line);
        assertTrue(m.find(), "no device in: " + line);
        return Integer.parseInt(m.group(1));
    }

    /**
     * Tagged slow (not in {@code mvn verify}'s default run): two more submitted runs would add two to four minutes to
     * CI. Run it with {@code -Dtest.excludedGroups=none} (a tag no test has; an empty value selects no test at all).
     */
    @Test
    @Tag("slow")
    @Order(2)
    void aDriverKilledAfterAChunkAndResubmittedRedoesOnlyWhatWasNotCommitted() throws Exception {
        Path out = dir.resolve("driver-killed");
        Submitted first = submit(out, "cpu");
        // Version 0 creates the results table; version 1 is the first chunk's MERGE.
        Path firstChunk = out.resolve("results").resolve("_delta_log").resolve(String.format("%020d.json", 1));
        StandaloneCluster.await(() -> Files.exists(firstChunk) || !first.driver().isAlive(), RUN_TIMEOUT,
                () -> "no chunk committed; driver log:\n" + StandaloneCluster.tail(first.log()));
        assertTrue(first.driver().isAlive(), "the job ended before its driver could be killed");
        first.driver().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        first.driver().descendants().forEach(ProcessHandle::destroyForcibly);

        long committed = spark.sql("SELECT * FROM delta.`" + out.resolve("results") + "`").count();
        assertTrue(committed > 0 && committed < (long) DOCS * TASKS, "committed before the kill: " + committed);
        Row killed = runs(out).get(0);
        assertEquals(RunSummary.RUNNING, killed.getAs("status"), "kill -9 leaves the run recorded as running");
        // Its heartbeat stopped with it; age it past RunLease.STALE rather than wait a minute.
        String staging = out.resolve("results") + "_staging";
        new RunLease(spark.sparkContext().hadoopConfiguration(), staging, "probe")
                .beat(staging + "/" + killed.getAs("run_id"), Instant.now().minus(Duration.ofMinutes(2)));

        Submitted rerun = submit(out, "cpu");
        awaitExit(rerun, 0);
        assertEquals(localResults, results(out), "every (doc_id, task) once, as in local mode");
        List<Row> recorded = runs(out);
        assertEquals(2, recorded.size());
        Row abandoned = recorded.get(0);
        assertEquals(RunSummary.ABANDONED, abandoned.getAs("status"));
        assertEquals(committed, abandoned.<Long>getAs("rows_processed"), "what it committed before the kill");
        Row second = recorded.get(1);
        assertEquals(RunSummary.SUCCEEDED, second.getAs("status"));
        assertEquals(DOCS * TASKS - committed, second.<Long>getAs("rows_processed"),
                "the rerun redoes only what was not committed");
    }
}
