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
        clearRow(k, packed, zeroPoints);
        int[] codes = new int[blockSize];
        for (int b = 0; b < blocks; b++) {
            int start = b * blockSize;
            int end = Math.min(k, start + blockSize);
            BlockScale chosen = chooseScale(row, offset, start, end);
            for (int i = 0; i < blockSize; i++) {
                int index = start + i;
                codes[i] = code(index < end ? row[offset + index] : 0, chosen);
            }
            storeBlock(b, codes, chosen, packed, scales, zeroPoints);
        }
    }

    /** One block's scale and zero point (the zero is 2^(bits-1) when symmetric). */
    record BlockScale(float scale, int zero) {
    }

    /**
     * The scale of the block {@code [start, end)} of a row: round-to-nearest with the full range clips nothing but
     * wastes levels on one outlier; trying a few narrower ranges and keeping the one with the least squared error is
     * what makes 4 bits usable.
     */
    BlockScale chooseScale(float[] row, int offset, int start, int end) {
        BlockScale best = new BlockScale(0, 0);
        double bestError = Double.MAX_VALUE;
        for (int step = 0; step < SEARCH_STEPS; step++) {
            BlockScale candidate = candidate(row, offset, start, end, step);
            double error = error(row, offset, start, end, candidate.scale(), candidate.zero());
            if (error < bestError) {
                bestError = error;
                best = candidate;
            }
            if (candidate.scale() == 0) {
                break;
            }
        }
        return best;
    }

    /** The {@code step}-th range tried for the block {@code [start, end)}: the full range narrowed by step * 2.5%. */
    private BlockScale candidate(float[] row, int offset, int start, int end, int step) {
        float shrink = 1f - step * SEARCH_SHRINK;
        if (symmetric) {
            float extreme = 0;
            for (int i = start; i < end; i++) {
                float v = row[offset + i];
                if (Math.abs(v) > Math.abs(extreme)) {
                    extreme = v;
                }
            }
            // Like MLAS: the value of largest magnitude maps to the most negative code, using all 2^bits levels.
            int zero = 1 << (bits - 1);
            return new BlockScale(extreme * shrink / -zero, zero);
        }
        float min = 0;
        float max = 0;
        for (int i = start; i < end; i++) {
            min = Math.min(min, row[offset + i]);
            max = Math.max(max, row[offset + i]);
        }
        float scale = (max - min) * shrink / levels;
        int zero = scale == 0 ? 0 : Math.max(0, Math.min(levels, Math.round(-min * shrink / scale)));
        return new BlockScale(scale, zero);
    }

    /** The code of {@code v} under {@code block}'s scale, clamped to the representable range. */
    int code(float v, BlockScale block) {
        float inverse = block.scale() == 0 ? 0 : 1 / block.scale();
        return Math.max(0, Math.min(levels, Math.round(v * inverse) + block.zero()));
    }

    /** The value a code stands for. */
    static float value(int code, BlockScale block) {
        return (code - block.zero()) * block.scale();
    }

    /** Zeroes one row's packed bytes and (asymmetric) zero points before blocks are stored into them. */
    void clearRow(int k, byte[] packed, byte[] zeroPoints) {
        java.util.Arrays.fill(packed, 0, rowBytes(k), (byte) 0);
        if (!symmetric) {
            java.util.Arrays.fill(zeroPoints, 0, zeroPointBytes(k), (byte) 0);
        }
    }

    /** Stores block {@code b}'s {@code blockSize} codes, its scale and (asymmetric) zero point into a cleared row. */
    void storeBlock(int b, int[] codes, BlockScale block, byte[] packed, float[] scales, byte[] zeroPoints) {
        scales[b] = block.scale();
        pack(codes, packed, b * blobBytes());
        if (!symmetric) {
            int zero = block.zero();
            if (bits == 8) {
                zeroPoints[b] = (byte) zero;
            } else {
                zeroPoints[b / 2] |= (byte) ((b % 2 == 0) ? zero : zero << 4);
            }
        }
    }

    int blockSize() {
        return blockSize;
    }

    /** The code of element {@code i} of the packed row starting at {@code offset}. */
    int storedCode(byte[] packed, int offset, int i) {
        int at = offset + (i / blockSize) * blobBytes();
        int within = i % blockSize;
        if (bits == 8) {
            return packed[at + within] & 0xff;
        }
        int value = packed[at + within / 2] & 0xff;
        return within % 2 == 0 ? value & 0x0f : value >>> 4;
    }

    /** Block {@code b}'s zero point in row {@code r} of a matrix's packed zero points (2^(bits-1) when symmetric). */
    int zeroPoint(byte[] zeroPoints, int r, int b, int k) {
        if (symmetric) {
            return 1 << (bits - 1);
        }
        int at = r * zeroPointBytes(k);
        if (bits == 8) {
            return zeroPoints[at + b] & 0xff;
        }
        int value = zeroPoints[at + b / 2] & 0xff;
        return b % 2 == 0 ? value & 0x0f : value >>> 4;
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
            out[offset + i] = (storedCode(packed, 0, i) - zeroPoint(zeroPoints, 0, b, k)) * scales[b];
        }
    }
}
