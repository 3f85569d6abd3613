package dev.nightshift.toolchain;

/**
 * How to write a model.
 *
 * @param precision         weight precision
 * @param blockSize         MatMulNBits block size along the input dimension (power of two, at least 16)
 * @param symmetric         symmetric quantization (no zero points) or asymmetric (min/max with zero points)
 * @param accuracyLevel     MatMulNBits accuracy_level: 4 lets the CPU quantize activations to int8 (the fast path), 0 leaves it to the provider
 * @param contextLength     KV cache and rotary table length; 0 keeps the checkpoint's
 * @param calibrationTokens tokens of self-generated text whose activations drive GPTQ-style error-compensating
 *                          quantization ({@link GptqQuantizer}); 0 (the default) quantizes each block to nearest
 * @param headBits          bits of the quantized output projection (lm_head): 8 by default, as llama.cpp keeps its
 *                          output tensor at higher precision; 4 trades some accuracy for a quarter less weight traffic
 * @param refineSteps       after GPTQ, steps of {@link DistillationRefiner} (block scales and norm weights trained so
 *                          that the quantized model's next-token distributions match the float32 model's); 0 = none
 */
public record ConversionOptions(Precision precision, int blockSize, boolean symmetric, int accuracyLevel,
                                int contextLength, int calibrationTokens, int headBits, int refineSteps) {

    public ConversionOptions {
        if (precision == null) {
            throw new IllegalArgumentException("precision is required");
        }
        if (blockSize < 16 || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("block size must be a power of two of at least 16, got " + blockSize);
        }
        if (accuracyLevel < 0 || accuracyLevel > 4) {
            throw new IllegalArgumentException("accuracy level must be 0..4, got " + accuracyLevel);
        }
        if (contextLength < 0) {
            throw new IllegalArgumentException("context length must not be negative, got " + contextLength);
        }
        if (calibrationTokens < 0) {
            throw new IllegalArgumentException("calibration tokens must not be negative, got " + calibrationTokens);
        }
        if (headBits != 4 && headBits != 8) {
            throw new IllegalArgumentException("lm_head bits must be 4 or 8, got " + headBits);
        }
        if (calibrationTokens > 0 && !precision.quantized()) {
            throw new IllegalArgumentException("calibration only applies to int4 and int8, not " + precision.id());
        }
        if (refineSteps < 0) {
            throw new IllegalArgumentException("refinement steps must not be negative, got " + refineSteps);
        }
        if (refineSteps > 0 && calibrationTokens == 0) {
            throw new IllegalArgumentException("refinement starts from a calibrated model: give calibration tokens too "
                    + "(--calibrate N with --refine STEPS)");
        }
    }

    /** Without calibration. */
    public ConversionOptions(Precision precision, int blockSize, boolean symmetric, int accuracyLevel, int contextLength) {
        this(precision, blockSize, symmetric, accuracyLevel, contextLength, 0, 8, 0);
    }

    /** Without refinement. */
    public ConversionOptions(Precision precision, int blockSize, boolean symmetric, int accuracyLevel, int contextLength,
                             int calibrationTokens, int headBits) {
        this(precision, blockSize, symmetric, accuracyLevel, contextLength, calibrationTokens, headBits, 0);
    }

    /** With an 8-bit lm_head. */
    public ConversionOptions(Precision precision, int blockSize, boolean symmetric, int accuracyLevel, int contextLength,
                             int calibrationTokens) {
        this(precision, blockSize, symmetric, accuracyLevel, contextLength, calibrationTokens, 8, 0);
    }

    /** Defaults for CPU: block 32, symmetric, accuracy level 4, the checkpoint's context length, no calibration. */
    public static ConversionOptions of(Precision precision) {
        return new ConversionOptions(precision, 32, true, 4, 0, 0, 8, 0);
    }

    public ConversionOptions withBlockSize(int size) {
        return new ConversionOptions(precision, size, symmetric, accuracyLevel, contextLength, calibrationTokens, headBits, refineSteps);
    }

    public ConversionOptions withSymmetric(boolean value) {
        return new ConversionOptions(precision, blockSize, value, accuracyLevel, contextLength, calibrationTokens, headBits, refineSteps);
    }

    public ConversionOptions withAccuracyLevel(int level) {
        return new ConversionOptions(precision, blockSize, symmetric, level, contextLength, calibrationTokens, headBits, refineSteps);
    }

    public ConversionOptions withContextLength(int length) {
        return new ConversionOptions(precision, blockSize, symmetric, accuracyLevel, length, calibrationTokens, headBits, refineSteps);
    }

    public ConversionOptions withHeadBits(int bits) {
        return new ConversionOptions(precision, blockSize, symmetric, accuracyLevel, contextLength, calibrationTokens, bits, refineSteps);
    }

    public ConversionOptions withCalibrationTokens(int tokens) {
        return new ConversionOptions(precision, blockSize, symmetric, accuracyLevel, contextLength, tokens, headBits, refineSteps);
    }

    public ConversionOptions withRefineSteps(int steps) {
        return new ConversionOptions(precision, blockSize, symmetric, accuracyLevel, contextLength, calibrationTokens, headBits, steps);
    }
}
