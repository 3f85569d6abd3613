package dev.nightshift.jobs.nightly;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the job keeps and counts when things go wrong: a failed attempt never destroys a good result, only tokens the
 * model processed are counted, killed runs are found and closed, two runs never write at once, engine warnings and
 * leftover errors are reported.
 */
class RunAccountingTest extends SparkJobTest {


    private static Map<String, Row> byKey(JobFiles files) {
        Map<String, Row> rows = new java.util.HashMap<>();
        for (Row row : spark.sql("SELECT * FROM delta.`" + files.results() + "`").collectAsList()) {
            rows.put(row.getAs("doc_id") + "/" + row.getAs("task"), row);
        }
        return rows;
    }

    private static Row runRow(JobFiles files, String runId) {
        return spark.sql("SELECT * FROM delta.`" + files.runs() + "` WHERE run_id = '" + runId + "'").first();
    }

    @Test
    void aFailedAttemptKeepsTheLastGoodOutputAndRecordsTheFailureBesideIt() {
        JobFiles files = new JobFiles(dir).documents(6, Map.of());
        RunSummary good = NightlyJob.of(spark, files.config()).engines(new FakeEngine.Factory()).run();
        Row before = byKey(files).get("doc-002/tldr");
        Row beforeTopic = byKey(files).get("doc-002/topic");
        assertNull(before.getAs("error"));
        assertEquals(1, before.<Integer>getAs("attempts"));
        assertEquals(before.<Object>getAs("processed_at"), before.getAs("output_at"));

        // A source glitch blanks the document: the new attempt fails, and the good results stay.
        files.documents(6, Map.of("doc-002", "  "));
        RunSummary glitch = NightlyJob.of(spark, files.config()).engines(new FakeEngine.Factory()).run();
        assertEquals(2, glitch.rowsProcessed());
        assertEquals(2, glitch.rowsFailed());
        assertEquals(2, glitch.rowsWithErrors());
        Row after = byKey(files).get("doc-002/tldr");
        assertEquals(before.<String>getAs("output"), after.getAs("output"), "the good summary is kept");
        assertEquals(beforeTopic.<String>getAs("label"), byKey(files).get("doc-002/topic").getAs("label"));
        assertEquals("EMPTY_TEXT", after.getAs("error_code"));
        assertTrue(after.<String>getAs("error").startsWith("bad text: column text is blank"), after.toString());
        assertEquals(2, after.<Integer>getAs("attempts"));
        assertEquals(glitch.runId(), after.getAs("run_id"));
        assertEquals(before.<Object>getAs("output_at"), after.getAs("output_at"), "when the kept output was made");
        assertEquals(before.<Integer>getAs("prompt_tokens"), after.getAs("prompt_tokens"));
        assertFalse(before.<String>getAs("input_hash").equals(after.getAs("input_hash")), "the failing input is the current one");

        // Unchanged bad input is not retried every night; --retry-failed does, and still keeps the output.
        assertEquals(0, NightlyJob.of(spark, files.config()).engines(new FakeEngine.Factory()).run().rowsProcessed());
        RunSummary retry = NightlyJob.of(spark, files.config()).engines(new FakeEngine.Factory()).retryFailed(true).run();
        assertEquals(2, retry.rowsProcessed());
        assertEquals(3, byKey(files).get("doc-002/tldr").<Integer>getAs("attempts"));
        assertEquals(before.<String>getAs("output"), byKey(files).get("doc-002/tldr").getAs("output"));

        // The source is fixed: the next attempt succeeds and clears the error.
        files.documents(6, Map.of());
        RunSummary fixed = NightlyJob.of(spark, files.config()).engines(new FakeEngine.Factory()).run();
        assertEquals(2, fixed.rowsProcessed());
        assertEquals(0, fixed.rowsWithErrors());
        Row healed = byKey(files).get("doc-002/tldr");
        assertNull(healed.getAs("error"));
        assertNull(healed.getAs("error_code"));
        assertEquals(4, healed.<Integer>getAs("attempts"));
        assertTrue(healed.<java.sql.Timestamp>getAs("output_at").after(before.getAs("output_at")));
        assertEquals(good.runId(), byKey(files).get("doc-001/tldr").getAs("run_id"), "other rows untouched");
    }

    @Test
    void onlyTokensOfRowsTheModelProcessedAreCountedAndLeftoverErrorsAreReported() {
        JobFiles files = new JobFiles(dir).documents(10, Map.of("doc-003", "This one will FAIL-ME.",
                "doc-006", "Another to FAIL-ME here."));
        RunSummary run = NightlyJob.of(spark, files.config("Summarize: {text}", 1000)).engines(
                new FakeEngine.Factory("FAIL-ME", false)).run();
        assertEquals(4, run.rowsFailed());
        Row sums = spark.sql("SELECT sum(prompt_tokens), sum(output_tokens), sum(CASE WHEN error IS NOT NULL THEN "
                + "prompt_tokens END) FROM delta.`" + files.results() + "` WHERE error IS NULL OR error IS NOT NULL").first();
        Row good = spark.sql("SELECT sum(prompt_tokens), sum(output_tokens) FROM delta.`" + files.results()
                + "` WHERE error IS NULL").first();
        assertTrue(sums.getLong(2) > 0, "failed rows know their prompt length");
        assertEquals(good.getLong(0), run.tokensIn(), "tokens_in counts rows that succeeded only");
        assertEquals(good.getLong(1), run.tokensOut());
        assertEquals(run.tokensIn(), runRow(files, run.runId()).<Long>getAs("tokens_in"));
        assertEquals(4L, runRow(files, run.runId()).<Long>getAs("rows_with_errors"));

        // A run with nothing to do over a table with errors says so, and how to retry them.
        RunSummary idle = NightlyJob.of(spark, files.config("Summarize: {text}", 1000)).engines(
                new FakeEngine.Factory("FAIL-ME", false)).run();
        assertEquals(0, idle.rowsProcessed());
        assertEquals(RunSummary.SUCCEEDED, idle.status());
        assertEquals(4, idle.rowsWithErrors());
        StringWriter text = new StringWriter();
        dev.nightshift.jobs.cli.JobConsoleAccess.printSummary(idle, new PrintWriter(text));
        assertTrue(text.toString().contains("4 result row(s) carry an error from their latest attempt; rerun with "
                + "--retry-failed"), text.toString());
    }

    @Test
    void engineWarningsAndTheProviderUsedReachTheRunsTableAndTheConsole() {
        JobFiles files = new JobFiles(dir).documents(3, Map.of());
        List<String> warned = new ArrayList<>();
        String warning = "CUDA requested but unavailable (no device); running on CPU";
        RunSummary run = NightlyJob.of(spark, files.config()).engines(new FakeEngine.Factory(null, false, warning))
                .listener(new JobListener() {
                    @Override
                    public void warning(String message) {
                        warned.add(message);
                    }
                }).run();
        assertEquals(List.of(warning), run.warnings());
        assertEquals("cpu", run.provider());
        assertTrue(warned.contains(warning), warned.toString());
        Row row = runRow(files, run.runId());
        assertEquals("cpu", row.getAs("provider"));
        assertEquals(List.of(warning), row.getList(row.fieldIndex("warnings")));
    }

    @Test
    void aKilledRunIsMarkedAbandonedAndASecondLiveRunIsRefusedBeforeAnyInference() throws Exception {
        JobFiles files = new JobFiles(dir).documents(6, Map.of());
        RunSummary first = NightlyJob.of(spark, files.config()).engines(new FakeEngine.Factory()).run();
        // Make it look killed mid-run: still "running", a staging folder whose heartbeat stopped two minutes ago.
        spark.sql("UPDATE delta.`" + files.runs() + "` SET status = 'running', ended_at = NULL WHERE run_id = '"
                + first.runId() + "'");
        String staging = files.results() + "_staging";
        RunLease lease = new RunLease(spark.sparkContext().hadoopConfiguration(), staging, "probe");
        lease.beat(staging + "/" + first.runId(), Instant.now().minus(Duration.ofMinutes(2)));
        Files.createDirectories(Path.of(staging, first.runId(), "chunk-0"));

        files.documents(7, Map.of());
        RunSummary next = NightlyJob.of(spark, files.config()).engines(new FakeEngine.Factory()).run();
        assertEquals(RunSummary.SUCCEEDED, next.status());
        Row abandoned = runRow(files, first.runId());
        assertEquals(RunSummary.ABANDONED, abandoned.getAs("status"));
        assertEquals(12L, abandoned.<Long>getAs("rows_processed"), "what it committed: 6 documents x 2 tasks");
        assertTrue(abandoned.<String>getAs("message").contains("found by run " + next.runId()), abandoned.toString());
        assertFalse(Files.exists(Path.of(staging, first.runId())), "its staging folder is removed");
        assertEquals(RunSummary.SUCCEEDED, runRow(files, next.runId()).getAs("status"));

        // A live run (fresh heartbeat, started earlier): the next one is refused before any inference.
        String live = "20000101T000000Z-aaaaaaaa";
        lease.beat(staging + "/" + live, Instant.now());
        files.documents(8, Map.of());
        long prompts = FakeEngine.PROMPTS.get();
        JobConfigException refused = assertThrows(JobConfigException.class,
                () -> NightlyJob.of(spark, files.config()).engines(new FakeEngine.Factory()).run());
        assertTrue(refused.getMessage().contains("another run of job 'test-job' (" + live), refused.getMessage());
        assertEquals(prompts, FakeEngine.PROMPTS.get(), "nothing was inferred");
        assertTrue(Files.exists(Path.of(staging, live)), "the live run's folder is left alone");
        assertEquals(0, spark.sql("SELECT * FROM delta.`" + files.runs() + "` WHERE status = 'running'").count(),
                "the refused run left no row");
        assertNotNull(runRow(files, next.runId()));
    }
}
