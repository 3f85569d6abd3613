package dev.nightshift.toolchain;

import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The refiner's hand-written backward pass (attention, rotary, RMSNorm, SwiGLU, residuals, lm_head) against central
 * differences of its own forward pass, for weights of every kind of linear. (The end-to-end effect on stories260K is
 * in {@link CalibratedInt4Test}.)
 */
class DistillationRefinerTest {

    @ParameterizedTest(name = "interleaved rotary: {0}")
    @ValueSource(booleans = {true, false})
    void backwardPassMatchesFiniteDifferences(boolean interleaved) {
        // GQA 4 heads over 2 KV heads, head size 16, untied: every path of the backward pass is exercised.
        LlamaConfig config = new LlamaConfig(64, 128, 2, 4, 2, 16, 256, 128, 1e-5f, 10000, null, interleaved, false, 1,
                new int[]{2});
        RandomWeights weights = new RandomWeights(config, 7);
        BlockQuantizer quantizer = new BlockQuantizer(4, 16, true);
        BlockQuantizer head = new BlockQuantizer(8, 16, true);
        CalibrationForward.Result result = CalibrationForward.quantize(weights, 64, quantizer, head, null);
        DistillationRefiner refiner = new DistillationRefiner(CalibrationForward.weightsOf(weights), result.matrices(),
                quantizer, head);
        int[] sequence = new SplittableRandom(3).ints(12, 0, config.vocabSize()).toArray();
        SplittableRandom random = new SplittableRandom(5);
        for (String name : List.of("lm_head", "layers.0.qkv", "layers.1.qkv", "layers.0.wo", "layers.1.gate_up",
                "layers.0.w2", "layers.1.w2")) {
            GptqQuantizer.Matrix matrix = result.matrix(name);
            for (int trial = 0; trial < 4; trial++) {
                int index = random.nextInt(matrix.n() * matrix.k());
                double[] derivative = refiner.derivative(sequence, name, index, 1e-2f);
                assertEquals(derivative[1], derivative[0], 0.03 * Math.abs(derivative[1]) + 2e-5,
                        name + "[" + index + "]: analytic vs numeric");
            }
        }
    }

    @Test
    void gptqSeesTheSameTextWhetherOrNotRefinementSamplesMore() {
        LlamaConfig config = new LlamaConfig(32, 64, 1, 2, 1, 16, 64, 128, 1e-5f, 10000, null, true, true, 1, new int[]{2});
        RandomWeights weights = new RandomWeights(config, 11);
        List<int[]> alone = CalibrationForward.calibrationText(weights, 300);
        List<int[]> prefix = CalibrationForward.prefix(CalibrationForward.calibrationText(weights, 1000), 300);
        assertEquals(alone.size(), prefix.size());
        for (int i = 0; i < alone.size(); i++) {
            assertArrayEquals(alone.get(i), prefix.get(i), "sequence " + i);
        }
        assertEquals(300, prefix.stream().mapToInt(s -> s.length).sum());
    }
}
