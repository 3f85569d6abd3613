package dev.nightshift.task;

import dev.nightshift.engine.FinishReason;
import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.Prompt;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Field confidences from token probabilities, and evidence spans of string values in the document. */
class FieldEvidenceTest {

    /** {"vendor": "Acme", "total": 12} in six tokens, with the character where each ends. */
    private static final String ANSWER = "{\"vendor\": \"Acme\", \"total\": 12}";
    private static final int[] ENDS = {11, 12, 16, 29, 30, 31};   // {"vendor": | " | Acme | ", "total": 1 | 2 | }
    private static final double[] LOGPROBS = {0, Math.log(0.9), Math.log(0.6), 0, Math.log(0.3), 0};

    private static GenerationResult result(String text, double[] logprobs, int[] ends) {
        return new GenerationResult(text, new int[logprobs.length], 5, logprobs.length, FinishReason.STOP, null, false,
                0, 0, null, logprobs, ends);
    }

    @Test
    void aFieldsConfidenceIsItsLeastLikelyToken() {
        Map<String, Double> confidence = FieldEvidence.confidence(ANSWER, result(ANSWER, LOGPROBS, ENDS));
        // vendor's value "Acme" (characters 11 to 17) overlaps tokens 1 (the quote, 0.9), 2 (Acme, 0.6) and 3 (the closing
        // quote with the next key, 1.0); total's value 12 (28 to 30) overlaps tokens 3 (ending in "1") and 4 ("2", 0.3).
        assertEquals(0.6, confidence.get("vendor"), 1e-12);
        assertEquals(0.3, confidence.get("total"), 1e-12);
        assertEquals(List.of("vendor", "total"), List.copyOf(confidence.keySet()));
    }

    @Test
    void aTokenThatCompletesNoCharacterCountsForTheCharacterItStarts() {
        // "é" split over two tokens: the first completes nothing (ends where the previous did) and is unlikely.
        String answer = "{\"a\": \"é\"}";
        int[] ends = {6, 6, 8, 9};
        double[] logprobs = {0, Math.log(0.2), 0, 0};
        assertEquals(0.2, FieldEvidence.confidence(answer, result(answer, logprobs, ends)).get("a"), 1e-12);
    }

    @Test
    void noTokenInformationGivesNoConfidence() {
        assertEquals(Map.of(), FieldEvidence.confidence(ANSWER, result(ANSWER, new double[0], new int[0])));
        assertEquals(Map.of(), FieldEvidence.confidence("no object", result("no object", new double[]{0}, new int[]{9})));
    }

    @Test
    void evidenceIsTheFirstVerbatimOccurrenceInCodePoints() {
        String document = "\uD83D\uDCC4 Invoice from Acme Corp, Oslo. Acme Corp ships to NO.";
        Map<String, TaskOutput.Span> spans = FieldEvidence.evidence(
                "{\"vendor\": \"Acme Corp\", \"city\": \"oslo\", \"note\": \"\", \"total\": 12,"
                        + " \"address\": {\"country\": \"NO\"}, \"items\": [\"Acme Corp\"]}", document);
        // the emoji is two UTF-16 units but one code point: "Acme Corp" starts at code point 15
        assertEquals(new TaskOutput.Span(15, 24), spans.get("vendor"));
        assertEquals("Acme Corp", substring(document, spans.get("vendor")));
        assertEquals("NO", substring(document, spans.get("address.country")));
        assertEquals(List.of("vendor", "address.country"), List.copyOf(spans.keySet()),
                "a different case, an empty string, numbers and lists have no evidence");
    }

    @Test
    void anExtractRowCarriesConfidenceAndEvidence() {
        ExtractTask task = new ExtractTask(null, GenerationOptions.greedy(64), List.of(
                FieldSpec.named("vendor"), new FieldSpec("total", FieldSpec.FieldType.NUMBER, "", true, null, null)));
        Prompt prompt = task.prompt(task.template().renderParts(name -> name.equals("text") ? "Paid to Acme: 12 NOK" : null),
                false);
        FixedGenerator engine = FixedGenerator.generating(Map.of(prompt.text(), result(ANSWER, LOGPROBS, ENDS)));
        TaskOutput out = task.run(engine, List.of(prompt)).get(0);
        assertTrue(!out.failed(), out.toString());
        assertEquals(Map.of("vendor", 0.6, "total", 0.3).keySet(), out.details().fieldConfidence().keySet());
        assertEquals(Map.of("vendor", new TaskOutput.Span(8, 12)), out.details().evidence());
    }

    /** Spark SQL's substring(text, start + 1, end - start), in Java. */
    private static String substring(String text, TaskOutput.Span span) {
        int from = text.offsetByCodePoints(0, span.start());
        return text.substring(from, text.offsetByCodePoints(from, span.end() - span.start()));
    }
}
