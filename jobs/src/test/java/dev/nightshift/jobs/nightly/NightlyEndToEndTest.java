package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.EngineHolder;
import dev.nightshift.engine.EngineFactory;
import dev.nightshift.engine.Reason;
import dev.nightshift.SharedFiles;
import dev.nightshift.jobs.cli.NightshiftCli;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The nightly job with the real engine on a tiny random-weight model made by the toolchain, over a few hundred rows
 * of ../shared/data (ag_news_test classified into its 4 labels, scitldr_test summarized), and the command line.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NightlyEndToEndTest {

    @TempDir
    static Path dir;
    static SparkSession spark;
    static Path model;

    @BeforeAll
    static void setUp() throws IOException {
        spark = TestSpark.start(dir.resolve("warehouse"));
        // 64 wide, 2 layers, vocabulary 512 (the converter adds a synthetic tokenizer), 1024 context.
        LlamaConfig config = new LlamaConfig(64, 172, 2, 8, 4, 8, 512, 1024, 1e-5f, 10000, null, false, false, 1,
                new int[]{2});
        model = dir.resolve("model-int4");
        ModelConverter.convert(new RandomWeights(config, 7), model, ConversionOptions.of(Precision.INT4), null,
                ConversionListener.NONE);
    }

    @AfterAll
    static void closeEngines() {
        EngineHolder.closeAll();
    }

    private static Path firstLines(String dataset, int n) throws IOException {
        Path file = dir.resolve(dataset + "-" + n + ".jsonl");
        try (var lines = Files.lines(SharedFiles.get("data/" + dataset + "/data.jsonl"))) {
            Files.write(file, lines.limit(n).toList());
        }
        return file;
    }

    private static String yaml(Path docs, String task) {
        return """
                job: e2e
                source: {path: '%s', format: json, id: id, text: text, title: title}
                tasks:
                %s
                model: {path: '%s', max_batch_rows: 32}
                output:
                  results: {path: '%s'}
                  runs: {path: '%s'}
                run: {chunk_rows: 96, max_failure_rate: 0.25}
                prices:
                  executor_hour_usd: 0.20
                  apis: [{name: hosted, input_per_1m_usd: 0.15, output_per_1m_usd: 0.60}]
                """.formatted(docs, task, model, dir.resolve("results"), dir.resolve("runs"));
    }

    private static final String CLASSIFY = """
              - name: topic
                type: classify
                labels: [World, Sports, Business, Sci/Tech]
                prompt: "Topic ({labels}) of this news story: {title}. {text}\\nTopic:"
            """;

    private static final String SUMMARIZE = """
              - name: tldr
                type: summarize
                max_words: 12
                prompt: "Paper: {title}. {text}\\nOne-sentence summary:"
                generation: {max_new_tokens: 12, overflow: truncate_middle}
            """;

    @Test
    void classifiesAgNewsAndSummarizesSciTldrIncrementallyThroughFailuresAndACrash() throws IOException {
        JobConfig news = JobConfigLoader.parse(yaml(firstLines("ag_news_test", 192), CLASSIFY), "news.yaml");
        EngineFactory failing = new FailingEngines(EngineFactory.onnx(), 16);

        // A crash after the first of two chunks, with some rows failing in the engine.
        assertThrows(NightlyJob.InjectedCrash.class,
                () -> NightlyJob.of(spark, news).engines(failing).crashAfterChunks(1).run());
        assertEquals(96L, count("SELECT count(*) FROM results"));

        RunSummary rerun = NightlyJob.of(spark, news).engines(failing).run();
        assertEquals(96, rerun.rowsProcessed(), "the rerun does only the chunk that was not committed");
        assertEquals(192L, count("SELECT count(DISTINCT doc_id) FROM results WHERE task = 'topic'"));
        assertEquals(192L, count("SELECT count(*) FROM results"));
        long injected = count("SELECT count(*) FROM results WHERE error = 'injected failure'");
        assertTrue(injected > 0 && injected < 40, "injected failures: " + injected);
        Set<String> labels = Set.of("World", "Sports", "Business", "Sci/Tech");
        for (Row row : spark.sql("SELECT * FROM results WHERE error IS NULL").collectAsList()) {
            assertTrue(labels.contains(row.<String>getAs("label")), row.toString());
            assertTrue(row.<Double>getAs("score") > 0 && row.<Double>getAs("score") <= 1, row.toString());
            assertTrue(row.<Integer>getAs("prompt_tokens") > 10 && row.<Integer>getAs("output_tokens") > 0, row.toString());
            assertEquals("model-int4", row.getAs("model_id"));
        }
        assertTrue(rerun.tokensIn() > 1000 && rerun.clusterCostUsd() > 0 && rerun.apiCosts().get(0).costUsd() > 0);

        // --retry-failed with a healthy engine fixes exactly the injected failures.
        RunSummary retry = NightlyJob.of(spark, news).retryFailed(true).run();
        assertEquals(injected, retry.rowsProcessed());
        assertEquals(0, retry.rowsFailed());
        assertEquals(0L, count("SELECT count(*) FROM results WHERE error IS NOT NULL"));
        assertEquals(injected, count("SELECT count(*) FROM results WHERE run_id = '" + retry.runId() + "'"));

        // Unchanged input: nothing to do.
        assertEquals(0, NightlyJob.of(spark, news).run().rowsProcessed());

        // Summaries of 48 abstracts (long prompts: the middle is cut to fit the context) into the same tables.
        JobConfig papers = JobConfigLoader.parse(yaml(firstLines("scitldr_test", 48), SUMMARIZE), "papers.yaml");
        RunSummary summaries = NightlyJob.of(spark, papers).run();
        assertEquals(48, summaries.rowsProcessed());
        assertEquals(0, summaries.rowsFailed());
        for (Row row : spark.sql("SELECT * FROM results WHERE task = 'tldr'").collectAsList()) {
            assertNotNull(row.getAs("output"), row.toString());
            assertTrue(row.<String>getAs("output").isBlank() || row.<String>getAs("output").strip().split("\\s+").length <= 12, row.toString());
            assertTrue(row.<Integer>getAs("output_tokens") > 0 && row.<Integer>getAs("output_tokens") <= 12, row.toString());
        }

        List<Row> runs = spark.sql("SELECT status, mode, rows_processed FROM delta.`" + dir.resolve("runs")
                + "` ORDER BY started_at").collectAsList();
        assertEquals("[[failed,incremental,96], [succeeded,incremental,96], [succeeded,retry_failed," + injected
                + "], [succeeded,incremental,0], [succeeded,incremental,48]]", runs.toString());

        // SQL over the outputs, through the command line.
        Path config = dir.resolve("news.yaml");
        Files.writeString(config, yaml(dir.resolve("ag_news_test-192.jsonl"), CLASSIFY));
        StringWriter out = new StringWriter();
        int code = NightshiftCli.run(new String[]{"sql", "--config", config.toString(),
                "SELECT task, count(*) AS n, sum(output_tokens) > 0 AS tokens FROM results GROUP BY task ORDER BY task"},
                new PrintWriter(out, true), new PrintWriter(new StringWriter(), true));
        assertEquals(0, code);
        assertTrue(out.toString().contains("tldr  | 48  | true"), out.toString());
        assertTrue(out.toString().contains("topic | 192 | true"), out.toString());

        // arrays, maps and structs print as JSON, and a repeated column name is fine
        StringWriter complex = new StringWriter();
        assertEquals(0, NightshiftCli.run(new String[]{"sql", "--config", config.toString(), "--width", "200",
                "SELECT array('a', 'b') AS labels, map('x', 0.5D) AS scores, named_struct('start', 1, 'end', 3) AS span,"
                        + " 1 AS n, 2 AS n"}, new PrintWriter(complex, true), new PrintWriter(new StringWriter(), true)));
        assertTrue(complex.toString().contains("[\"a\",\"b\"] | {\"x\":0.5} | {\"start\":1,\"end\":3} | 1 | 2"),
                complex.toString());
    }

    private static long count(String sql) {
        spark.read().format("delta").load(dir.resolve("results").toString()).createOrReplaceTempView("results");
        return spark.sql(sql).first().getLong(0);
    }

    @Test
    void demoRunsTheJobAndItsSecondRunSkipsEverything() {
        String[] demo = {"demo", "--work", dir.resolve("demo").toString()};
        StringWriter first = new StringWriter();
        assertEquals(0, NightshiftCli.run(demo, new PrintWriter(first, true), new PrintWriter(new StringWriter(), true)),
                first.toString());
        assertTrue(first.toString().contains("72 read, 0 skipped (unchanged), 72 processed, 0 failed"), first.toString());
        assertTrue(first.toString().contains("its text is meaningless"), first.toString());
        // every SQL hint the demo prints runs as printed (the last one calls llm_* functions on the job's model)
        java.util.regex.Matcher hints = java.util.regex.Pattern.compile("  bin/nightshift sql --config (\\S+) \"(.*)\"")
                .matcher(first.toString());
        int ran = 0;
        while (hints.find()) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            assertEquals(0, NightshiftCli.run(new String[]{"sql", "--config", hints.group(1), hints.group(2)},
                    new PrintWriter(out, true), new PrintWriter(err, true)), hints.group(2) + ": " + err);
            assertTrue(out.toString().contains("|"), out.toString());
            ran++;
        }
        assertEquals(3, ran, first.toString());

        StringWriter second = new StringWriter();
        assertEquals(0, NightshiftCli.run(demo, new PrintWriter(second, true), new PrintWriter(new StringWriter(), true)));
        assertTrue(second.toString().contains("72 read, 72 skipped (unchanged), 0 processed"), second.toString());
    }

    @Test
    void runExitsWith2AndOneLineForABadConfig() throws IOException {
        Path config = dir.resolve("bad.yaml");
        Files.writeString(config, yaml(dir.resolve("absent.jsonl"), CLASSIFY));
        StringWriter err = new StringWriter();
        int code = NightshiftCli.run(new String[]{"run", "--config", config.toString()},
                new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains("nightshift run: " + config + " line 2 (source.path): "), err.toString());
        assertTrue(err.toString().strip().lines().reduce((a, b) -> b).orElse("").contains("absent.jsonl does not exist"),
                err.toString());
    }

    /**
     * model.require_gpu: with no CUDA here the job stops at its first engine open, naming the reason, and writes no
     * result row (without it the engine falls back to CPU with a warning: StandaloneClusterTest). Last, so that it
     * does not pay the session's first-job warm-up (about 15 s here) the other tests pay anyway.
     */
    @Test
    @Order(Integer.MAX_VALUE)
    void aCudaModelThatRequiresTheGpuFailsBeforeWritingAnyResultRow() throws IOException {
        Path out = dir.resolve("require-gpu");
        String yaml = yaml(firstLines("ag_news_test", 8), CLASSIFY)
                .replace("max_batch_rows: 32}", "max_batch_rows: 32, provider: cuda, require_gpu: true}")
                .replace(dir.resolve("results").toString(), out.resolve("results").toString())
                .replace(dir.resolve("runs").toString(), out.resolve("runs").toString());
        JobConfig config = JobConfigLoader.parse(yaml, "gpu.yaml");
        Exception failed = assertThrows(Exception.class, () -> NightlyJob.of(spark, config).run());
        String expected = "CUDA was required (require_gpu) but is unavailable: this ONNX Runtime is the CPU-only build";
        assertTrue(Reason.of(failed).contains(expected), Reason.of(failed));
        Path results = out.resolve("results");
        long rows = Files.isDirectory(results.resolve("_delta_log"))
                ? spark.sql("SELECT * FROM delta.`" + results + "`").count() : 0;
        assertEquals(0, rows, "no result row was written");
    }
}
