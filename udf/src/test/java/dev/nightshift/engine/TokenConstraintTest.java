package dev.nightshift.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.nightshift.RealTokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Token masks on the real Llama 3 and Llama 2 vocabularies: the tokenizer's own encoding of a valid answer is never
 * masked, and outputs built only from allowed tokens always end, parse and validate against the schema (checked
 * with networknt's JSON-schema validator, independent of the automaton).
 */
class TokenConstraintTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int WALKS = 80;

    @TempDir
    Path dir;

    @Test
    void theTokenizersOwnEncodingOfAValidAnswerIsNeverMasked() throws Exception {
        Path folder = RealTokenizers.llama3(dir);
        TokenBytes bytes = TokenBytes.of(folder, 128256);
        try (TextTokenizer tokenizer = TextTokenizer.load(folder)) {
            int eot = tokenizer.tokenId("<|eot_id|>").orElseThrow();
            TokenConstraint constraint = new TokenConstraint(JsonSchemaGrammar.of(JsonSchemaGrammarTest.INVOICE), bytes,
                    new int[]{eot});
            String answer = "{\"vendor\": \"Müller & Söhne — 株式会社\", \"amount\": 1249.5, \"lines\": 12, \"paid\": true, "
                    + "\"due\": \"2026-12-01\", \"status\": \"closed\", \"tags\": [\"urgent\", \"Q4\"], "
                    + "\"address\": {\"city\": \"São Paulo\", \"zip\": null}}";
            long[] ids = tokenizer.encode(List.of(new TextTokenizer.Piece(answer, false)));
            int state = constraint.start();
            for (long id : ids) {
                if (tokenizer.bosId().isPresent() && id == tokenizer.bosId().getAsInt()) {
                    continue;
                }
                float[] logits = new float[128256];
                constraint.mask(state, logits);
                assertEquals(0f, logits[(int) id], "token " + id + " masked after " + state);
                assertTrue(logits[eot] < 0, "end allowed before the object is complete");
                state = constraint.advance(state, (int) id);
                assertTrue(state >= 0);
            }
            assertTrue(constraint.complete(state));
            float[] logits = new float[128256];
            assertEquals(1, constraint.mask(state, logits), "only the end is allowed once the object is complete");
            assertEquals(0f, logits[eot]);
        }
    }

    @Test
    void everyConstrainedOutputEndsParsesAndValidatesLlama3() throws Exception {
        walks(RealTokenizers.llama3(dir), 128256, "<|eot_id|>");
    }

    @Test
    void everyConstrainedOutputEndsParsesAndValidatesLlama2() throws Exception {
        walks(RealTokenizers.llama2(dir), 32000, "</s>");
    }

    /**
     * {@link #WALKS} outputs drawn from the allowed tokens only: a random allowed token, or (more often) one that can close a
     * string, list or object, so that every walk ends. Each must end within 400 tokens, be valid UTF-8, parse,
     * and validate.
     */
    private void walks(Path folder, int vocab, String end) throws Exception {
        TokenBytes bytes = TokenBytes.of(folder, vocab);
        Schema validator = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(JsonSchemaGrammarTest.INVOICE);
        try (TextTokenizer tokenizer = TextTokenizer.load(folder)) {
            int endId = tokenizer.tokenId(end).orElseThrow();
            TokenConstraint constraint = new TokenConstraint(JsonSchemaGrammar.of(JsonSchemaGrammarTest.INVOICE), bytes,
                    new int[]{endId});
            SplittableRandom random = new SplittableRandom(42);
            long started = System.nanoTime();
            for (int walk = 0; walk < WALKS; walk++) {
                int state = constraint.start();
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                boolean ended = false;
                for (int step = 0; step < 400 && !ended; step++) {
                    float[] logits = new float[vocab];
                    int kept = constraint.mask(state, logits);
                    assertTrue(kept > 0, "dead end after " + out.toString(StandardCharsets.UTF_8));
                    List<Integer> allowed = new ArrayList<>();
                    List<Integer> punctuation = new ArrayList<>();
                    for (int v = 0; v < vocab; v++) {
                        if (logits[v] == 0f) {
                            allowed.add(v);
                            byte[] b = bytes.bytes(v);
                            if (v == endId || (b != null && containsAny(b, "\"]}"))) {
                                punctuation.add(v);
                            }
                        }
                    }
                    List<Integer> pool = punctuation.isEmpty() || random.nextInt(4) == 0 ? allowed : punctuation;
                    int token = pool.get(random.nextInt(pool.size()));
                    if (token == endId) {
                        ended = true;
                    } else {
                        out.writeBytes(bytes.bytes(token));
                        state = constraint.advance(state, token);
                    }
                }
                byte[] raw = out.toByteArray();
                String text = new String(raw, StandardCharsets.UTF_8);
                assertTrue(ended, "did not end: " + text);
                assertArrayEquals(raw, text.getBytes(StandardCharsets.UTF_8), "not valid UTF-8: " + text);
                JsonNode parsed = JSON.readTree(text);
                assertEquals(List.of(), validator.validate(parsed).stream().map(Object::toString).toList(), text);
            }
            System.out.printf("%s: " + WALKS + " constrained outputs, %d DFA states with masks, %.0f ms%n", folder.getFileName(),
                    constraint.cachedStates(), (System.nanoTime() - started) / 1e6);
        }
    }

    private static boolean containsAny(byte[] bytes, String chars) {
        for (byte b : bytes) {
            if (chars.indexOf(b) >= 0) {
                return true;
            }
        }
        return false;
    }

    @Test
    void anEndTokenWithTextOnlyEndsACompleteOutput() throws Exception {
        // "}" (id 2) is also the end token here: it may close nothing early, and ends the output only once complete
        java.nio.file.Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"vocab\": {\"{\": 0, \"}\": 1, "
                + "\"E\": 2, \"\\\"\": 3, \"a\": 4, \": \": 5}}, \"decoder\": {\"type\": \"ByteLevel\"}}");
        TokenConstraint constraint = new TokenConstraint(JsonSchemaGrammar.of(
                "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\"}}}"), TokenBytes.of(dir, 6), new int[]{2});
        int state = constraint.start();
        for (int token : new int[]{0, 3, 4, 3, 5, 3}) {
            state = constraint.advance(state, token);
        }
        float[] inside = new float[6];
        constraint.mask(state, inside); // inside the string "...: "
        assertEquals(Float.NEGATIVE_INFINITY, inside[2], "the end token's text 'E' is not allowed inside a string");
        assertEquals(0f, inside[4]);
        for (int token : new int[]{3, 1}) {
            state = constraint.advance(state, token);
        }
        float[] done = new float[8]; // logits padded past the vocabulary
        assertEquals(1, constraint.mask(state, done));
        assertArrayEquals(new float[]{Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, Float.NEGATIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, done);
        float[] shorter = new float[3]; // fewer logits than the vocabulary: only those are counted
        assertEquals(1, constraint.mask(state, shorter));
    }

    @Test
    void aVocabularyThatCannotSpellTheGrammarReportsADeadEnd() throws Exception {
        // a vocabulary of letters only cannot write '{'
        java.nio.file.Files.writeString(dir.resolve("tokenizer.json"),
                "{\"model\": {\"vocab\": {\"a\": 0, \"b\": 1}}, \"decoder\": {\"type\": \"ByteLevel\"}}");
        TokenConstraint constraint = new TokenConstraint(JsonSchemaGrammar.of(
                "{\"type\": \"object\", \"properties\": {}}"), TokenBytes.of(dir, 3), new int[]{2});
        float[] logits = new float[3];
        assertEquals(0, constraint.mask(constraint.start(), logits));
        assertArrayEquals(new float[]{Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, logits);
    }
}
