package dev.nightshift.toolchain;

import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The quantize step of the converter's pipeline: which method the options ask for, and what each one hands the writer. */
class WeightQuantizationTest {

    private static final LlamaConfig TINY = new LlamaConfig(32, 64, 1, 2, 1, 16, 64, 128, 1e-5f, 10000, null, true, true,
            1, new int[]{2});

    @TempDir
    Path work;

    @Test
    void theOptionsChooseTheMethod() {
        assertEquals(WeightQuantization.Method.NONE, WeightQuantization.method(ConversionOptions.of(Precision.FP32)));
        assertEquals(WeightQuantization.Method.NONE, WeightQuantization.method(ConversionOptions.of(Precision.FP16)));
        ConversionOptions int4 = ConversionOptions.of(Precision.INT4);
        assertEquals(WeightQuantization.Method.ROUND_TO_NEAREST, WeightQuantization.method(int4));
        assertEquals(WeightQuantization.Method.GPTQ, WeightQuantization.method(int4.withCalibrationTokens(64)));
        assertEquals(WeightQuantization.Method.GPTQ_DISTILLATION,
                WeightQuantization.method(int4.withCalibrationTokens(64).withRefineSteps(2)));
        assertNull(WeightQuantization.layers(ConversionOptions.of(Precision.FP16)));
        // int8 models keep lm_head at 8 bits even when 4 are asked for; int4 ones follow headBits
        assertEquals(8, WeightQuantization.head(ConversionOptions.of(Precision.INT8)).bits());
        assertEquals(4, WeightQuantization.layers(int4).bits());
    }

    @Test
    void roundingNeedsNoPassOfItsOwn() {
        RandomWeights weights = new RandomWeights(TINY, 3);
        assertNull(WeightQuantization.calibrate(weights, ConversionOptions.of(Precision.INT4), null));
        assertNull(WeightQuantization.calibrate(weights, ConversionOptions.of(Precision.FP32), null));
    }

    @Test
    void gptqThenDistillationRefinesTheSameMatricesGptqAloneMakes() {
        RandomWeights weights = new RandomWeights(TINY, 3);
        ConversionOptions gptq = ConversionOptions.of(Precision.INT4).withBlockSize(16).withCalibrationTokens(64);
        CalibrationForward.Result alone = WeightQuantization.calibrate(weights, gptq, null);
        CalibrationForward.Result refined = WeightQuantization.calibrate(weights, gptq.withRefineSteps(2), null);
        assertEquals(0, alone.refineSteps());
        assertEquals(2, refined.refineSteps());
        assertEquals(alone.tokens(), refined.tokens());
        assertEquals(alone.matrices().keySet(), refined.matrices().keySet());
        boolean trained = false;
        for (String name : alone.matrices().keySet()) {
            GptqQuantizer.Matrix a = alone.matrix(name);
            GptqQuantizer.Matrix r = refined.matrix(name);
            // Refinement trains scales; the codes GPTQ chose stay, so GPTQ saw the same text in both runs.
            assertArrayEquals(a.packed(), r.packed(), name + " codes");
            assertEquals(a.scales().length, r.scales().length, name);
            trained |= !java.util.Arrays.equals(a.scales(), r.scales());
        }
        assertTrue(trained, "refinement changed no scale");
    }

    @Test
    void theWriterRefusesOptionsAndMatricesThatDisagree() throws Exception {
        RandomWeights weights = new RandomWeights(TINY, 3);
        ConversionOptions gptq = ConversionOptions.of(Precision.INT4).withBlockSize(16).withCalibrationTokens(64);
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> new LlamaOnnxWriter(weights, gptq, null).write(work));
        assertTrue(missing.getMessage().contains("WeightQuantization.calibrate"), missing.getMessage());
        CalibrationForward.Result matrices = WeightQuantization.calibrate(weights, gptq, null);
        assertNotNull(matrices);
        IllegalArgumentException extra = assertThrows(IllegalArgumentException.class,
                () -> new LlamaOnnxWriter(weights, ConversionOptions.of(Precision.INT4), null).write(work, matrices));
        assertTrue(extra.getMessage().contains("ROUND_TO_NEAREST"), extra.getMessage());
        LlamaOnnxWriter.WrittenModel written = new LlamaOnnxWriter(weights, gptq, null).write(work, matrices);
        assertEquals("gptq", written.metadata().get("nightshift.quantization"));
    }
}
