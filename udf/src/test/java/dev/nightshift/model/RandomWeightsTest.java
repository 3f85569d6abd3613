package dev.nightshift.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class RandomWeightsTest {

    private static final LlamaConfig SMALL = Llama2cWriter.config(64, 96, 2, 8, 4, 100, 32, false);
    private static final LlamaConfig TIED = Llama2cWriter.config(32, 48, 1, 4, 4, 20, 16, true);

    @Test
    void sameSeedGivesTheSameRowsWhicheverWayTheyAreRead() {
        Tensor all = new RandomWeights(SMALL, 7).tensor("layers.1.w2");
        Tensor again = new RandomWeights(SMALL, 7).tensor("layers.1.w2");
        float[] whole = all.toArray();
        float[] pieces = new float[whole.length];
        int cols = again.cols();
        for (int row = again.rows() - 1; row >= 0; row -= 5) { // backwards, in blocks of up to 5 rows
            int first = Math.max(0, row - 4);
            again.readRows(first, row - first + 1, pieces, first * cols);
        }
        assertArrayEquals(whole, pieces);
        assertEquals(96, cols);
        float[] oddWidth = new RandomWeights(Llama2cWriter.config(64, 97, 1, 8, 4, 100, 32, true), 3)
                .tensor("layers.0.w2").toArray();
        assertTrue(Float.isFinite(oddWidth[96]) && oddWidth[96] != 0);
    }

    @Test
    void differentSeedsAndNamesDiffer() {
        float[] a = new RandomWeights(SMALL, 1).tensor("layers.0.wq").toArray();
        float[] b = new RandomWeights(SMALL, 2).tensor("layers.0.wq").toArray();
        float[] c = new RandomWeights(SMALL, 1).tensor("layers.1.wq").toArray();
        assertFalse(Arrays.equals(a, b));
        assertFalse(Arrays.equals(a, c));
        float[] rows = new float[2 * 64];
        new RandomWeights(SMALL, 1).tensor("layers.0.wq").readRows(0, 2, rows, 0);
        assertFalse(Arrays.equals(Arrays.copyOf(rows, 64), Arrays.copyOfRange(rows, 64, 128)));
    }

    @Test
    void scalesSuitAnInitializedModel() {
        RandomWeights weights = new RandomWeights(SMALL, 4);
        float[] matrix = weights.tensor("layers.0.w1").toArray();
        assertEquals(1 / Math.sqrt(64), std(matrix, 0), 0.1 / Math.sqrt(64));
        float[] norm = weights.tensor("layers.0.ffn_norm").toArray();
        for (float value : norm) {
            assertTrue(value >= 0.9f && value <= 1.1f, "norm weight " + value);
        }
        assertEquals(1.0, Arrays.stream(toDoubles(norm)).average().orElseThrow(), 0.05);
        assertEquals(1 / Math.sqrt(64), std(weights.tensor("tok_embeddings").toArray(), 0), 0.01);
        assertThrows(IllegalArgumentException.class, () -> weights.tensor("layers.2.wq"));
        assertThrows(IllegalArgumentException.class, () -> new RandomWeights(TIED, 1).tensor("output"));
    }

    @Test
    void streamsTheLlama32OneBShape() {
        RandomWeights weights = new RandomWeights(RandomWeights.llama32OneB(), 42);
        assertEquals(1_235_814_400L, weights.config().parameterCount());
        Tensor embeddings = weights.tensor("tok_embeddings");
        assertEquals(128256, embeddings.rows());
        float[] block = new float[256 * 2048];
        embeddings.readRows(128000, 256, block, 0);
        assertEquals(1 / Math.sqrt(2048), std(block, 0), 0.001);
        Tensor down = weights.tensor("layers.15.w2");
        assertEquals(2048, down.rows());
        assertEquals(8192, down.cols());
    }

    private static double std(float[] values, double mean) {
        double sum = 0;
        for (float value : values) {
            sum += (value - mean) * (value - mean);
        }
        return Math.sqrt(sum / values.length);
    }

    private static double[] toDoubles(float[] values) {
        double[] doubles = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            doubles[i] = values[i];
        }
        return doubles;
    }
}
