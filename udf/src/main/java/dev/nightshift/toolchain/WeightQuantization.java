package dev.nightshift.toolchain;

import dev.nightshift.model.WeightSource;

/**
 * The middle step of the toolchain's pipeline, read → <b>quantize</b> → write ({@link ModelConverter}): which
 * quantization a conversion asks for, the block quantizers it uses, and the calibrated matrices when it asks for
 * more than rounding.
 *
 * <ul>
 *   <li>{@link Method#NONE} (fp32, fp16) and {@link Method#ROUND_TO_NEAREST} (int4/int8 without calibration) need no
 *       pass of their own: {@link LlamaOnnxWriter} rounds each block as it streams the weights, so a model larger than
 *       memory converts a block of rows at a time.</li>
 *   <li>{@link Method#GPTQ}: {@link CalibrationForward} samples text from the float model and quantizes every linear
 *       with GPTQ's error compensation, holding the matrices in memory.</li>
 *   <li>{@link Method#GPTQ_DISTILLATION}: GPTQ, then {@link DistillationRefiner} trains the block scales and norm
 *       weights towards the float model's next-token distributions, on a longer sample of which GPTQ's is the prefix.</li>
 * </ul>
 */
public final class WeightQuantization {

    /** The quantization methods, in the order each builds on the previous. */
    public enum Method {
        NONE, ROUND_TO_NEAREST, GPTQ, GPTQ_DISTILLATION
    }

    private WeightQuantization() {
    }

    /** The method {@code options} ask for. */
    public static Method method(ConversionOptions options) {
        if (!options.precision().quantized()) {
            return Method.NONE;
        }
        if (options.calibrationTokens() == 0) {
            return Method.ROUND_TO_NEAREST;
        }
        return options.refineSteps() > 0 ? Method.GPTQ_DISTILLATION : Method.GPTQ;
    }

    /** The quantizer of the layer matrices, or null for fp32/fp16. */
    public static BlockQuantizer layers(ConversionOptions options) {
        return options.precision().quantized()
                ? new BlockQuantizer(options.precision().bits(), options.blockSize(), options.symmetric()) : null;
    }

    /**
     * The quantizer of the output projection (lm_head), or null for fp32/fp16. It stays at 8 bits by default (as
     * llama.cpp's Q4 mixes keep their output tensor at 6): it decides every token. int8 models never go below 8.
     */
    public static BlockQuantizer head(ConversionOptions options) {
        return options.precision().quantized()
                ? new BlockQuantizer(Math.max(options.headBits(), options.precision().bits()), options.blockSize(),
                        options.symmetric()) : null;
    }

    /**
     * Runs the calibrated methods: the GPTQ (and refined) matrices for {@link Method#GPTQ} and
     * {@link Method#GPTQ_DISTILLATION}; null for the others, whose rounding happens while writing.
     *
     * @throws IllegalArgumentException when the model is too large for an in-memory calibration (names the limit)
     */
    public static CalibrationForward.Result calibrate(WeightSource source, ConversionOptions options,
                                                      ConversionListener listener) {
        BlockQuantizer layers = layers(options);
        BlockQuantizer head = head(options);
        return switch (method(options)) {
            case NONE, ROUND_TO_NEAREST -> null;
            case GPTQ -> CalibrationForward.quantize(source, options.calibrationTokens(), layers, head, listener);
            case GPTQ_DISTILLATION -> {
                DistillationRefiner.checkSize(source.config());
                CalibrationForward.Calibrated gptq = CalibrationForward.quantizeKeepingText(source,
                        options.calibrationTokens(), Math.max(options.calibrationTokens(), DistillationRefiner.TEXT_TOKENS),
                        layers, head, listener);
                yield DistillationRefiner.refine(gptq, options.refineSteps(), layers, head, listener);
            }
        };
    }
}
