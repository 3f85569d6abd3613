package dev.nightshift.jobs.nightly;

import dev.nightshift.jobs.cli.NightshiftCli;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code run --dry-run} and the budget stop, with the real engine on a tiny random model: the dry run writes nothing
 * and counts exactly the prompt tokens the run then records; a budget stops the run between chunks with
 * {@code budget_exceeded}, exit code 1 and exactly-once results, and the next run does the rest.
 */
class DryRunAndBudgetTest extends SparkJobTest {

    static Path model;

    @BeforeAll
    static void tinyModel() throws IOException {
        // 32 wide, 1 layer, vocabulary 512 (the converter adds a synthetic tokenizer), 512 context.
        LlamaConfig config = new LlamaConfig(32, 64, 1, 4, 2, 8, 512, 512, 1e-5f, 10000, null, false, false, 1,
                new int[]{2});
        model = warehouse.resolve("model-int4");
        ModelConverter.convert(new RandomWeights(config, 11), model, ConversionOptions.of(Precision.INT4), null,
                ConversionListener.NONE);
    }

    /** The two-task test job on the tiny model; {@code runKeys} are added under run:. */
    private static String yaml(JobFiles files, int chunkRows, String runKeys) {
        return files.yaml("Summarize: {text}", chunkRows, "")
                .replace("path: " + files.model, "path: " + model)
                .replace("  max_failure_rate: 0.2", "  max_failure_rate: 0.2" + runKeys);
    }

    private static JobConfig config(JobFiles files, int chunkRows, String runKeys) {
        return JobConfigLoader.parse(yaml(files, chunkRows, runKeys), files.dir.resolve("job.yaml").toString());
    }

    private static List<String> entries(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static long count(String sql) {
        return spark.sql(sql).first().getLong(0);
    }

    @Test
    void aDryRunWritesNothingAndCountsThePromptTokensTheRunRecords() throws IOException {
        // 6 documents x 2 tasks; doc-003 is blank, so its 2 rows become error rows without the model.
        JobFiles files = new JobFiles(dir).documents(6, Map.of("doc-003", "  "));
        Path cache = warehouse.resolve("cache-" + dir.getFileName()).resolve("calibration.properties");
        JobConfig config = config(files, 4, "");

        DryRunReport dry = NightlyJob.of(spark, config).calibrationFile(cache).dryRun();
        assertEquals(null, dry.lastRunTokensPerSecond(), "no runs table yet");
        assertEquals(List.of("docs.jsonl", "model"), entries(dir), "no table, log or staging folder was written");
        assertEquals(12, dry.rowsRead());
        assertEquals(0, dry.rowsSkipped());
        assertEquals(10, dry.rowsToProcess());
        assertEquals(3, dry.chunks());
        for (DryRunReport.TaskEstimate task : dry.tasks()) {
            assertEquals(5, task.rows(), task.toString());
            assertEquals(1, task.errorRows(), task.toString());
            assertEquals(0, task.overContext(), task.toString());
        }
        assertEquals(5L * 12, dry.tasks().get(1).outputTokens(), "summaries: max_new_tokens per row, an upper bound");
        EngineCalibration measured = dry.calibration();
        assertFalse(measured.cached());
        assertTrue(measured.prefillTokensPerSecond() > 0 && measured.decodeTokensPerSecond() > 0, measured.toString());
        assertTrue(Files.isRegularFile(cache));
        assertTrue(dry.estimatedSeconds() > 0 && dry.clusterCostUsd() > 0, dry.toString());
        assertEquals(dry.promptTokens() / 1e6 * 2.5 + dry.outputTokens() / 1e6 * 10, dry.apiCosts().get(0).costUsd(), 1e-12);

        RunSummary run = NightlyJob.of(spark, config.withRun(new JobConfig.Run(1000, 0, 0.2))).run();
        assertEquals(RunSummary.SUCCEEDED, run.status());
        assertEquals(2, run.rowsFailed(), "only the blank document's rows failed");
        assertEquals(dry.promptTokens(), run.tokensIn(), "the runs table's tokens_in");
        for (DryRunReport.TaskEstimate task : dry.tasks()) {
            String where = "FROM delta.`" + files.results() + "` WHERE error IS NULL AND task = '" + task.task() + "'";
            assertEquals(task.promptTokens(), count("SELECT sum(prompt_tokens) " + where), task.task());
            assertTrue(count("SELECT CAST(max(output_tokens) AS BIGINT) " + where) <= (task.type().equals("classify") ? 8 : 12), task.task());
        }
    }

    @Test
    void aBudgetStopsBetweenChunksAndTheNextRunDoesTheRestExactlyOnce() throws IOException {
        JobFiles files = new JobFiles(dir).documents(6, Map.of());
        Path budgeted = Files.writeString(dir.resolve("budget.yaml"), yaml(files, 6, "\n  max_cost_usd: 0.000001"));

        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = NightshiftCli.run(new String[]{"run", "--config", budgeted.toString()}, new PrintWriter(out, true),
                new PrintWriter(err, true));
        assertEquals(1, code, out + "\n" + err);
        assertTrue(out.toString().contains(": budget_exceeded in "), out.toString());
        assertTrue(out.toString().contains("stopped by its budget (run.max_cost_usd 0.000001 reached: $"), out.toString());
        assertTrue(out.toString().contains("after 1 of 2 chunks: 6 of 12 pending rows processed; the next run continues "
                + "with the 6 rows left"), out.toString());

        String results = "delta.`" + files.results() + "`";
        assertEquals(6, count("SELECT count(*) FROM " + results));
        assertEquals(6, count("SELECT count(DISTINCT doc_id, task) FROM " + results));
        Row stopped = spark.sql("SELECT * FROM delta.`" + files.runs() + "`").first();
        assertEquals(RunSummary.BUDGET_EXCEEDED, stopped.getAs("status"));
        assertEquals(6L, stopped.<Long>getAs("rows_processed"));
        assertEquals(1, stopped.<Integer>getAs("chunks"));
        assertTrue(stopped.<Double>getAs("cluster_cost_usd") >= 0.000001, stopped.toString());
        assertTrue(stopped.<Long>getAs("tokens_in") > 0, stopped.toString());

        // a dry run now counts only the rows left, shows the stopped run's whole-run speed, and records nothing
        DryRunReport dry = NightlyJob.of(spark, config(files, 6, ""))
                .calibrationFile(warehouse.resolve("cache-" + dir.getFileName()).resolve("calibration.properties")).dryRun();
        assertEquals(6, dry.rowsToProcess());
        assertEquals(6, dry.rowsSkipped());
        assertEquals(stopped.<Double>getAs("tokens_per_second"), dry.lastRunTokensPerSecond());
        assertEquals((dry.promptTokens() + dry.outputTokens()) / dry.lastRunTokensPerSecond(), dry.lastRunSeconds(), 1e-9);
        assertEquals(1, count("SELECT count(*) FROM delta.`" + files.runs() + "`"));

        // the next run, without a budget, processes exactly the rest
        RunSummary rest = NightlyJob.of(spark, config(files, 6, "")).run();
        assertEquals(RunSummary.SUCCEEDED, rest.status());
        assertEquals(6, rest.rowsProcessed());
        assertEquals(12, count("SELECT count(*) FROM " + results));
        assertEquals(12, count("SELECT count(DISTINCT doc_id, task) FROM " + results));
        assertEquals(6, count("SELECT count(*) FROM " + results + " WHERE run_id = '" + stopped.getAs("run_id") + "'"),
                "the first run's rows were kept, not redone");
    }
}
