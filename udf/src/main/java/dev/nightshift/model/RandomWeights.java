package dev.nightshift.model;

import java.util.stream.IntStream;

/**
 * Seeded random weights of any shape, generated on demand: every value is a pure function of (seed, tensor name,
 * row), so any block of rows reads the same whenever and in whatever pieces it is read, and a billion-parameter
 * shape streams without being stored. Scales keep activations and logits in a realistic range, so greedy decoding
 * gives varied tokens: matrices, embeddings included, are uniform with standard deviation 1/sqrt(cols), and norm
 * weights uniform in 1 ± 0.1. Larger embeddings would make a tied output projection echo the input token.
 *
 * <pre>{@code
 * WeightSource model = new RandomWeights(RandomWeights.llama32OneB(), 42);
 * }</pre>
 */
public final class RandomWeights implements WeightSource {

    private static final double SQRT3 = Math.sqrt(3);
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
    private static final long PARALLEL_VALUES = 1 << 20;

    private final LlamaConfig config;
    private final long seed;

    public RandomWeights(LlamaConfig config, long seed) {
        this.config = config;
        this.seed = seed;
    }

    /**
     * The shape of Llama-3.2-1B (EOS ids of its Instruct version): rotate-half rotary, GQA 32/8, llama3 rope
     * scaling, tied embeddings.
     */
    public static LlamaConfig llama32OneB() {
        return new LlamaConfig(2048, 8192, 16, 32, 8, 64, 128256, 131072, 1e-5f, 500000.0,
                new LlamaConfig.RopeScaling(32.0, 1.0, 4.0, 8192), false, true, 128000,
                new int[] {128001, 128008, 128009});
    }

    @Override
    public LlamaConfig config() {
        return config;
    }

    @Override
    public Tensor tensor(String name) {
        int[] shape = CanonicalTensors.shape(config, name);
        long tensorSeed = mix(seed ^ mix(fnv1a(name)));
        if (name.endsWith("norm")) {
            return new RandomTensor(name, shape[0], shape[1], tensorSeed, 1.0, 0.1);
        }
        return new RandomTensor(name, shape[0], shape[1], tensorSeed, 0.0, SQRT3 / Math.sqrt(shape[1]));
    }

    @Override
    public String description() {
        return "random weights (seed " + seed + ")";
    }

    /** Uniform values in {@code center ± halfWidth}, one SplitMix64 stream per row. */
    private static final class RandomTensor implements Tensor {
        private final String name;
        private final int rows;
        private final int cols;
        private final long tensorSeed;
        private final float low;
        private final float step;

        RandomTensor(String name, int rows, int cols, long tensorSeed, double center, double halfWidth) {
            this.name = name;
            this.rows = rows;
            this.cols = cols;
            this.tensorSeed = tensorSeed;
            this.low = (float) (center - halfWidth);
            this.step = (float) (2 * halfWidth * 0x1p-24);
        }

        @Override
        public int rows() {
            return rows;
        }

        @Override
        public int cols() {
            return cols;
        }

        @Override
        public void readRows(int row, int count, float[] dst, int offset) {
            if (row < 0 || count < 0 || row + count > rows || offset < 0 || offset + (long) count * cols > dst.length) {
                throw new IndexOutOfBoundsException("rows [" + row + ", " + (row + count) + ") of tensor " + name
                        + " (" + rows + "x" + cols + ") into float[" + dst.length + "] at " + offset);
            }
            IntStream rows = IntStream.range(0, count);
            // Rows are independent streams, so large reads use every core: the 1B shape is 1.24e9 values.
            (count * (long) cols >= PARALLEL_VALUES ? rows.parallel() : rows)
                    .forEach(r -> fillRow(row + r, dst, offset + r * cols));
        }

        /** Two 24-bit uniforms from each 64-bit SplitMix64 output. */
        private void fillRow(int row, float[] dst, int offset) {
            long state = mix(tensorSeed ^ mix(row + GOLDEN_GAMMA));
            int end = offset + cols;
            int i = offset;
            for (; i + 1 < end; i += 2) {
                state += GOLDEN_GAMMA;
                long z = mix(state);
                dst[i] = low + (int) (z >>> 40) * step;
                dst[i + 1] = low + ((int) z & 0xFFFFFF) * step;
            }
            if (i < end) {
                dst[i] = low + (int) (mix(state + GOLDEN_GAMMA) >>> 40) * step;
            }
        }
    }

    /** SplitMix64's output function (Steele, Lea and Flood 2014). */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static long fnv1a(String text) {
        long hash = 0xCBF29CE484222325L;
        for (int i = 0; i < text.length(); i++) {
            hash = (hash ^ text.charAt(i)) * 0x100000001B3L;
        }
        return hash;
    }
}
