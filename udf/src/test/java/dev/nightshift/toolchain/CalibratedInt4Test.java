package dev.nightshift.toolchain;

import dev.nightshift.SharedFiles;
import dev.nightshift.model.Llama2cCheckpoint;
import dev.nightshift.model.LlamaConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPTQ-calibrated int4 conversions of stories260K ({@code --calibrate 2048}, self-generated calibration text, never
 * the reference sequences) against fp32, teacher-forced along the reference sequences as in
 * {@link PrecisionAgreementTest}, where round-to-nearest int4 measures 0.884.
 *
 * <p>The GPTQ-only bars sit below the figures printed for the fixed calibration seed because those move by about
 * ±1.5 points with the seed (docs/fidelity.md). The 95% is met by block 16 with zero points, GPTQ and
 * distillation refinement ({@code --block-size 16 --asymmetric --calibrate 2048 --refine 300}), whose lowest figure
 * over four calibration seeds is 96.5%.
 */
@org.junit.jupiter.api.Tag("compute")
class CalibratedInt4Test {

    static final int TOKENS = 2048;
    static final int REFINE_STEPS = 300;

    @TempDir
    static Path work;
    static LlamaConfig config;
    static List<List<Integer>> sequences;
    static LlamaOnnxWriter.WrittenModel fp32;
    static LlamaOnnxWriter.WrittenModel calibrated;
    static LlamaOnnxWriter.WrittenModel calibratedBlock16;
    static LlamaOnnxWriter.WrittenModel refined;

    @BeforeAll
    static void convert() throws Exception {
        sequences = PrecisionAgreementTest.referenceSequences();
        try (Llama2cCheckpoint checkpoint = Llama2cCheckpoint.open(SharedFiles.stories260K())) {
            config = checkpoint.config();
            fp32 = new LlamaOnnxWriter(checkpoint, ConversionOptions.of(Precision.FP32), null)
                    .write(Files.createDirectories(work.resolve("fp32")));
            calibrated = convert(checkpoint, ConversionOptions.of(Precision.INT4).withCalibrationTokens(TOKENS), "int4-gptq");
            calibratedBlock16 = convert(checkpoint, ConversionOptions.of(Precision.INT4).withBlockSize(16).withSymmetric(false)
                    .withCalibrationTokens(TOKENS), "int4-gptq-b16-asym");
            refined = convert(checkpoint, ConversionOptions.of(Precision.INT4).withBlockSize(16).withSymmetric(false)
                    .withCalibrationTokens(TOKENS).withRefineSteps(REFINE_STEPS), "int4-gptq-refined-b16-asym");
        }
    }

    private static LlamaOnnxWriter.WrittenModel convert(Llama2cCheckpoint checkpoint, ConversionOptions options, String name)
            throws Exception {
        long started = System.nanoTime();
        // The converter's quantize and write steps, without the tokenizer files these tests do not need.
        LlamaOnnxWriter.WrittenModel model = new LlamaOnnxWriter(checkpoint, options, null)
                .write(Files.createDirectories(work.resolve(name)), WeightQuantization.calibrate(checkpoint, options, null));
        System.out.printf("stories260K %s: converted with %d calibration tokens in %.1f s%n", name, TOKENS,
                (System.nanoTime() - started) / 1e9);
        return model;
    }

    @Test
    void calibratedInt4Block32AgreesWithFp32AtLeast92Percent() throws Exception {
        // 0.935 at the fixed seed; 0.927-0.944 means over six seeds at 2048-4096 tokens.
        double rate = PrecisionAgreementTest.agreement(sequences, config, fp32.folder(), calibrated.folder(),
                "int4 gptq block 32 (--calibrate " + TOKENS + ")");
        assertTrue(rate >= 0.92, "agreement " + rate);
    }

    @Test
    void calibratedInt4Block16AsymmetricAgreesWithFp32AtLeast94Percent() throws Exception {
        // 0.957 at the fixed seed; 0.945 mean (0.919-0.974) over six seeds.
        double rate = PrecisionAgreementTest.agreement(sequences, config, fp32.folder(), calibratedBlock16.folder(),
                "int4 gptq block 16 asymmetric (--calibrate " + TOKENS + ")");
        assertTrue(rate >= 0.94, "agreement " + rate);
    }

    @Test
    void refinedInt4Block16AsymmetricAgreesWithFp32AtLeast95Percent() throws Exception {
        // 0.978 at the fixed seed; 0.965-0.984 over four calibration seeds (docs/fidelity.md).
        double rate = PrecisionAgreementTest.agreement(sequences, config, fp32.folder(), refined.folder(),
                "int4 block 16 asymmetric, gptq + distillation (--calibrate " + TOKENS + " --refine " + REFINE_STEPS + ")");
        assertTrue(rate >= 0.95, "agreement " + rate);
        assertEquals("gptq+distillation", refined.metadata().get("nightshift.quantization"));
        assertEquals(Integer.toString(REFINE_STEPS), refined.metadata().get("nightshift.refine_steps"));
        // Refinement trains the block scales: the same tensors, the same bytes as GPTQ alone.
        assertEquals(calibratedBlock16.bytesByKind(), refined.bytesByKind());
        long packed = refined.bytesByKind().get("matrices") + refined.bytesByKind().get("scales");
        double ratio = (double) fp32.bytesByKind().get("matrices") / packed;
        System.out.printf("stories260K int4 block 16 asymmetric matrices+scales+zero points: %d bytes, 1/%.2f of fp32%n",
                packed, ratio);
        // Per block of 16 weights: 8 bytes of codes, a float scale, half a byte of zero point (w2's K=172 pads to 176).
        assertTrue(ratio > 64 / 12.5 * 0.95, "size ratio 1/" + ratio);
    }

    @Test
    void calibrationIsRecordedAndKeepsTheLayout() throws Exception {
        assertEquals("gptq", calibrated.metadata().get("nightshift.quantization"));
        assertEquals(Integer.toString(TOKENS), calibrated.metadata().get("nightshift.calibration_tokens"));
        LlamaOnnxWriter.WrittenModel plain;
        try (Llama2cCheckpoint checkpoint = Llama2cCheckpoint.open(SharedFiles.stories260K())) {
            plain = new LlamaOnnxWriter(checkpoint, ConversionOptions.of(Precision.INT4), null)
                    .write(Files.createDirectories(work.resolve("int4-plain")));
        }
        assertFalse(plain.metadata().containsKey("nightshift.calibration_tokens"));
        // Same MatMulNBits tensors, same sizes: only the codes and scales differ.
        assertEquals(plain.bytesByKind(), calibrated.bytesByKind());
    }
}
