package dev.nightshift.toolchain;

/**
 * Quantizes weight rows into ONNX Runtime's MatMulNBits layout: for each output row n, K inputs in
 * blocks of {@code blockSize}; B is uint8 [N, blocks, blockSize * bits / 8] with element k in the low
 * nibble and k+1 in the high nibble (4 bits); scales float [N, blocks]; optional zero points uint8
 * [N, ceil(blocks * bits / 8)] packed the same way. Dequantization is (q - zero) * scale, with a
 * default zero of 2^(bits-1) when zero points are absent (the symmetric case).
 */
public final class BlockQuantizer {

    private final int bits;
    private final int blockSize;
    private final boolean symmetric;
    private final int levels;

    private static final int SEARCH_STEPS = 12;
    private static final float SEARCH_SHRINK = 0.025f;

    public BlockQuantizer(int bits, int blockSize, boolean symmetric) {
        if (bits != 4 && bits != 8) {
            throw new IllegalArgumentException("MatMulNBits quantization supports 4 or 8 bits, got " + bits);
        }
        this.bits = bits;
        this.blockSize = blockSize;
        this.symmetric = symmetric;
        this.levels = (1 << bits) - 1;
    }

    public int bits() {
        return bits;
    }

    public int blocks(int k) {
        return (k + blockSize - 1) / blockSize;
    }

    public int blobBytes() {
        return blockSize * bits / 8;
    }

    public int rowBytes(int k) {
        return blocks(k) * blobBytes();
    }

    public int zeroPointBytes(int k) {
        return (blocks(k) * bits + 7) / 8;
    }

    public boolean symmetric() {
        return symmetric;
    }

    /**
     * Quantizes one row of K values.
     *
     * @param row        source values, K of them from {@code offset}
     * @param packed     receives {@link #rowBytes(int)} bytes
     * @param scales     receives {@link #blocks(int)} scales
     * @param zeroPoints receives {@link #zeroPointBytes(int)} bytes (ignored when symmetric)
     */
    public void quantizeRow(float[] row, int offset, int k, byte[] packed, float[] scales, byte[] zeroPoints) {
        int blocks = blocks(k);
        java.util.Arrays.fill(packed, 0, rowBytes(k), (byte) 0);
        if (!symmetric) {
            java.util.Arrays.fill(zeroPoints, 0, zeroPointBytes(k), (byte) 0);
        }
        int[] codes = new int[blockSize];
        for (int b = 0; b < blocks; b++) {
            int start = b * blockSize;
            int end = Math.min(k, start + blockSize);
            // Round-to-nearest with the full range clips nothing but wastes levels on one outlier; trying a few
            // narrower ranges and keeping the one with the least squared error is what makes 4 bits usable.
            float bestScale = 0;
            int bestZero = 0;
            double bestError = Double.MAX_VALUE;
            for (int step = 0; step < SEARCH_STEPS; step++) {
                float shrink = 1f - step * SEARCH_SHRINK;
                int zero;
                float scale;
                if (symmetric) {
                    float extreme = 0;
                    for (int i = start; i < end; i++) {
                        float v = row[offset + i];
                        if (Math.abs(v) > Math.abs(extreme)) {
                            extreme = v;
                        }
                    }
                    // Like MLAS: the value of largest magnitude maps to the most negative code, using all 2^bits levels.
                    zero = 1 << (bits - 1);
                    scale = extreme * shrink / -zero;
                } else {
                    float min = 0;
                    float max = 0;
                    for (int i = start; i < end; i++) {
                        min = Math.min(min, row[offset + i]);
                        max = Math.max(max, row[offset + i]);
                    }
                    scale = (max - min) * shrink / levels;
                    zero = scale == 0 ? 0 : Math.max(0, Math.min(levels, Math.round(-min * shrink / scale)));
                }
                double error = error(row, offset, start, end, scale, zero);
                if (error < bestError) {
                    bestError = error;
                    bestScale = scale;
                    bestZero = zero;
                }
                if (scale == 0) {
                    break;
                }
            }
            float scale = bestScale;
            int zero = bestZero;
            float inverse = scale == 0 ? 0 : 1 / scale;
            for (int i = 0; i < blockSize; i++) {
                int index = start + i;
                float v = index < end ? row[offset + index] : 0;
                codes[i] = Math.max(0, Math.min(levels, Math.round(v * inverse) + zero));
            }
            scales[b] = scale;
            pack(codes, packed, b * blobBytes());
            if (!symmetric) {
                if (bits == 8) {
                    zeroPoints[b] = (byte) zero;
                } else {
                    zeroPoints[b / 2] |= (byte) ((b % 2 == 0) ? zero : zero << 4);
                }
            }
        }
    }

    private double error(float[] row, int offset, int start, int end, float scale, int zero) {
        float inverse = scale == 0 ? 0 : 1 / scale;
        double sum = 0;
        for (int i = start; i < end; i++) {
            float v = row[offset + i];
            int code = Math.max(0, Math.min(levels, Math.round(v * inverse) + zero));
            float diff = v - (code - zero) * scale;
            sum += diff * diff;
        }
        return sum;
    }

    private void pack(int[] codes, byte[] packed, int at) {
        if (bits == 8) {
            for (int i = 0; i < blockSize; i++) {
                packed[at + i] = (byte) codes[i];
            }
        } else {
            for (int i = 0; i < blockSize; i += 2) {
                packed[at + i / 2] = (byte) (codes[i] | (codes[i + 1] << 4));
            }
        }
    }

    /** The values ONNX Runtime will compute with: used by tests and the fidelity report. */
    public void dequantizeRow(byte[] packed, float[] scales, byte[] zeroPoints, int k, float[] out, int offset) {
        for (int i = 0; i < k; i++) {
            int b = i / blockSize;
            int within = i % blockSize;
            int code;
            if (bits == 8) {
                code = packed[b * blobBytes() + within] & 0xff;
            } else {
                int value = packed[b * blobBytes() + within / 2] & 0xff;
                code = within % 2 == 0 ? value & 0x0f : value >>> 4;
            }
            int zero;
            if (symmetric) {
                zero = 1 << (bits - 1);
            } else if (bits == 8) {
                zero = zeroPoints[b] & 0xff;
            } else {
                int value = zeroPoints[b / 2] & 0xff;
                zero = b % 2 == 0 ? value & 0x0f : value >>> 4;
            }
            out[offset + i] = (code - zero) * scales[b];
        }
    }
}
