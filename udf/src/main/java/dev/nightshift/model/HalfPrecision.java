package dev.nightshift.model;

/**
 * Conversions between float32 and the two 16-bit float formats found in checkpoints: IEEE binary16 (F16) and
 * bfloat16 (BF16). Java 17 has no {@code Float.float16ToFloat} (it arrived in Java 20), so these are written out.
 * Narrowing rounds to nearest, ties to even, like PyTorch's {@code tensor.half()} and {@code tensor.bfloat16()}.
 */
public final class HalfPrecision {

    /** Every binary16 bit pattern decoded once: 256 KiB buys a table look-up per value when reading F16 weights. */
    private static final float[] F16_TO_F32 = new float[1 << 16];

    static {
        for (int bits = 0; bits < F16_TO_F32.length; bits++) {
            F16_TO_F32[bits] = decodeF16(bits);
        }
    }

    private HalfPrecision() {
    }

    /** The float32 value of a binary16 bit pattern (exact: every F16 value is a float32 value). */
    public static float f16ToFloat(short bits) {
        return F16_TO_F32[bits & 0xFFFF];
    }

    /** The float32 value of a bfloat16 bit pattern: the upper half of a float32. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** The nearest binary16 value (ties to even); overflow gives infinity, NaN stays NaN. */
    public static short floatToF16(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int exponent = (bits >>> 23) & 0xFF;
        int mantissa = bits & 0x7F_FFFF;
        if (exponent == 0xFF) {
            return (short) (sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0));
        }
        int halfExponent = exponent - 127 + 15;
        if (halfExponent >= 0x1F) {
            return (short) (sign | 0x7C00);
        }
        if (halfExponent <= 0) {
            // Subnormal (or zero) in binary16: shift the mantissa, implicit bit included, into 10 bits.
            if (halfExponent < -10) {
                return (short) sign;
            }
            int full = mantissa | 0x80_0000;
            int shift = 14 - halfExponent;
            return (short) (sign | roundShift(full, shift));
        }
        // Normal: round the 23-bit mantissa to 10 bits; a carry into the exponent is the right answer.
        return (short) (sign | roundShift((halfExponent << 23) | mantissa, 13));
    }

    /** The nearest bfloat16 value (ties to even); NaN stays NaN. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** {@code value >> shift} rounded to nearest, ties to even. */
    private static int roundShift(int value, int shift) {
        int kept = value >>> shift;
        int rest = value & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        if (rest > half || (rest == half && (kept & 1) == 1)) {
            kept++;
        }
        return kept;
    }

    private static float decodeF16(int bits) {
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F80_0000 | (mantissa << 13));
        }
        if (exponent == 0) {
            float magnitude = mantissa * 0x1p-24f;
            return sign == 0 ? magnitude : -magnitude;
        }
        return Float.intBitsToFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
    }
}
