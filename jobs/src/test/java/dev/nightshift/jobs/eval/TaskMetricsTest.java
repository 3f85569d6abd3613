package dev.nightshift.jobs.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.task.FieldSpec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Every metric on small fixtures whose answers are worked out by hand in the comments. */
class TaskMetricsTest {

    static Prediction label(String id, String label, double score) {
        return new Prediction(id, label, label, null, score, null, 10, 1, 100L, null);
    }

    static Prediction failed(String id) {
        return new Prediction(id, null, null, List.of(), null, null, 10, null, 50L, "[ENGINE_FAILURE] boom");
    }

    static double metric(List<Metric> metrics, String name) {
        return metrics.stream().filter(m -> m.name().equals(name)).mapToDouble(Metric::value).findFirst().orElseThrow();
    }

    @Test
    void classifyAccuracyF1ConfusionAndCalibrationError() {
        List<String> labels = List.of("A", "B", "C");
        List<String> gold = List.of("A", "A", "A", "B", "B", "C");
        List<Prediction> predicted = List.of(label("1", "A", 0.9), label("2", "A", 0.6), label("3", "B", 0.7),
                label("4", "B", 0.8), failed("5"), label("6", "A", 0.55));
        ClassifyMetrics.Result r = ClassifyMetrics.compute(labels, gold, predicted, 10);

        // gold rows × predicted columns (last column: errors)
        assertArrayEquals(new int[]{2, 1, 0, 0}, r.confusion()[0]);
        assertArrayEquals(new int[]{0, 1, 0, 1}, r.confusion()[1]);
        assertArrayEquals(new int[]{1, 0, 0, 0}, r.confusion()[2]);
        assertEquals(0.5, r.accuracy(), 1e-15);                 // rows 1, 2, 4 of 6
        assertEquals(2.0 / 3, metric(r.metrics(), "precision[A]"), 1e-15);   // A predicted 3 times, right twice
        assertEquals(2.0 / 3, metric(r.metrics(), "recall[A]"), 1e-15);      // 3 gold A, 2 found
        assertEquals(0.5, metric(r.metrics(), "f1[B]"), 1e-15);              // P 1/2, R 1/2
        assertEquals(0.0, metric(r.metrics(), "f1[C]"), 0);                  // never predicted
        assertEquals(7.0 / 18, r.macroF1(), 1e-15);                          // (2/3 + 1/2 + 0) / 3
        // 5 scored rows, one per bin: |1-0.9| + |1-0.6| + |0-0.7| + |1-0.8| + |0-0.55| = 1.95, / 5
        assertEquals(0.39, r.ece(), 1e-12);
        assertEquals(1, metric(r.metrics(), "confusion[B -> (error)]"), 0);
    }

    @Test
    void calibrationErrorAveragesWithinBinsBeforeComparing() {
        // Both rows in bin [0.8, 0.9): accuracy 1/2, mean score 0.85 → ECE 0.35; a score of exactly 1 is in the last bin.
        List<Prediction> rows = List.of(label("1", "A", 0.8), label("2", "A", 0.9 - 1e-9), label("3", "A", 1.0));
        ClassifyMetrics.Result r = ClassifyMetrics.compute(List.of("A", "B"), List.of("A", "B", "A"), rows, 10);
        assertEquals(2, r.bins().get(8).rows());
        assertEquals(1, r.bins().get(9).rows());
        // bin 8: 2/3 × |0.5 − 0.85| ; bin 9: 1/3 × |1 − 1|
        assertEquals(2.0 / 3 * 0.35, r.ece(), 1e-9);
    }

    @Test
    void multiLabelMicroAndMacroF1() {
        List<String> labels = List.of("x", "y", "z");
        List<Set<String>> gold = List.of(Set.of("x", "y"), Set.of("z"), Set.of("x"), Set.of("y"));
        List<Prediction> predicted = List.of(
                new Prediction("1", null, null, List.of("x"), null, null, null, null, null, null),
                new Prediction("2", null, null, List.of("z", "y"), null, null, null, null, null, null),
                failed("3"),
                label("4", "y", 0.9));
        List<Metric> m = MultiLabelMetrics.compute(labels, gold, predicted);
        // TP 3 (x, z, y), FP 1 (y in row 2), FN 2 (y in row 1, x in row 3): 6 / (6 + 1 + 2)
        assertEquals(2.0 / 3, metric(m, "micro_f1"), 1e-15);
        // x: 2/(2+0+1) = 2/3; y: 2/(2+1+1) = 1/2; z: 1
        assertEquals((2.0 / 3 + 0.5 + 1) / 3, metric(m, "macro_f1"), 1e-15);
        assertEquals(0.25, metric(m, "subset_accuracy"), 0);

        // a multi-label row where no label passed its threshold predicts nothing, even though label names the best
        Prediction none = new Prediction("5", "x", "x", List.of(), 0.4, null, null, null, null, null);
        assertEquals(Set.of(), MultiLabelMetrics.predicted(none));
        assertEquals(Set.of("y"), MultiLabelMetrics.predicted(label("6", "y", 0.9)), "no label set: the label");
        List<Metric> withNone = MultiLabelMetrics.compute(labels, List.of(Set.of("z")), List.of(none));
        assertEquals(0.0, metric(withNone, "micro_f1"), 0, "no true positive, and x is not a false positive");
    }

    @Test
    void summariesScoreRougeAndLengths() {
        List<Metric> m = SummarizeMetrics.compute(List.of("testing one two", "a reference of five words"),
                List.of(new Prediction("1", "Testing one.", null, List.of(), null, null, null, null, null, null), failed("2")));
        // Row 1: ROUGE-1 F 0.8, ROUGE-2 F 2/3, ROUGE-L F 0.8; the failed row scores 0.
        assertEquals(0.4, metric(m, "rouge1_f"), 1e-15);
        assertEquals(1.0 / 3, metric(m, "rouge2_f"), 1e-15);
        assertEquals(0.4, metric(m, "rougeL_f"), 1e-15);
        assertEquals(2, metric(m, "output_words_mean"), 0);
        assertEquals(4, metric(m, "reference_words_mean"), 0);
    }

    @Test
    void extractionExactMatchListF1AndSchemaValidity() throws Exception {
        List<FieldSpec> fields = FieldSpec.parse(List.of(Map.of("name", "name", "type", "string"),
                Map.of("name", "amount", "type", "number"), Map.of("name", "tags", "type", "list")));
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> gold = new ArrayList<>(List.of(json.readTree("{\"name\": \"Acme\", \"amount\": 5, \"tags\": [\"a\", \"b\"]}"),
                json.readTree("{\"name\": \"Beta\", \"amount\": null, \"tags\": []}"),
                json.readTree("{\"name\": \"Gamma\", \"amount\": 1, \"tags\": [\"c\"]}")));
        List<Prediction> predicted = List.of(
                // name equal after trimming, 5.0 equals 5, tags {b, c} vs {a, b}: F1 2·1/(2+2) = 0.5; valid
                fields("1", "{\"name\": \" Acme \", \"amount\": 5.0, \"tags\": [\"b\", \"c\"]}"),
                // name differs in case, amount null = null, tags both empty (F1 1); an extra key: not valid
                fields("2", "{\"name\": \"beta\", \"amount\": null, \"tags\": [], \"extra\": 1}"),
                failed("3"));
        List<Metric> m = ExtractMetrics.compute(fields, gold, predicted);
        assertEquals(1.0 / 3, metric(m, "field_exact[name]"), 1e-15);
        assertEquals(2.0 / 3, metric(m, "field_exact[amount]"), 1e-15);
        assertEquals(1.0 / 3, metric(m, "field_exact[tags]"), 1e-15);
        assertEquals(0.5, metric(m, "field_f1[tags]"), 1e-15);       // (0.5 + 1 + 0) / 3
        assertEquals(1.0 / 3, metric(m, "schema_validity"), 1e-15);
        assertEquals(4.0 / 9, metric(m, "exact_mean"), 1e-15);        // (1/3 + 2/3 + 1/3) / 3
    }

    static Prediction fields(String id, String json) {
        return new Prediction(id, json, null, List.of(), null, json, null, null, null, null);
    }
}
