package dev.nightshift.model;

/**
 * Test helper: an interleaved-rotary source (llama2.c) seen in the Hugging Face rotate-half layout. Within each head
 * of wq and wk, row {@code s * headDim/2 + j} is the source's row {@code 2j + s}, the permutation of transformers'
 * {@code convert_llama_weights_to_hf.py}; the model computes the same function.
 */
public final class RotateHalfView implements WeightSource {

    private final WeightSource source;
    private final LlamaConfig config;

    public RotateHalfView(WeightSource source) {
        LlamaConfig c = source.config();
        if (!c.interleavedRotary()) {
            throw new IllegalArgumentException(source.description() + " is already rotate-half");
        }
        this.source = source;
        this.config = new LlamaConfig(c.dim(), c.hiddenDim(), c.layers(), c.heads(), c.kvHeads(), c.headDim(),
                c.vocabSize(), c.contextLength(), c.normEps(), c.ropeTheta(), c.ropeScaling(), false,
                c.tiedEmbeddings(), c.bosId(), c.eosIds());
    }

    @Override
    public LlamaConfig config() {
        return config;
    }

    @Override
    public Tensor tensor(String name) {
        Tensor tensor = source.tensor(name);
        if (!name.endsWith(".wq") && !name.endsWith(".wk")) {
            return tensor;
        }
        int headDim = config.headDim();
        return new Tensor() {
            @Override
            public int rows() {
                return tensor.rows();
            }

            @Override
            public int cols() {
                return tensor.cols();
            }

            @Override
            public void readRows(int row, int count, float[] dst, int offset) {
                for (int r = 0; r < count; r++) {
                    int head = (row + r) / headDim;
                    int within = (row + r) % headDim;
                    int half = within / (headDim / 2);
                    int pair = within % (headDim / 2);
                    tensor.readRows(head * headDim + 2 * pair + half, 1, dst, offset + r * cols());
                }
            }
        };
    }

    @Override
    public String description() {
        return source.description() + " as rotate-half";
    }
}
