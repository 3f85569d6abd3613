package dev.nightshift.toolchain;

import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.model.ReferenceLlama;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * fp32 ONNX graphs of random Llamas of several shapes compute what the plain-Java reference
 * forward pass computes, on a multi-token prefill and on decode steps over the KV cache.
 */
class RandomModelFidelityTest {

    @TempDir
    Path work;

    static Stream<Arguments> shapes() {
        return Stream.of(
                // name, dim, hidden, layers, heads, kvHeads, headDim, vocab, interleaved, tied, rope scaling
                Arguments.of("MHA interleaved tied, head 8 (rotary outside GQA)", 64, 160, 2, 8, 8, 8, 300, true, true, false),
                Arguments.of("GQA interleaved untied, head 16 (fused rotary)", 64, 128, 2, 4, 2, 16, 256, true, false, false),
                Arguments.of("GQA rotate-half tied, head 32, llama3 scaling", 128, 344, 3, 4, 1, 32, 512, false, true, true),
                Arguments.of("GQA rotate-half untied, head 16, headDim != dim/heads", 48, 96, 2, 6, 3, 16, 200, false, false, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void onnxMatchesReferenceOnPrefillAndDecode(String name, int dim, int hidden, int layers, int heads, int kvHeads,
                                                int headDim, int vocab, boolean interleaved, boolean tied,
                                                boolean scaled) throws Exception {
        LlamaConfig config = new LlamaConfig(dim, hidden, layers, heads, kvHeads, headDim, vocab, 128, 1e-5f,
                scaled ? 500000 : 10000, scaled ? new LlamaConfig.RopeScaling(8, 1, 4, 32) : null,
                interleaved, tied, 1, new int[]{2});
        RandomWeights weights = new RandomWeights(config, 7);
        Path folder = Files.createDirectories(work.resolve("model"));
        new LlamaOnnxWriter(weights, ConversionOptions.of(Precision.FP32), null).write(folder);

        ReferenceLlama reference = new ReferenceLlama(weights, 128);
        Random random = new Random(11);
        int[] prompt = random.ints(9, 0, vocab).toArray();
        float[] expected = null;
        for (int pos = 0; pos < prompt.length; pos++) {
            expected = reference.forward(prompt[pos], pos);
        }
        try (OnnxLlama onnx = new OnnxLlama(folder, layers, kvHeads, headDim)) {
            float[] actual = onnx.forward(prompt);
            assertClose(expected, actual, "prefill");
            int pos = prompt.length;
            for (int step = 0; step < 6; step++) {
                int next = random.nextInt(vocab);
                assertClose(reference.forward(next, pos), onnx.forward(next), "decode step " + step);
                pos++;
            }
        }
    }

    private static void assertClose(float[] expected, float[] actual, String where) {
        assertEquals(expected.length, actual.length, where + ": vocab");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-4, where + ": logit " + i);
        }
    }
}
