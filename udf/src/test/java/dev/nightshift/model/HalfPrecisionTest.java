package dev.nightshift.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class HalfPrecisionTest {

    @Test
    void narrowsToF16LikeNumpy() {
        // Expected bits from numpy's float32 -> float16 cast.
        float[] values = {1.0f, 65504.0f, 65519.99f, 65520.0f, 0x1p-24f, 0x1p-25f, 3 * 0x1p-26f, 1 + 0x1p-11f,
            1 + 3 * 0x1p-11f, 0.1f, -2.0f, 6.1e-5f, 1e-8f, -0.0f, 3.14159265f, -1234.5678f, 0x1p-14f,
            0x1p-14f * (1 - 0x1p-11f), Float.POSITIVE_INFINITY};
        int[] expected = {0x3c00, 0x7bff, 0x7bff, 0x7c00, 0x1, 0x0, 0x1, 0x3c00, 0x3c02, 0x2e66, 0xc000, 0x3ff, 0x0,
            0x8000, 0x4248, 0xe4d3, 0x400, 0x400, 0x7c00};
        for (int i = 0; i < values.length; i++) {
            assertEquals(expected[i], HalfPrecision.floatToF16(values[i]) & 0xFFFF, "f16 of " + values[i]);
        }
        assertTrue(Float.isNaN(HalfPrecision.f16ToFloat(HalfPrecision.floatToF16(Float.NaN))));
    }

    @Test
    void everyF16ValueSurvivesARoundTrip() {
        for (int bits = 0; bits < 1 << 16; bits++) {
            float value = HalfPrecision.f16ToFloat((short) bits);
            if (!Float.isNaN(value)) {
                assertEquals(bits, HalfPrecision.floatToF16(value) & 0xFFFF, "bits " + Integer.toHexString(bits));
            }
        }
        assertEquals(0x1p-24f, HalfPrecision.f16ToFloat((short) 1));
        assertEquals(65504.0f, HalfPrecision.f16ToFloat((short) 0x7bff));
        assertEquals(-2.0f, HalfPrecision.f16ToFloat((short) 0xc000));
    }

    @Test
    void f16NarrowingPicksTheNearestValue() {
        SplittableRandom random = new SplittableRandom(5);
        for (int i = 0; i < 100_000; i++) {
            float value = (float) (random.nextDouble(-1, 1) * Math.pow(2, random.nextInt(-26, 16)));
            short bits = HalfPrecision.floatToF16(value);
            float error = Math.abs(HalfPrecision.f16ToFloat(bits) - value);
            for (int neighbour : new int[] {bits - 1, bits + 1}) {
                float other = HalfPrecision.f16ToFloat((short) neighbour);
                if (Math.signum(other) == Math.signum(value) && !Float.isInfinite(other)) {
                    assertTrue(error <= Math.abs(other - value), value + " narrowed to " + bits);
                }
            }
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals(0x3f80, HalfPrecision.floatToBf16(1.0f) & 0xFFFF);
        assertEquals(0x3dcd, HalfPrecision.floatToBf16(0.1f) & 0xFFFF);
        assertEquals(0x4049, HalfPrecision.floatToBf16(3.14159265f) & 0xFFFF);
        assertEquals(0x3f80, HalfPrecision.floatToBf16(1 + 0x1p-8f) & 0xFFFF); // tie: even
        assertEquals(0x3f82, HalfPrecision.floatToBf16(1 + 3 * 0x1p-8f) & 0xFFFF); // tie: even
        assertEquals(1.0f, HalfPrecision.bf16ToFloat((short) 0x3f80));
        assertEquals(-2.0f, HalfPrecision.bf16ToFloat((short) 0xc000));
        assertTrue(Float.isNaN(HalfPrecision.bf16ToFloat(HalfPrecision.floatToBf16(Float.NaN))));
    }
}
