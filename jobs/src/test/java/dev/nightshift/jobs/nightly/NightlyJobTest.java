package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.EngineFactory;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The nightly job's reliability contract (issue 4), with the deterministic fake engine; real-engine runs are in
 * {@link NightlyEndToEndTest}. Delta MERGEs cost seconds each on a 2-core box, so each test is one scenario of
 * several runs.
 */
class NightlyJobTest extends SparkJobTest {


    static RunSummary run(JobConfig config, EngineFactory engines) {
        return NightlyJob.of(spark, config).engines(engines).run();
    }

    static List<Row> results(JobFiles files) {
        return spark.sql("SELECT * FROM delta.`" + files.results() + "` ORDER BY task, doc_id").collectAsList();
    }

    static List<Row> runs(JobFiles files) {
        return spark.sql("SELECT * FROM delta.`" + files.runs() + "` ORDER BY started_at").collectAsList();
    }

    static long version(String path) {
        return spark.sql("DESCRIBE HISTORY delta.`" + path + "`").selectExpr("max(version)").first().getLong(0);
    }

    /** The results table's Delta operations, oldest first. */
    static List<String> operations(String path) {
        return spark.sql("DESCRIBE HISTORY delta.`" + path + "`").orderBy("version").select("operation")
                .collectAsList().stream().map(r -> r.getString(0)).toList();
    }

    @Test
    void incrementalRunsProcessNewOrChangedRowsOnlyAndTheModelRunsOncePerRow() {
        JobFiles files = new JobFiles(dir).documents(20, Map.of());
        long promptsBefore = FakeEngine.PROMPTS.get();

        RunSummary first = run(files.config(), new FakeEngine.Factory());

        assertEquals(RunSummary.SUCCEEDED, first.status());
        assertEquals(40, first.rowsProcessed());
        assertEquals(40, FakeEngine.PROMPTS.get() - promptsBefore, "the model ran more than once for some rows");
        List<Row> rows = results(files);
        assertEquals(40, rows.size());
        Set<String> labels = Set.of("World", "Sports", "Business", "Sci/Tech");
        for (Row row : rows) {
            assertNull(row.getAs("error"), row.toString());
            assertTrue(row.<Integer>getAs("prompt_tokens") > 0, row.toString());
            assertEquals(first.runId(), row.getAs("run_id"));
            if (row.getAs("task").equals("topic")) {
                assertTrue(labels.contains(row.<String>getAs("label")), row.toString());
                assertEquals(0.7, row.<Double>getAs("score"), 1e-9);
            } else {
                assertTrue(row.<String>getAs("output").split(" ").length <= 5, row.toString());
            }
        }
        Row runRow = runs(files).get(0);
        assertEquals("succeeded", runRow.getAs("status"));
        assertEquals(40L, runRow.<Long>getAs("rows_processed"));
        assertEquals(first.tokensIn(), runRow.<Long>getAs("tokens_in"));
        assertTrue(first.tokensIn() > 0 && first.tokensOut() > 0);
        assertEquals(first.tokensIn() / 1e6 * 2.5 + first.tokensOut() / 1e6 * 10, first.apiCosts().get(0).costUsd(), 1e-12);

        assertFalse(operations(files.results()).contains("MERGE"), "a first run only inserts: its chunks are appended, "
                + operations(files.results()));
        long before = version(files.results());
        RunSummary unchanged = run(files.config(), new FakeEngine.Factory());
        assertEquals(0, unchanged.rowsProcessed());
        assertEquals(40, unchanged.rowsSkipped());
        assertEquals(before, version(files.results()), "a run with nothing to do must not touch the results table");

        files.documents(20, Map.of("doc-005", "A completely new text about sports."));
        RunSummary edited = run(files.config("TL;DR of {title}: {text}", 1000), new FakeEngine.Factory());
        assertEquals(21, edited.rowsProcessed(), "a new summary prompt (20 rows) and one edited document's topic");
        assertEquals(21, results(files).stream().filter(r -> edited.runId().equals(r.getAs("run_id"))).count());
        assertEquals("MERGE", operations(files.results()).get(operations(files.results()).size() - 1),
                "changed rows replace existing ones: MERGEd");

        files.replaceModel();
        assertEquals(40, run(files.config("TL;DR of {title}: {text}", 1000), new FakeEngine.Factory()).rowsProcessed());
        assertEquals(40, results(files).size());
        assertEquals(4, runs(files).size());
    }

    @Test
    void failedRowsBecomeErrorRowsAndRetryFailedReprocessesOnlyThem() {
        Map<String, String> edits = new HashMap<>();
        for (String id : List.of("doc-001", "doc-004", "doc-007", "doc-010", "doc-013")) {
            edits.put(id, "This one will FAIL-ME in the engine.");
        }
        edits.put("doc-016", "   ");
        JobFiles files = new JobFiles(dir).documents(20, edits);

        RunSummary first = run(files.config(), new FakeEngine.Factory("FAIL-ME", false));

        assertEquals(40, first.rowsProcessed());
        assertEquals(12, first.rowsFailed(), "5 engine failures and 1 blank text, in both tasks");
        assertEquals(RunSummary.TOO_MANY_FAILURES, first.status(), "30% failed, above the 20% threshold");
        assertEquals(1, first.exitCode());
        Map<String, String> errors = new HashMap<>();
        for (Row row : results(files)) {
            if (row.getAs("error") != null) {
                errors.put(row.getAs("doc_id") + "/" + row.getAs("task"), row.getAs("error"));
                assertEquals("error", row.getAs("finish_reason"));
            }
        }
        assertEquals(12, errors.size());
        assertEquals("injected failure", errors.get("doc-001/topic"));
        assertTrue(errors.get("doc-016/tldr").startsWith("bad text: column text is blank"), errors.get("doc-016/tldr"));

        RunSummary retry = NightlyJob.of(spark, files.config()).engines(new FakeEngine.Factory())
                .retryFailed(true).run();

        assertEquals(12, retry.rowsProcessed(), "only rows whose result is an error");
        assertEquals(2, retry.rowsFailed(), "blank text stays bad");
        assertEquals(RunSummary.SUCCEEDED, retry.status());
        long fixedByRetry = results(files).stream().filter(r -> retry.runId().equals(r.getAs("run_id"))).count();
        assertEquals(12, fixedByRetry);
        assertEquals(28, results(files).stream().filter(r -> first.runId().equals(r.getAs("run_id"))).count(),
                "rows that succeeded the first time are untouched");
        assertEquals("retry_failed", runs(files).get(1).getAs("mode"));
    }

    @Test
    void aCrashAfterKChunksThenARerunLeavesExactlyOneResultPerRowEvenWithTaskRetries() {
        JobFiles files = new JobFiles(dir).documents(20, Map.of());
        JobConfig config = files.config("Summarize: {text}", 10);

        NightlyJob.InjectedCrash crash = assertThrows(NightlyJob.InjectedCrash.class,
                () -> NightlyJob.of(spark, config).engines(new FakeEngine.Factory()).crashAfterChunks(2).run());

        assertTrue(crash.getMessage().contains("after 2 committed chunk"), crash.getMessage());
        assertEquals(20, results(files).size(), "two chunks of 10 rows were committed");
        Row crashed = runs(files).get(0);
        assertEquals("failed", crashed.getAs("status"));
        assertTrue(crashed.<String>getAs("message").contains("injected crash"), crashed.toString());

        // The rerun's tasks each die on their first attempt and are retried by Spark.
        long promptsBefore = FakeEngine.PROMPTS.get();
        RunSummary rerun = run(config, new FakeEngine.Factory(null, true));

        assertEquals(20, rerun.rowsProcessed(), "the rerun redoes only what was not committed");
        assertEquals(20, rerun.rowsSkipped());
        assertTrue(FakeEngine.PROMPTS.get() - promptsBefore > 20, "the first task attempts should have been killed");
        Row counts = spark.sql("SELECT count(*), count(DISTINCT doc_id, task) FROM delta.`" + files.results() + "`").first();
        assertEquals(40L, counts.getLong(0));
        assertEquals(40L, counts.getLong(1));
        assertEquals(0, run(config, new FakeEngine.Factory()).rowsProcessed());
    }

    private JobConfigException badRun(JobConfig config) {
        long before = FakeEngine.PROMPTS.get();
        JobConfigException e = assertThrows(JobConfigException.class, () -> run(config, new FakeEngine.Factory()));
        assertEquals(before, FakeEngine.PROMPTS.get(), "nothing may be inferred before the checks pass");
        return e;
    }

    @Test
    void badSourcesModelsAndOutputsStopBeforeAnyInferenceWithClearErrors() throws Exception {
        JobFiles files = new JobFiles(dir).documents(6, Map.of());
        String yaml = files.yaml("Summarize: {text}", 100, "");

        assertTrue(badRun(JobConfigLoader.parse(yaml.replace("docs.jsonl", "missing.jsonl"), "job.yaml")).getMessage()
                .contains("missing.jsonl does not exist"));
        JobConfigException column = badRun(JobConfigLoader.parse(yaml.replace("text: text", "text: body"), "job.yaml"));
        assertTrue(column.getMessage().startsWith("job.yaml line 6 (source.text): unknown column 'body'"), column.getMessage());
        assertTrue(column.getMessage().contains("[id, region, text, title]"), column.getMessage());
        assertTrue(badRun(JobConfigLoader.parse(yaml.replace("columns: [region]", "columns: [region]\n  filter: \"region = 'east'\""),
                "job.yaml")).getMessage().contains("has no rows"));
        assertTrue(badRun(JobConfigLoader.parse(yaml.replace("columns: [region]", "columns: [region]\n  filter: \"1 = 1; DROP TABLE x\""),
                "job.yaml")).getMessage().contains("is not a valid condition"));
        assertTrue(badRun(JobConfigLoader.parse(yaml.replace("path: " + files.docs, "table: no_such_table")
                .replace("  format: json\n", ""), "job.yaml")).getMessage().contains("table no_such_table does not exist"));
        assertTrue(badRun(JobConfigLoader.parse(yaml.replace("path: " + files.model, "path: " + dir.resolve("nowhere")),
                "job.yaml")).getMessage().contains("does not exist; convert a model"));

        JobFiles.write(files.docs, java.nio.file.Files.readString(files.docs)
                + "{\"id\": \"doc-001\", \"title\": \"again\", \"text\": \"a second version\", \"region\": \"north\"}\n");
        assertTrue(badRun(JobConfigLoader.parse(yaml, "job.yaml")).getMessage()
                .contains("1 source rows repeat an id (for example [doc-001])"));

        spark.sql("CREATE TABLE wrong_results (doc_id STRING, task STRING, answer STRING) USING delta LOCATION '"
                + dir.resolve("wrong") + "'");
        JobFiles.write(files.docs, "{\"id\": \"a\", \"text\": \"x\", \"title\": \"t\", \"region\": \"r\"}\n");
        JobConfigException schema = badRun(JobConfigLoader.parse(yaml.replace(files.results(), dir.resolve("wrong").toString()),
                "job.yaml"));
        assertTrue(schema.getMessage().contains("does not have the schema this version writes (results-v3): missing column output"),
                schema.getMessage());
        assertTrue(schema.getMessage().contains("unexpected column answer"), schema.getMessage());
    }

    @Test
    void aResultsV2TableMigratedAsTheReadmeSaysIsAccepted() throws Exception {
        JobFiles files = new JobFiles(dir).documents(3, Map.of());
        StructType v2 = new StructType(java.util.Arrays.copyOf(ResultsTable.SCHEMA.fields(),
                ResultsTable.SCHEMA.fieldIndex("output_at") + 1));
        spark.createDataFrame(java.util.List.of(), v2).write().format("delta").partitionBy("task").save(files.results());
        JobConfigException old = badRun(files.config());
        assertTrue(old.getMessage().contains("missing column scores"), old.getMessage());

        String readme = java.nio.file.Files.readString(java.nio.file.Path.of("..", "README.md"));
        assertTrue(readme.contains("ADD COLUMNS (" + ResultsTable.V3_COLUMNS + ")"), "README's migration statement is "
                + "the columns results-v3 added");
        spark.sql("ALTER TABLE delta.`" + files.results() + "` ADD COLUMNS (" + ResultsTable.V3_COLUMNS + ")");
        assertTrue(readme.contains("SET TBLPROPERTIES ('nightshift.schema' = '" + ResultsTable.VERSION + "')"));
        spark.sql("ALTER TABLE delta.`" + files.results() + "` SET TBLPROPERTIES ('nightshift.schema' = '"
                + ResultsTable.VERSION + "')");
        RunSummary migrated = run(files.config(), new FakeEngine.Factory());
        assertEquals(migrated.rowsRead(), migrated.rowsProcessed(), "every row of the 3 documents ran");
        assertEquals(0, migrated.rowsFailed());
    }

    @Test
    void aBrokenChatTemplateStopsTheJobBeforeInference() throws Exception {
        JobFiles files = new JobFiles(dir).documents(4, Map.of());
        // one brace missing: the template used to render literally, so every prompt lost its document
        JobFiles.write(files.model.resolve("tokenizer_config.json"),
                "{\"chat_template\": \"{{ bos_token }}{{ messages[0]['content'] }\", \"bos_token\": \"<s>\"}");
        JobConfigException e = badRun(JobConfigLoader.parse(files.yaml("Summarize: {text}", 100, ""), "job.yaml"));
        assertTrue(e.getMessage().contains("tokenizer_config.json \"chat_template\""), e.getMessage());
        assertTrue(e.getMessage().contains("unexpected '}'"), e.getMessage());
        assertTrue(e.getMessage().contains("set the task's chat: false"), e.getMessage());
    }

    @Test
    void oddColumnNamesAreQuotedAndKeepLatestKeepsTheNewestVersion() {
        JobFiles files = new JobFiles(dir);
        JobFiles.write(files.docs, """
                {"doc id`; --": "a", "body text": "first version", "version": 1}
                {"doc id`; --": "a", "body text": "second version", "version": 2}
                {"doc id`; --": "b", "body text": "only version", "version": 1}
                """);
        String yaml = """
                source:
                  path: %s
                  format: json
                  id: "doc id`; --"
                  text: body text
                  duplicates: keep_latest
                  latest_by: version
                tasks:
                  - {name: echo, type: generate, prompt: "{text}"}
                model: {path: %s}
                output:
                  results: {path: %s}
                  runs: {path: %s}
                """.formatted(files.docs, files.model, files.results(), files.runs());

        RunSummary run = run(JobConfigLoader.parse(yaml, "job.yaml"), new FakeEngine.Factory());

        assertEquals(2, run.docsRead());
        assertEquals(List.of("a: second version", "b: only version"), results(files).stream()
                .map(r -> r.getAs("doc_id") + ": " + r.getAs("output")).toList());
    }
}
