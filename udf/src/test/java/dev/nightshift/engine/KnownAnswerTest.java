package dev.nightshift.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.KnownAnswerModel;
import dev.nightshift.task.FieldSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Label scoring and constrained decoding pick the answer the model knows, on models whose answers are known by
 * construction ({@link KnownAnswerModel}: bigram models on Llama 2's tokenizer). Random weights can only show that an
 * answer is valid; these show that it is the right one.
 */
class KnownAnswerTest {

    private static final List<String> LABELS = List.of("World", "Sports", "Sci", "Sci/Tech");
    private static final GenerationOptions ONE = GenerationOptions.greedy(1);

    @TempDir
    Path dir;

    private static Prompt prompt(String text) {
        return Prompt.of(text, ONE);
    }

    @Test
    void labelScoringPicksTheKnownLabelWhateverItsLengthOrPrefix() throws Exception {
        // after "Answer:" the model says " Sci/Tech" (four tokens) and stops; a document's last word decides others
        Path model = KnownAnswerModel.builder(dir)
                .follow("Answer:", " Sci/Tech", true)
                .follow("the football", " Sports", true)
                .follow("the election", " World", true)
                .build(dir.resolve("sci-tech"));
        try (LlmEngine engine = LlmEngine.open(model, EngineOptions.defaults().withThreads(1))) {
            List<LabelScores> scores = engine.classify(List.of(prompt("A rocket reached orbit. Answer:"),
                    prompt("Report on the football"), prompt("News of the election")), LABELS);
            assertEquals(List.of("Sci/Tech", "Sports", "World"), scores.stream().map(LabelScores::bestLabel).toList());
            for (LabelScores row : scores) {
                assertTrue(row.probabilities()[row.best()] > 0.99, row.labels() + " " + java.util.Arrays.toString(row.probabilities()));
            }
            // "Sci" is the first token of the answer, but the model does not stop there: scored as a complete answer,
            // it loses (a sum over its tokens alone would have made it as likely as Sci/Tech)
            assertTrue(scores.get(0).probabilities()[LABELS.indexOf("Sci")] < 0.01);
        }

        // the same labels on a model that says " Sci" and stops: now the prefix is the answer
        Path shortAnswer = KnownAnswerModel.builder(dir.resolve("b"))
                .follow("Answer:", " Sci", true)
                .build(dir.resolve("sci"));
        try (LlmEngine engine = LlmEngine.open(shortAnswer, EngineOptions.defaults().withThreads(1))) {
            LabelScores row = engine.classify(List.of(prompt("A rocket reached orbit. Answer:")), LABELS).get(0);
            assertEquals("Sci", row.bestLabel(), java.util.Arrays.toString(row.probabilities()));
            assertTrue(row.probabilities()[row.best()] > 0.99);
        }
    }

    @Test
    void constrainedDecodingKeepsTheValueTheModelPrefers() throws Exception {
        String schema = FieldSpec.jsonSchema(List.of(
                new FieldSpec("status", FieldSpec.FieldType.ENUM, "", true, List.of("open", "paid"), null),
                new FieldSpec("settled", FieldSpec.FieldType.BOOLEAN, "", true, null, null)));
        GenerationOptions constrained = GenerationOptions.greedy(96).withJsonSchema(schema);
        ObjectMapper json = new ObjectMapper();
        for (boolean paid : new boolean[]{true, false}) {
            // the model likes "paid"/"true" (or "open"/"false") wherever it is allowed; all else is a tie
            Path model = KnownAnswerModel.builder(dir.resolve("t" + paid))
                    .prefer(paid ? "paid" : "open", 12)
                    .prefer(paid ? "true" : "false", 12)
                    .build(dir.resolve("prefers-" + paid));
            try (LlmEngine engine = LlmEngine.open(model, EngineOptions.defaults().withThreads(1))) {
                GenerationResult out = engine.generate(List.of(Prompt.of("Invoice 7 JSON:", constrained))).get(0);
                assertEquals(FinishReason.STOP, out.finishReason(), out.text());
                var object = json.readTree(out.text());
                assertEquals(paid ? "paid" : "open", object.get("status").asText(), out.text());
                assertEquals(paid, object.get("settled").asBoolean(), out.text());

                // unconstrained, the same model repeats what it likes: no JSON object at all
                GenerationResult free = engine.generate(List.of(Prompt.of("Invoice 7 JSON:", GenerationOptions.greedy(12))))
                        .get(0);
                assertTrue(!free.text().strip().startsWith("{"), free.text());
            }
        }
    }

    @Test
    void anExtractedValueCarriesItsEvidenceAndConfidence() throws Exception {
        // the model writes "Acme" wherever a string may start, and closes the string after it
        Path model = KnownAnswerModel.builder(dir)
                .prefer("Acme", 20)
                .within("Acme\"")
                .build(dir.resolve("acme"));
        dev.nightshift.task.ExtractTask task = new dev.nightshift.task.ExtractTask("Extract {fields} from: {text}\nJSON:",
                GenerationOptions.greedy(64), List.of(
                new FieldSpec("vendor", FieldSpec.FieldType.STRING, "", true, null, null),
                new FieldSpec("paid", FieldSpec.FieldType.BOOLEAN, "", true, null, null)));
        String document = "Invoice 7 from Acme for consulting.";
        Prompt prompt = task.prompt(task.template().renderParts(name -> name.equals("text") ? document : null), false);
        try (LlmEngine engine = LlmEngine.open(model, EngineOptions.defaults().withThreads(1))) {
            dev.nightshift.task.TaskOutput out = task.run(engine, List.of(prompt)).get(0);
            assertEquals(null, out.error(), out.output());
            assertEquals("Acme", new ObjectMapper().readTree(out.fields()).get("vendor").asText(), out.output());
            var span = out.details().evidence().get("vendor");
            assertEquals("Acme", document.substring(span.start(), span.end()), "the span points at the quoted text");
            assertEquals(List.of("vendor"), List.copyOf(out.details().evidence().keySet()), "a boolean has no evidence");
            // the model was sure of Acme (its least likely token is the opening quote, which ties with other ways to
            // start a string); true, false and their first letters tie, so "paid" is a guess among them
            Map<String, Double> confidence = out.details().fieldConfidence();
            assertTrue(confidence.get("vendor") > 0.5, confidence.toString());
            assertTrue(confidence.get("paid") < 0.5, confidence.toString());
        }
    }
}
