package dev.nightshift.toolchain;

/**
 * How to write a model.
 *
 * @param precision     weight precision
 * @param blockSize     MatMulNBits block size along the input dimension (power of two, at least 16)
 * @param symmetric     symmetric quantization (no zero points) or asymmetric (min/max with zero points)
 * @param accuracyLevel MatMulNBits accuracy_level: 4 lets the CPU quantize activations to int8 (the fast path), 0 leaves it to the provider
 * @param contextLength KV cache and rotary table length; 0 keeps the checkpoint's
 */
public record ConversionOptions(Precision precision, int blockSize, boolean symmetric, int accuracyLevel,
                                int contextLength) {

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
    }

    /** Defaults for CPU: block 32, symmetric, accuracy level 4, the checkpoint's context length. */
    public static ConversionOptions of(Precision precision) {
        return new ConversionOptions(precision, 32, true, 4, 0);
    }

    public ConversionOptions withBlockSize(int size) {
        return new ConversionOptions(precision, size, symmetric, accuracyLevel, contextLength);
    }

    public ConversionOptions withSymmetric(boolean value) {
        return new ConversionOptions(precision, blockSize, value, accuracyLevel, contextLength);
    }

    public ConversionOptions withAccuracyLevel(int level) {
        return new ConversionOptions(precision, blockSize, symmetric, level, contextLength);
    }

    public ConversionOptions withContextLength(int length) {
        return new ConversionOptions(precision, blockSize, symmetric, accuracyLevel, length);
    }
}
