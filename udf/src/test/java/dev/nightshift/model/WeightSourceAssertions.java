package dev.nightshift.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;

/** Test helper: compares two weight sources tensor by tensor. */
public final class WeightSourceAssertions {

    private WeightSourceAssertions() {
    }

    /** Every canonical tensor of {@code expected} has the same shape in {@code actual} and equal values after rounding. */
    public static void assertSameWeights(WeightSource expected, WeightSource actual, String dtype) {
        Map<String, int[]> shapes = CanonicalTensors.shapes(expected.config());
        for (Map.Entry<String, int[]> entry : shapes.entrySet()) {
            String name = entry.getKey();
            Tensor tensor = actual.tensor(name);
            assertEquals(entry.getValue()[0], tensor.rows(), name + " rows");
            assertEquals(entry.getValue()[1], tensor.cols(), name + " cols");
            float[] want = expected.tensor(name).toArray();
            for (int i = 0; i < want.length; i++) {
                want[i] = HuggingFaceWriter.rounded(dtype, want[i]);
            }
            assertArrayEquals(want, tensor.toArray(), name + " of " + actual.description());
        }
    }
}
