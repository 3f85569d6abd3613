package dev.nightshift.jobs.eval;

import dev.nightshift.engine.EngineHolder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nightshift.SharedFiles;
import dev.nightshift.jobs.cli.NightshiftCli;
import dev.nightshift.jobs.nightly.JobConfigLoader;
import dev.nightshift.jobs.nightly.NightlyJob;
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
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code eval} end to end on local Spark: 20 rows of ../shared/data/ag_news_test classified by a tiny random-weight
 * model made by the toolchain, a recorded candidate written here, the Delta tables, the gates' exit codes, the HTML
 * file, and the sample's independence from file order and partitioning. One evaluation only: each costs a
 * nightly run's fixed Delta work (tens of seconds on 2 cores); the exit code 0 path is the same line of EvalCommand.
 */
class EvalJobTest {

    @TempDir
    static Path dir;
    static SparkSession spark;
    static Path model;
    static Path docs;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void setUp() throws IOException {
        spark = SparkSessions.getOrCreate("local[2]", dir.resolve("warehouse"));
        // 64 wide, 2 layers, vocabulary 512 (the converter adds a synthetic tokenizer), 1024 context.
        LlamaConfig config = new LlamaConfig(64, 172, 2, 8, 4, 8, 512, 1024, 1e-5f, 10000, null, false, false, 1,
                new int[]{2});
        model = dir.resolve("model-int4");
        ModelConverter.convert(new RandomWeights(config, 7), model, ConversionOptions.of(Precision.INT4), null,
                ConversionListener.NONE);
        docs = dir.resolve("ag_news-20.jsonl");
        try (var lines = Files.lines(SharedFiles.get("data/ag_news_test/data.jsonl"))) {
            Files.write(docs, lines.limit(20).toList());
        }
    }

    @AfterAll
    static void closeEngines() {
        dev.nightshift.engine.EngineHolder.closeAll();
    }

    private static String yaml(String results, String gates) {
        return """
                job: news
                source: {path: '%s', format: json, id: id, text: text, title: title}
                tasks:
                  - name: topic
                    type: classify
                    labels: [World, Sports, Business, Sci/Tech]
                model: {path: '%s', threads: 1, max_batch_rows: 16}
                output:
                  results: {path: '%s'}
                  runs: {path: '%s'}
                prices:
                  executor_hour_usd: 0.35
                  apis: [{name: hosted, input_per_1m_usd: 0.15, output_per_1m_usd: 0.60}]
                eval:
                  sample: 12
                  output: {path: '%s'}
                %s
                """.formatted(docs, model, results, dir.resolve("prod-runs"), dir.resolve("eval"), gates);
    }

    private static int cli(StringWriter out, String... args) {
        StringWriter err = new StringWriter();
        int code = NightshiftCli.run(args, new PrintWriter(out), new PrintWriter(err));
        out.append(err.toString());
        return code;
    }

    @Test
    void theSampleIsTheSmallestIdHashesWhateverTheFileOrderAndPartitioning() throws IOException {
        List<String> lines = new ArrayList<>(Files.readAllLines(docs));
        Collections.reverse(lines);
        Path reversed = Files.write(dir.resolve("reversed.jsonl"), lines);
        List<String> a = EvalSample.ids(spark.read().json(docs.toString()), "id", 8);
        List<String> b = EvalSample.ids(spark.read().json(reversed.toString()).repartition(3), "id", 8);
        assertEquals(a, b);
        List<String> all = spark.read().json(docs.toString()).select("id").collectAsList().stream()
                .map(r -> r.getString(0)).sorted(Comparator.comparing(EvalSample::key)).toList();
        assertEquals(all.subList(0, 8), a);
        assertEquals(a.subList(0, 5), EvalSample.ids(spark.read().json(docs.toString()), "id", 5));
    }

    @Test
    void evalRunsTheJobsTaskOnTheSampleAndComparesWithACandidate() throws Exception {
        // A recorded candidate: right on even rows, wrong on odd ones, one sampled document left out.
        List<String> lines = Files.readAllLines(docs);
        List<String> sampled = EvalSample.ids(spark.read().json(docs.toString()), "id", 12);
        List<String> candidate = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            ObjectNode doc = (ObjectNode) JSON.readTree(lines.get(i));
            String id = doc.get("id").asText();
            if (id.equals(sampled.get(0))) {
                continue;
            }
            String gold = doc.get("label").asText();
            String label = i % 2 == 0 ? gold : gold.equals("World") ? "Sports" : "World";
            candidate.add("{\"id\": \"" + id + "\", \"label\": \"" + label + "\", \"score\": 0.9, \"prompt_tokens\": 100, "
                    + "\"output_tokens\": 2, \"latency_ms\": " + (300 + i) + "}");
        }
        Path answers = Files.write(dir.resolve("hosted.jsonl"), candidate);
        Path results = dir.resolve("prod-results");
        Path config = Files.writeString(dir.resolve("job.yaml"), yaml(results.toString(), "  min_accuracy: 0.99\n  max_error_rate: 1"));
        Path html = dir.resolve("report.html");

        StringWriter out = new StringWriter();
        int code = cli(out, "eval", "--config", config.toString(), "--gold-column", "label", "--candidate",
                "hosted=" + answers, "--report", html.toString());
        // A random model does not reach 99% accuracy: the gate fails, with value and threshold.
        assertEquals(1, code, out.toString());
        assertTrue(out.toString().contains("min_accuracy: FAILED: accuracy "), out.toString());
        assertTrue(out.toString().contains("max_error_rate: passed: error_rate "), out.toString());
        assertTrue(out.toString().contains("| accuracy |"), out.toString());
        assertTrue(out.toString().contains("hosted has no answer for 1 of the 12 sampled documents"), out.toString());
        assertFalse(Files.exists(results), "eval never writes the production results table");
        assertEquals(List.of(), Files.list(dir.resolve("eval/_scratch")).toList(), "scratch folders are deleted");
        assertTrue(Files.readString(html).contains("data:image/png;base64,"));

        String eval = dir.resolve("eval").toString();
        List<Row> rows = spark.read().format("delta").load(eval + "/eval_rows").orderBy("candidate", "doc_id").collectAsList();
        assertEquals(24, rows.size());
        Map<String, Long> perCandidate = rows.stream().collect(Collectors.groupingBy(r -> r.getAs("candidate"), Collectors.counting()));
        assertEquals(Map.of("nightshift", 12L, "hosted", 12L), perCandidate);
        assertTrue(rows.stream().anyMatch(r -> "hosted".equals(r.getAs("candidate")) && r.getAs("error") != null));
        Map<String, Double> hosted = summary(eval, "hosted");
        // 11 answered: row i is right when its file position is even; the 12th sampled document is missing.
        long right = sampled.stream().skip(1).filter(id -> lines.indexOf(lineOf(lines, id)) % 2 == 0).count();
        assertEquals(right / 12.0, hosted.get("accuracy"), 1e-12);
        assertEquals(1 / 12.0, hosted.get("error_rate"), 1e-12);
        // 11 rows × (100 × 0.15 + 2 × 0.60) / 1e6 USD, per 1,000 of the 12 rows
        assertEquals(11 * (100 * 0.15 + 2 * 0.60) / 1e6 / 12 * 1000, hosted.get("cost_per_1k_rows_usd"), 1e-12);
        Map<String, Double> ours = summary(eval, "nightshift");
        assertTrue(ours.get("accuracy") < 0.99 && ours.containsKey("ece") && ours.containsKey("f1[Sports]"), ours.toString());
        assertTrue(ours.get("cost_per_1k_rows_usd") > 0 && ours.get("latency_p95_ms") >= ours.get("latency_p50_ms"));

        // The rows are the ones the nightly job produces: the same labels and scores for the same documents.
        NightlyJob.of(spark, JobConfigLoader.load(config)).run();
        Map<String, String> nightly = spark.read().format("delta").load(results.toString()).collectAsList().stream()
                .collect(Collectors.toMap(r -> r.getAs("doc_id"), r -> r.getAs("label") + "@" + r.getAs("score")));
        for (Row row : rows) {
            if ("nightshift".equals(row.getAs("candidate"))) {
                assertEquals(nightly.get((String) row.getAs("doc_id")), row.getAs("predicted") + "@" + row.getAs("score"));
            }
        }

    }

    @Test
    void badInputExitsWithCodeTwoAndNamesTheFix() throws IOException {
        Path config = Files.writeString(dir.resolve("bad.yaml"), yaml(dir.resolve("r2").toString(), ""));
        StringWriter out = new StringWriter();
        assertEquals(2, cli(out, "eval", "--config", config.toString(), "--gold-column", "topic"), out.toString());
        assertTrue(out.toString().contains("--gold-column topic: the source json path " + docs + " has no such column; "
                + "its columns: id, label, text, title"), out.toString());
        out = new StringWriter();
        assertEquals(2, cli(out, "eval", "--config", config.toString(), "--gold-column", "label", "--candidate",
                "gpt4=x.jsonl"), out.toString());
        assertTrue(out.toString().contains("no prices.apis entry named 'gpt4'; configured: hosted"), out.toString());
        out = new StringWriter();
        assertEquals(2, cli(out, "eval", "--config", config.toString(), "--gold-column", "label", "--gate", "min_rouge_l=0.2"),
                out.toString());
        assertTrue(out.toString().contains("gate min_rouge_l reads rougeL_f, which a classify evaluation does not compute"),
                out.toString());
    }

    private static String lineOf(List<String> lines, String id) {
        return lines.stream().filter(l -> l.contains("\"id\":\"" + id + "\"") || l.contains("\"id\": \"" + id + "\""))
                .findFirst().orElseThrow();
    }

    private static Map<String, Double> summary(String eval, String candidate) {
        return spark.read().format("delta").load(eval + "/eval_summary").where("candidate = '" + candidate + "'")
                .orderBy("evaluated_at").collectAsList().stream().filter(r -> r.getAs("value") != null)
                .collect(Collectors.toMap(r -> r.getAs("metric"), r -> r.getAs("value"), (a, b) -> b));
    }
}
