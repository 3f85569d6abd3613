package dev.nightshift.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.SharedFiles;
import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ReferenceLlamaTest {

    @Test
    void reproducesLlama2cGreedyTokensAndLogitsOnStories260K() throws IOException {
        JsonNode reference = new ObjectMapper().readTree(SharedFiles.storiesReference().toFile());
        try (WeightSource model = Llama2cCheckpoint.open(SharedFiles.stories260K())) {
            ReferenceLlama llama = new ReferenceLlama(model);
            for (JsonNode testCase : reference.get("cases")) {
                String name = "prompt \"" + testCase.get("prompt").asText() + "\"";
                int[] prompt = ints(testCase.get("prompt_ids"));
                int[] expected = ints(testCase.get("generated_ids"));
                int token = prompt[0];
                int[] generated = new int[expected.length];
                for (int pos = 0; pos < prompt.length - 1 + expected.length; pos++) {
                    float[] logits = llama.forward(token, pos);
                    for (JsonNode debug : testCase.get("logits_debug")) {
                        if (debug.get("pos").asInt() == pos) {
                            assertEquals(debug.get("input_token").asInt(), token, name + " input at " + pos);
                            assertArrayEquals(floats(debug.get("first8")), java.util.Arrays.copyOf(logits, 8), 1e-5f,
                                    name + " logits at position " + pos);
                        }
                    }
                    if (pos == 0 && testCase.has("full_logits_pos0")) {
                        assertArrayEquals(floats(testCase.get("full_logits_pos0")), logits, 1e-5f, name + " pos 0");
                    }
                    token = pos + 1 < prompt.length ? prompt[pos + 1] : ReferenceLlama.argmax(logits);
                    if (pos + 1 >= prompt.length) {
                        generated[pos + 1 - prompt.length] = token;
                    }
                }
                assertArrayEquals(expected, generated, name);
                assertArrayEquals(expected, llama.generateGreedy(prompt, expected.length), name + " generateGreedy");
            }
        }
    }

    @Test
    void rotateHalfWeightsGiveTheSameLogitsAsInterleavedOnes() {
        LlamaConfig interleaved = Llama2cWriter.config(64, 96, 2, 4, 2, 128, 64, true);
        WeightSource source = new RandomWeights(interleaved, 3);
        ReferenceLlama original = new ReferenceLlama(source);
        ReferenceLlama permuted = new ReferenceLlama(new RotateHalfView(source));
        int[] tokens = {1, 17, 99, 5, 5, 42, 127, 0};
        for (int pos = 0; pos < tokens.length; pos++) {
            assertArrayEquals(original.forward(tokens[pos], pos), permuted.forward(tokens[pos], pos), 1e-4f,
                    "position " + pos);
        }
    }

    @Test
    void randomWeightsGiveVariedGreedyTokens() {
        LlamaConfig config = new LlamaConfig(64, 160, 3, 8, 2, 12, 256, 128, 1e-5f, 500000.0,
                new LlamaConfig.RopeScaling(8.0, 1.0, 4.0, 32), false, true, 1, new int[] {2});
        int[] generated = new ReferenceLlama(new RandomWeights(config, 11)).generateGreedy(new int[] {1, 50, 60}, 40);
        Set<Integer> distinct = new HashSet<>();
        for (int id : generated) {
            distinct.add(id);
        }
        assertTrue(distinct.size() >= 8, "greedy tokens of a random model should vary: "
                + java.util.Arrays.toString(generated));
    }

    @Test
    void llama3ScalingKeepsHighFrequenciesAndSlowsLowOnes() {
        LlamaConfig plain = new LlamaConfig(2048, 8192, 1, 32, 8, 64, 100, 131072, 1e-5f, 500000.0, null, false, true,
                1, new int[] {2});
        LlamaConfig scaled = RandomWeights.llama32OneB();
        float[] base = ReferenceLlama.inverseFrequencies(plain);
        float[] adjusted = ReferenceLlama.inverseFrequencies(scaled);
        assertEquals(base[0], adjusted[0]); // wavelength 2π < 8192/4: kept
        assertEquals(base[31] / 32, adjusted[31], 1e-12f); // wavelength far above 8192: divided by the factor
        for (int i = 1; i < 32; i++) {
            assertTrue(adjusted[i] <= base[i] && adjusted[i] >= base[i] / 32 && adjusted[i] < adjusted[i - 1]);
        }
    }

    private static int[] ints(JsonNode array) {
        int[] values = new int[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.get(i).asInt();
        }
        return values;
    }

    private static float[] floats(JsonNode array) {
        float[] values = new float[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) array.get(i).asDouble();
        }
        return values;
    }
}
