package dev.nightshift.jobs.eval;

import dev.nightshift.jobs.nightly.JobConfig;
import dev.nightshift.jobs.nightly.JobConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input is refused before the model runs, with the problem and the fix; good input parses as documented. */
class EvalInputsTest {

    @TempDir
    Path dir;

    private String refused(String jsonl) throws Exception {
        Path file = Files.writeString(dir.resolve("c.jsonl"), jsonl);
        return assertThrows(JobConfigException.class, () -> CandidateFile.read(file)).getMessage();
    }

    @Test
    void candidateLinesParseEveryDocumentedKey() throws Exception {
        Path file = Files.writeString(dir.resolve("c.jsonl"), """
                {"id": "a", "label": "Sports", "score": 0.9, "prompt_tokens": 120, "output_tokens": 2, "latency_ms": 480}
                
                {"id": 7, "fields": {"company": "Acme"}}
                {"id": "b", "error": "timeout"}
                """);
        Map<String, Prediction> p = CandidateFile.read(file);
        assertEquals(List.of("a", "7", "b"), List.copyOf(p.keySet()));
        assertEquals(new Prediction("a", "Sports", "Sports", null, 0.9, null, 120, 2, 480L, null), p.get("a"));
        assertEquals("World", CandidateFile.parse("{\"id\": \"c\", \"output\": \"World\"}", "x").label());
        assertEquals(List.of(), CandidateFile.parse("{\"id\": \"d\", \"label\": \"x\", \"labels\": []}", "x").labels(),
                "an empty label set is kept empty (no label passed), not replaced by the label");
        assertEquals("{\"company\":\"Acme\"}", p.get("7").fields());
        assertTrue(p.get("b").failed());
    }

    @Test
    void badCandidateLinesNameTheFileLineAndFix() throws Exception {
        assertTrue(refused("{\"id\": \"a\", \"output\": \"x\"}\nnot json\n").contains("c.jsonl line 2: not valid JSON"));
        assertTrue(refused("[1, 2]\n").contains("line 1: expected a JSON object"));
        assertTrue(refused("{\"output\": \"x\"}\n").contains("\"id\" is required"));
        assertTrue(refused("{\"id\": \"a\"}\n").contains("give the answer as \"output\""));
        assertTrue(refused("{\"id\": \"a\", \"ouput\": \"x\"}\n").contains("unknown key 'ouput'"));
        assertTrue(refused("{\"id\": \"a\", \"output\": \"x\"}\n{\"id\": \"a\", \"output\": \"y\"}\n")
                .contains("line 2: id 'a' appears twice"));
        assertTrue(refused("{\"id\": \"a\", \"output\": \"x\", \"score\": \"high\"}\n").contains("\"score\" must be a number"));
        assertTrue(refused("{\"id\": \"a\", \"output\": \"x\", \"prompt_tokens\": 1.5}\n").contains("whole number"));
        assertTrue(refused("\n\n").contains("has no lines"));
    }

    @Test
    void candidatesMustNameAConfiguredApiPrice() {
        List<JobConfig.ApiPrice> prices = List.of(new JobConfig.ApiPrice("gpt-4o-mini", 0.15, 0.6),
                new JobConfig.ApiPrice("claude-3-5-haiku", 0.8, 4));
        String message = assertThrows(IllegalArgumentException.class,
                () -> Evaluation.checkPriced(List.of("gpt4"), prices)).getMessage();
        assertEquals("--candidate gpt4: no prices.apis entry named 'gpt4'; configured: gpt-4o-mini, claude-3-5-haiku", message);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Evaluation.checkPriced(List.of("x"), List.of()))
                .getMessage().contains("add one, e.g. {name: x"));
    }

    @Test
    void goldValuesOutsideTheLabelsAndMissingGoldAreRefused() {
        JobConfig.Task task = ReportFixtures.classify();
        String unknown = assertThrows(JobConfigException.class, () -> new Evaluation(task,
                new GoldValues("label", List.of("1", "2", "3"), Map.of("1", "World", "2", "sports", "3", "sports")),
                List.of(), 10)).getMessage();
        assertTrue(unknown.contains("'sports' (2 rows)") && unknown.contains("[World, Sports, Business, Sci/Tech]"), unknown);
        java.util.HashMap<String, Object> gold = new java.util.HashMap<>();
        gold.put("1", "World");
        gold.put("2", null);
        String missing = assertThrows(JobConfigException.class, () -> new Evaluation(task,
                new GoldValues("label", List.of("1", "2"), gold), List.of(), 10)).getMessage();
        assertTrue(missing.contains("1 sampled document(s) have no value in the gold column 'label' (e.g. 2)"), missing);
    }

    @Test
    void aListOrCommaListOfLabelsMakesTheEvaluationMultiLabel() {
        Evaluation e = new Evaluation(ReportFixtures.classify(), new GoldValues("labels", List.of("1", "2"),
                Map.of("1", List.of("World", "Business"), "2", "Sports")), List.of(), 10);
        assertEquals("multi-label classify", e.kind());
        assertEquals(List.of("subset_accuracy", "micro_f1", "macro_f1", "error_rate"), e.metricNames());
        assertTrue(new Evaluation(ReportFixtures.classify(), new GoldValues("labels", List.of("1"),
                Map.of("1", "World, Sci/Tech")), List.of(), 10).multiLabel());
    }

    @Test
    void gatesMustApplyToTheTaskKind() {
        String message = assertThrows(IllegalArgumentException.class, () -> QualityGates.checkApplicable(
                Map.of("min_rouge_l", 0.3), List.of("accuracy", "macro_f1", "ece", "error_rate"), "classify")).getMessage();
        assertTrue(message.startsWith("gate min_rouge_l reads rougeL_f, which a classify evaluation does not compute"), message);
        List<QualityGates.Outcome> outcomes = QualityGates.check(Map.of("min_accuracy", 0.8, "max_error_rate", 0.1),
                List.of(Metric.of("accuracy", 0.75), Metric.of("error_rate", 0.1)));
        QualityGates.Outcome accuracy = outcomes.stream().filter(o -> o.gate().equals("min_accuracy")).findFirst().orElseThrow();
        assertEquals("FAILED: accuracy 0.7500 < 0.8000", accuracy.describe());
        assertTrue(outcomes.stream().filter(o -> o.gate().equals("max_error_rate")).findFirst().orElseThrow().passed());
    }

    @Test
    void theEvalSectionIsReadWithLinesAndRanges() {
        EvalSettings s = EvalSettings.parse("""
                job: x
                eval:
                  sample: 50
                  output: {path: /tmp/eval}
                  min_accuracy: 0.8
                """, "job.yaml");
        assertEquals(new EvalSettings(50, "/tmp/eval", 10, Map.of("min_accuracy", 0.8)), s);
        assertEquals("job.yaml line 3: eval: unknown key 'min_acuracy'; known keys: sample, output, calibration_bins, "
                        + "min_accuracy, min_macro_f1, min_micro_f1, min_rouge_l, min_schema_validity, max_error_rate",
                assertThrows(JobConfigException.class, () -> EvalSettings.parse("job: x\neval:\n  min_acuracy: 0.8\n", "job.yaml"))
                        .getMessage());
        assertEquals("job.yaml line 2: eval.min_accuracy: must be between 0 and 1, got 80",
                assertThrows(JobConfigException.class, () -> EvalSettings.parse("eval:\n  min_accuracy: 80\n", "job.yaml"))
                        .getMessage());
        assertEquals(EvalSettings.none(), EvalSettings.parse("job: x\n", "job.yaml"));
    }

    @Test
    void theSampleKeyIsSha256OfTheIdAsSparkComputesIt() {
        // sha256("doc-1"), as `echo -n doc-1 | sha256sum` prints it
        assertEquals("bb0e4f49443794d901e8969ff11bd112e34208a0dcdf0e1eedb480cc9b3c7293", EvalSample.key("doc-1"));
    }
}
