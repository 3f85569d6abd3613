package dev.nightshift.toolchain;

import java.util.Arrays;
import java.util.Locale;

/** Weight precision of a converted model. */
public enum Precision {
    /** Everything float32: the reference-exact path. */
    FP32(0),
    /** Weights, activations and KV cache in float16: the CUDA path (CUDA's GroupQueryAttention has no fp32 kernel). */
    FP16(0),
    /** Matrices as 8-bit blocks (MatMulNBits), activations float32, embeddings float16. */
    INT8(8),
    /** Matrices as 4-bit blocks (MatMulNBits), activations float32, embeddings float16. */
    INT4(4);

    private final int bits;

    Precision(int bits) {
        this.bits = bits;
    }

    /** Bits per quantized weight, or 0 for the float precisions. */
    public int bits() {
        return bits;
    }

    public boolean quantized() {
        return bits > 0;
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Precision parse(String text) {
        for (Precision precision : values()) {
            if (precision.id().equalsIgnoreCase(text.trim())) {
                return precision;
            }
        }
        throw new IllegalArgumentException("unknown precision '" + text + "'; use one of "
                + Arrays.toString(Arrays.stream(values()).map(Precision::id).toArray()));
    }
}
