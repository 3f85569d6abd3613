package dev.nightshift.jobs.workflow;

import dev.nightshift.engine.EngineHolder;
import dev.nightshift.jobs.cli.NightshiftCli;
import dev.nightshift.engine.EngineHolder;
import dev.nightshift.jobs.nightly.SparkSessions;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shipped workflow and notebooks on local Spark (issue 11). conf/workflows/nightly.json's task graph runs in
 * process, with its two configs copied to a temporary folder and their relative {@code nightshift-work/} paths pointed
 * there (the {@code conf} and {@code work} job parameters select that copy), on a tiny random-weight model and 8 of
 * the demo's documents (two per topic): night one runs summarize, classify, the eval gate and the report. Night two edits one
 * document and runs both jobs again. Then every statement of every notebook in notebooks/ runs with
 * {@code spark.sql} against those tables, its parameter cell pointed at them.
 */
class NightlyWorkflowTest {

    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    static final String CHANGED = "demo-002";

    @TempDir
    static Path dir;
    static SparkSession spark;
    static String nightOne;
    static int nightOneExit;
    static long versionAfterNightOne;

    @BeforeAll
    static void twoNights() throws Exception {
        spark = SparkSessions.getOrCreate("local[2]", dir.resolve("warehouse"));
        // Tables of a few rows: one shuffle partition and one snapshot partition spare the 2-core box needless tasks.
        spark.conf().set("spark.sql.shuffle.partitions", "1");
        spark.conf().set("spark.databricks.delta.snapshotPartitions", "1");
        Path work = dir.resolve("work");
        // 64 wide, 2 layers, vocabulary 512 (a synthetic tokenizer), 1024 context: the demo's model, smaller.
        LlamaConfig shape = new LlamaConfig(64, 172, 2, 8, 4, 8, 512, 1024, 1e-5f, 10000, null, false, false, 1, new int[]{2});
        ModelConverter.convert(new RandomWeights(shape, 42), work.resolve("models/random-tiny-int4"),
                ConversionOptions.of(Precision.INT4), null, ConversionListener.NONE);
        Files.createDirectories(work.resolve("data"));
        // Two documents of each of the four topics (the file lists them topic by topic, nine each).
        List<String> all = demoDocuments();
        Files.write(work.resolve("data/sample-docs.jsonl"), java.util.stream.IntStream.range(0, all.size())
                .filter(i -> i % 9 < 2).mapToObj(all::get).toList());
        Path conf = Files.createDirectories(dir.resolve("conf"));
        for (String name : List.of("summarize.yaml", "classify.yaml")) {
            Files.writeString(conf.resolve(name), Files.readString(ROOT.resolve("conf/workflows/" + name))
                    .replace("nightshift-work/", work + "/"));
        }

        StringWriter out = new StringWriter();
        nightOneExit = cli(out, "workflow", "run", ROOT.resolve("conf/workflows/nightly.json").toString(), "--in-process",
                "--param", "conf=" + conf, "--param", "work=" + work);
        nightOne = out.toString();
        System.out.println("night one:\n" + nightOne.substring(nightOne.lastIndexOf("\ntask ") + 1));
        long nightTwo = System.nanoTime();
        versionAfterNightOne = spark.sql("DESCRIBE HISTORY delta.`" + results() + "`").collectAsList().stream()
                .mapToLong(r -> r.getLong(0)).max().orElseThrow();

        // Night two: one document's text changed; both jobs run again.
        List<String> docs = new ArrayList<>(Files.readAllLines(work.resolve("data/sample-docs.jsonl")));
        docs.replaceAll(line -> line.contains("\"" + CHANGED + "\"")
                ? line.replaceFirst("\"text\": \"[^\"]*\"", "\"text\": \"The survey was repeated in autumn and found fewer bees.\"")
                : line);
        Files.write(work.resolve("data/sample-docs.jsonl"), docs);
        for (String name : List.of("summarize.yaml", "classify.yaml")) {
            StringWriter night = new StringWriter();
            assertEquals(0, cli(night, "run", "--config", conf.resolve(name).toString()), night.toString());
        }
        System.out.printf("night two: %.1f s%n", (System.nanoTime() - nightTwo) / 1e9);
    }

    @AfterAll
    static void closeEngines() {
        EngineHolder.closeAll();
    }

    static String results() {
        return dir.resolve("work/nightly/results").toString();
    }

    static String runs() {
        return dir.resolve("work/nightly/runs").toString();
    }

    @Test
    void theShippedGraphRunsInDependencyOrderAndEveryTaskSucceeds() {
        assertEquals(0, nightOneExit, nightOne);
        String table = nightOne.substring(nightOne.lastIndexOf("\ntask ") + 1);
        List<String> order = table.lines().skip(1).map(line -> line.split("\\s+")[0]).toList();
        assertEquals(List.of("summarize", "classify", "eval_gate", "report"), order, table);
        assertEquals(4, table.lines().filter(line -> line.contains(" succeeded ")).count(), table);
        assertTrue(nightOne.contains("max_error_rate: passed"), nightOne);
        String report = nightOne.substring(nightOne.indexOf("== report:"));
        assertTrue(report.contains("nightly-summarize") && report.contains("nightly-classify"), "the report prints the runs:\n" + report);
    }

    @Test
    void theResultsNotebookRunsEveryStatementAndCountsWhatTheJobsWrote() throws IOException {
        List<List<Row>> answers = runNotebook("nightshift_results.sql", Map.of("nightshift.results", results(),
                "nightshift.runs", runs(), "nightshift.compare_version", Long.toString(versionAfterNightOne)));
        assertEquals(14, answers.size(), "statements in the results notebook");
        // Rows per label: the 8 documents' topic labels.
        assertEquals(8L, answers.get(3).stream().mapToLong(r -> r.getLong(2)).sum(), answers.get(3).toString());
        // Error rate per task: two tasks of 8 rows each.
        assertEquals(List.of("summary:8", "topic:8"), answers.get(5).stream().map(r -> r.getString(0) + ":" + r.getLong(1)).toList());
        // Tokens per night equal the runs table's sum over finished runs.
        Row sums = spark.sql("SELECT sum(tokens_in), sum(rows_processed) FROM delta.`" + runs() + "` WHERE status <> 'running'").first();
        assertEquals(sums.getLong(0), answers.get(7).stream().mapToLong(r -> r.getLong(5)).sum());
        assertEquals(sums.getLong(1), answers.get(7).stream().mapToLong(r -> r.getLong(2)).sum());
        // The saving against API prices: one row per configured API and night.
        assertEquals(List.of("large-hosted-model", "small-hosted-model"),
                answers.get(8).stream().map(r -> r.getString(1)).distinct().sorted().toList());
        // Changed since the last run: the edited document, for both tasks.
        assertEquals(List.of("summary " + CHANGED + " changed or retried", "topic " + CHANGED + " changed or retried"),
                answers.get(10).stream().map(r -> r.getString(0) + " " + r.getString(1) + " " + r.getString(2)).toList());
        // Time travel: against night one's last version, only the edited document's two rows differ.
        assertFalse(answers.get(11).isEmpty(), "DESCRIBE HISTORY");
        assertEquals(List.of("summary " + CHANGED + " changed", "topic " + CHANGED + " changed"),
                answers.get(12).stream().map(r -> r.getString(0) + " " + r.getString(1) + " " + r.getString(2)).toList());
    }

    @Test
    void theLlmQueriesNotebookRunsEveryStatementAndAgreesWithTheNightlyJob() throws IOException {
        List<List<Row>> answers = runNotebook("nightshift_llm_queries.sql", Map.of(
                "nightshift.source", dir.resolve("work/data/sample-docs.jsonl").toString(),
                "nightshift.results", results(),
                "spark.nightshift.model.path", dir.resolve("work/models/random-tiny-int4").toString(),
                "spark.nightshift.prices.hosted_small.input_per_1m_usd", "0.15"));
        assertEquals(11, answers.size(), "statements in the llm queries notebook");
        Row cost = answers.get(4).get(0);
        assertEquals(8L, cost.getLong(0));
        assertEquals(cost.getLong(1) * 0.15 / 1e6, cost.getDouble(3), 1e-6);
        assertEquals(8, answers.get(5).size(), "the sample's labels");
        assertEquals(8L, answers.get(6).stream().mapToLong(r -> r.getLong(1)).sum(), "documents per label");
        assertEquals(3, answers.get(7).size(), "three summaries");
        assertEquals(4, answers.get(8).size(), "four documents' fields");
        assertEquals(8L, answers.get(9).stream().mapToLong(r -> r.getLong(1)).sum(), "every row has an outcome");
        assertEquals(List.of(), answers.get(10), "the ad-hoc labels and scores are the nightly job's");
    }

    @Test
    void theEvalNotebookRunsEveryStatementOnTheEvalGatesTables() throws IOException {
        List<List<Row>> answers = runNotebook("nightshift_eval.sql",
                Map.of("nightshift.eval", dir.resolve("work/nightly/eval").toString()));
        assertEquals(8, answers.size(), "statements in the eval notebook");
        assertEquals(1, answers.get(1).size(), "one evaluation: " + answers.get(1));
        // The latest evaluation's headline: Nightshift alone, on the 8 documents, without errors.
        Row headline = answers.get(2).get(0);
        assertEquals("nightshift", headline.getString(0));
        assertEquals(8.0, headline.getDouble(1));
        assertEquals(0.0, headline.getDouble(7));
        assertFalse(answers.get(4).isEmpty(), "precision, recall and F1 per label");
        assertEquals(8.0, answers.get(5).stream().mapToDouble(r -> r.getDouble(3)).sum(), "confusion cells sum to the rows");
    }

    /**
     * Runs every statement of a notebook in order and returns each one's rows. Parameter statements
     * ({@code SET nightshift.NAME = ...}) get the test's values; every other statement runs as written.
     */
    static List<List<Row>> runNotebook(String name, Map<String, String> parameters) throws IOException {
        String text = Files.readString(ROOT.resolve("notebooks").resolve(name));
        assertTrue(text.startsWith("-- Databricks notebook source\n"), name + " is not in Databricks' source format");
        long start = System.nanoTime();
        List<List<Row>> answers = new ArrayList<>();
        Pattern set = Pattern.compile("(?s)SET ((?:spark\\.)?nightshift\\.[a-z0-9_.-]+) = .*");
        for (String statement : statements(text)) {
            Matcher parameter = set.matcher(statement);
            if (parameter.matches()) {
                assertTrue(parameters.containsKey(parameter.group(1)), "no test value for " + parameter.group(1));
                statement = "SET " + parameter.group(1) + " = " + parameters.get(parameter.group(1));
            }
            try {
                answers.add(spark.sql(statement).collectAsList());
            } catch (RuntimeException e) {
                throw new AssertionError(name + ": statement " + (answers.size() + 1) + " failed: " + e.getMessage()
                        + "\n" + statement, e);
            }
        }
        System.out.printf("%s: %d statements in %.1f s%n", name, answers.size(), (System.nanoTime() - start) / 1e9);
        return answers;
    }

    /** A notebook's statements: cells split at "-- COMMAND ----------", comment lines dropped, split at ";" ending a line. */
    static List<String> statements(String notebook) {
        List<String> statements = new ArrayList<>();
        for (String cell : notebook.split("\n-- COMMAND ----------\n")) {
            StringBuilder current = new StringBuilder();
            for (String line : cell.lines().toList()) {
                if (line.strip().startsWith("--")) {
                    continue;
                }
                current.append(line).append('\n');
                if (line.strip().endsWith(";")) {
                    String statement = current.toString().strip();
                    statements.add(statement.substring(0, statement.length() - 1));
                    current.setLength(0);
                }
            }
            assertTrue(current.toString().isBlank(), "a statement without its closing ';': " + current);
        }
        return statements;
    }

    static List<String> demoDocuments() throws IOException {
        try (InputStream in = NightlyWorkflowTest.class.getResourceAsStream("/demo/sample-docs.jsonl")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
        }
    }

    static int cli(StringWriter out, String... args) {
        PrintWriter writer = new PrintWriter(out, true);
        int code = NightshiftCli.run(args, writer, writer);
        writer.flush();
        return code;
    }
}
