package dev.nightshift.toolchain;

import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.model.ReferenceLlama;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GPTQ against round-to-nearest on random data, and the calibration forward pass against the reference. */
class GptqQuantizerTest {

    @ParameterizedTest(name = "{0} bits, block {1}, symmetric {2}")
    @CsvSource({"4, 32, true", "4, 16, true", "4, 32, false", "8, 32, true"})
    void gptqHasLowerOutputErrorThanRoundToNearest(int bits, int blockSize, boolean symmetric) {
        // K = 72 is not a multiple of the block: the last block is padded, as for stories260K's w2 (K = 172).
        int n = 40;
        int k = 72;
        int tokens = 400;
        Random random = new Random(3);
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) random.nextGaussian();
        }
        // Correlated inputs with uneven channel scales, as activations are: x = z·A, A random with scaled columns.
        float[] mixing = new float[k * k];
        for (int i = 0; i < mixing.length; i++) {
            mixing[i] = (float) (random.nextGaussian() * (1 + 3 * ((i % k) % 7 == 0 ? 1 : 0)));
        }
        float[] x = new float[tokens * k];
        for (int t = 0; t < tokens; t++) {
            double[] z = random.doubles(k).map(v -> v - 0.5).toArray();
            for (int j = 0; j < k; j++) {
                double sum = 0;
                for (int i = 0; i < k; i++) {
                    sum += z[i] * mixing[i * k + j];
                }
                x[t * k + j] = (float) sum;
            }
        }
        double[] hessian = new double[k * k];
        for (int t = 0; t < tokens; t++) {
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < k; j++) {
                    hessian[i * k + j] += (double) x[t * k + i] * x[t * k + j];
                }
            }
        }
        BlockQuantizer quantizer = new BlockQuantizer(bits, blockSize, symmetric);
        GptqQuantizer gptq = new GptqQuantizer(quantizer, hessian, k);

        float[] nearest = new float[n * k];
        byte[] packed = new byte[quantizer.rowBytes(k)];
        float[] scales = new float[quantizer.blocks(k)];
        byte[] zeros = new byte[quantizer.zeroPointBytes(k)];
        for (int r = 0; r < n; r++) {
            quantizer.quantizeRow(w, r * k, k, packed, scales, zeros);
            quantizer.dequantizeRow(packed, scales, zeros, k, nearest, r * k);
        }
        GptqQuantizer.Matrix matrix = gptq.quantize(w, n);
        float[] compensated = gptq.dequantize(matrix);

        double nearestError = outputError(x, w, nearest, tokens, n, k);
        double gptqError = outputError(x, w, compensated, tokens, n, k);
        System.out.printf("GPTQ %d-bit block %d %s: |X(W-Q)ᵀ|² %.4g vs round-to-nearest %.4g (ratio %.3f)%n", bits, blockSize,
                symmetric ? "symmetric" : "asymmetric", gptqError, nearestError, gptqError / nearestError);
        assertTrue(gptqError < 0.75 * nearestError, "GPTQ " + gptqError + " vs round-to-nearest " + nearestError);
        assertEquals(n * quantizer.rowBytes(k), matrix.packed().length);
        assertEquals(n * quantizer.blocks(k), matrix.scales().length);
        assertEquals(symmetric, matrix.zeroPoints() == null);
    }

    private static double outputError(float[] x, float[] w, float[] q, int tokens, int n, int k) {
        double sum = 0;
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < n; r++) {
                double diff = 0;
                for (int i = 0; i < k; i++) {
                    diff += x[t * k + i] * ((double) w[r * k + i] - q[r * k + i]);
                }
                sum += diff * diff;
            }
        }
        return sum;
    }

    @Test
    void identityStatisticsRoundToNearestAndDeadInputsAreHandled() {
        // H = I: no correlation, nothing to compensate; GPTQ's codes equal round-to-nearest's. A zero row/column
        // (an input no calibration token reached) must not break the factorisation.
        int k = 64;
        double[] hessian = new double[k * k];
        for (int i = 1; i < k; i++) {
            hessian[i * k + i] = 5;
        }
        BlockQuantizer quantizer = new BlockQuantizer(4, 32, true);
        GptqQuantizer gptq = new GptqQuantizer(quantizer, hessian, k);
        Random random = new Random(5);
        float[] row = new float[k];
        for (int i = 0; i < k; i++) {
            row[i] = (float) random.nextGaussian();
        }
        byte[] expected = new byte[quantizer.rowBytes(k)];
        float[] expectedScales = new float[2];
        quantizer.quantizeRow(row, 0, k, expected, expectedScales, new byte[1]);
        byte[] actual = new byte[quantizer.rowBytes(k)];
        float[] actualScales = new float[2];
        gptq.quantizeRow(row.clone(), 0, k, actual, actualScales, new byte[1]);
        assertArrayEquals(expected, actual);
        assertArrayEquals(expectedScales, actualScales);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "MHA interleaved tied head 8, 64, 160, 2, 8, 8, 8, 300, true, true, false",
            "GQA rotate-half untied head 16 llama3 scaling, 64, 96, 2, 4, 2, 16, 200, false, false, true"})
    void calibrationPassesComputeTheReferenceLogits(String name, int dim, int hidden, int layers, int heads, int kvHeads,
                                                    int headDim, int vocab, boolean interleaved, boolean tied,
                                                    boolean scaled) {
        LlamaConfig config = new LlamaConfig(dim, hidden, layers, heads, kvHeads, headDim, vocab, 128, 1e-5f,
                scaled ? 500000 : 10000, scaled ? new LlamaConfig.RopeScaling(8, 1, 4, 32) : null,
                interleaved, tied, 1, new int[]{2});
        RandomWeights weights = new RandomWeights(config, 9);
        int[] tokens = new Random(4).ints(40, 0, vocab).toArray();
        ReferenceLlama reference = new ReferenceLlama(weights, 64);
        float[] expected = null;
        for (int pos = 0; pos < tokens.length; pos++) {
            expected = reference.forward(tokens[pos], pos);
        }
        float[][] actual = CalibrationForward.logits(weights, tokens);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[0][i], 1e-4, "token-by-token pass, logit " + i);
            assertEquals(expected[i], actual[1][i], 1e-4, "all-positions pass, logit " + i);
        }
    }

    @Test
    void calibrationRefusesLargeModelsAndFloatPrecisions() {
        // Llama-3.2-1B's shape: 1.2 B parameters. Nothing is loaded before the check.
        LlamaConfig big = new LlamaConfig(2048, 8192, 16, 32, 8, 64, 128256, 131072, 1e-5f, 500000, null,
                false, true, 128000, new int[]{128001});
        BlockQuantizer quantizer = new BlockQuantizer(4, 32, true);
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> CalibrationForward.quantize(new RandomWeights(big, 1), 64, quantizer, quantizer, null));
        assertTrue(error.getMessage().contains("200,000,000"), error.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> ConversionOptions.of(Precision.FP16).withCalibrationTokens(256));
        assertThrows(IllegalArgumentException.class,
                () -> ConversionOptions.of(Precision.INT4).withCalibrationTokens(-1));
    }
}
