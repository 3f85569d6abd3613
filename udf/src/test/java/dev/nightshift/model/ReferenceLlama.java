package dev.nightshift.model;

/**
 * Test helper: a plain-Java float32 Llama forward pass, batch 1, written for clarity in the style of llama2.c's
 * {@code run.c} (same loops, same float32 operation order, so it reproduces run.c's logits). Handles grouped-query
 * attention, head widths other than dim / heads, interleaved or rotate-half rotary, llama3 rope scaling and tied or
 * untied output. Loads every weight into memory: for small test models only.
 *
 * <pre>{@code
 * ReferenceLlama llama = new ReferenceLlama(Llama2cCheckpoint.open(SharedFiles.stories260K()));
 * int[] ids = llama.generateGreedy(new int[] {1}, 20);
 * }</pre>
 */
public final class ReferenceLlama {

    private final LlamaConfig config;
    private final int maxPositions;
    private final float[] embeddings;     // [vocab][dim]
    private final float[][] attentionNorm; // per layer [dim]
    private final float[][] wq;            // per layer [qDim][dim]
    private final float[][] wk;            // per layer [kvDim][dim]
    private final float[][] wv;            // per layer [kvDim][dim]
    private final float[][] wo;            // per layer [dim][qDim]
    private final float[][] ffnNorm;       // per layer [dim]
    private final float[][] w1;            // per layer [hidden][dim], gate
    private final float[][] w2;            // per layer [dim][hidden], down
    private final float[][] w3;            // per layer [hidden][dim], up
    private final float[] finalNorm;       // [dim]
    private final float[] output;          // [vocab][dim], the embeddings when tied
    private final float[] inverseFrequencies; // [headDim / 2]
    private final float[][] keyCache;      // per layer [position][kvDim]
    private final float[][] valueCache;    // per layer [position][kvDim]

    /** Loads the weights; the KV cache holds min(contextLength, 2048) positions. */
    public ReferenceLlama(WeightSource source) {
        this(source, Math.min(source.config().contextLength(), 2048));
    }

    public ReferenceLlama(WeightSource source, int maxPositions) {
        config = source.config();
        this.maxPositions = maxPositions;
        int layers = config.layers();
        embeddings = source.tensor("tok_embeddings").toArray();
        attentionNorm = load(source, "attention_norm", layers);
        wq = load(source, "wq", layers);
        wk = load(source, "wk", layers);
        wv = load(source, "wv", layers);
        wo = load(source, "wo", layers);
        ffnNorm = load(source, "ffn_norm", layers);
        w1 = load(source, "w1", layers);
        w2 = load(source, "w2", layers);
        w3 = load(source, "w3", layers);
        finalNorm = source.tensor("norm").toArray();
        output = config.tiedEmbeddings() ? embeddings : source.tensor("output").toArray();
        inverseFrequencies = inverseFrequencies(config);
        keyCache = new float[layers][maxPositions * config.kvDim()];
        valueCache = new float[layers][maxPositions * config.kvDim()];
    }

    private static float[][] load(WeightSource source, String kind, int layers) {
        float[][] perLayer = new float[layers][];
        for (int layer = 0; layer < layers; layer++) {
            perLayer[layer] = source.tensor(WeightSource.layer(layer, kind)).toArray();
        }
        return perLayer;
    }

    public LlamaConfig config() {
        return config;
    }

    /** Logits for {@code token} at {@code pos}; positions 0..pos-1 must have been fed before (their KV is cached). */
    public float[] forward(int token, int pos) {
        if (pos < 0 || pos >= maxPositions || token < 0 || token >= config.vocabSize()) {
            throw new IllegalArgumentException("token " + token + " at position " + pos + " (vocab "
                    + config.vocabSize() + ", cache " + maxPositions + " positions)");
        }
        int dim = config.dim();
        int qDim = config.qDim();
        int kvDim = config.kvDim();
        int headDim = config.headDim();
        int hidden = config.hiddenDim();
        int headsPerKv = config.heads() / config.kvHeads();

        // Token embedding is the residual stream.
        float[] x = new float[dim];
        System.arraycopy(embeddings, token * dim, x, 0, dim);
        float[] q = new float[qDim];
        float[] attention = new float[qDim];
        float[] scores = new float[pos + 1];

        for (int layer = 0; layer < config.layers(); layer++) {
            // Attention: norm, q/k/v projections, rotary, cache.
            float[] xb = rmsNorm(x, attentionNorm[layer]);
            matmul(q, xb, wq[layer], dim, qDim);
            float[] k = new float[kvDim];
            float[] v = new float[kvDim];
            matmul(k, xb, wk[layer], dim, kvDim);
            matmul(v, xb, wv[layer], dim, kvDim);
            rotate(q, config.heads(), pos);
            rotate(k, config.kvHeads(), pos);
            System.arraycopy(k, 0, keyCache[layer], pos * kvDim, kvDim);
            System.arraycopy(v, 0, valueCache[layer], pos * kvDim, kvDim);

            // Causal attention per query head over positions 0..pos of its key/value head.
            for (int h = 0; h < config.heads(); h++) {
                int kvOffset = (h / headsPerKv) * headDim;
                for (int t = 0; t <= pos; t++) {
                    float score = 0.0f;
                    for (int i = 0; i < headDim; i++) {
                        score += q[h * headDim + i] * keyCache[layer][t * kvDim + kvOffset + i];
                    }
                    scores[t] = score / (float) Math.sqrt(headDim);
                }
                softmax(scores, pos + 1);
                for (int i = 0; i < headDim; i++) {
                    attention[h * headDim + i] = 0.0f;
                }
                for (int t = 0; t <= pos; t++) {
                    for (int i = 0; i < headDim; i++) {
                        attention[h * headDim + i] += scores[t] * valueCache[layer][t * kvDim + kvOffset + i];
                    }
                }
            }

            // Output projection back into the residual stream.
            float[] projected = new float[dim];
            matmul(projected, attention, wo[layer], qDim, dim);
            for (int i = 0; i < dim; i++) {
                x[i] += projected[i];
            }

            // SwiGLU feed-forward: w2(silu(w1 x) * w3 x).
            xb = rmsNorm(x, ffnNorm[layer]);
            float[] gate = new float[hidden];
            float[] up = new float[hidden];
            matmul(gate, xb, w1[layer], dim, hidden);
            matmul(up, xb, w3[layer], dim, hidden);
            for (int i = 0; i < hidden; i++) {
                float value = gate[i];
                value *= (1.0f / (1.0f + (float) Math.exp(-value)));
                gate[i] = value * up[i];
            }
            matmul(projected, gate, w2[layer], hidden, dim);
            for (int i = 0; i < dim; i++) {
                x[i] += projected[i];
            }
        }

        // Final norm and classifier.
        float[] logits = new float[config.vocabSize()];
        matmul(logits, rmsNorm(x, finalNorm), output, dim, config.vocabSize());
        return logits;
    }

    /** Feeds {@code prompt} from position 0, then appends {@code count} greedy tokens; returns the generated ones. */
    public int[] generateGreedy(int[] prompt, int count) {
        int[] generated = new int[count];
        int token = prompt[0];
        for (int pos = 0; pos < prompt.length - 1 + count; pos++) {
            float[] logits = forward(token, pos);
            token = pos + 1 < prompt.length ? prompt[pos + 1] : argmax(logits);
            if (pos + 1 >= prompt.length) {
                generated[pos + 1 - prompt.length] = token;
            }
        }
        return generated;
    }

    /** First index of the maximum, as llama2.c's sample_argmax. */
    public static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * Rotary inverse frequencies theta^(-2i / headDim), computed in float32 as run.c and transformers do, then
     * adjusted for llama3 scaling as transformers' {@code _compute_llama3_parameters}.
     */
    public static float[] inverseFrequencies(LlamaConfig config) {
        int half = config.headDim() / 2;
        float[] inverse = new float[half];
        LlamaConfig.RopeScaling scaling = config.ropeScaling();
        for (int i = 0; i < half; i++) {
            float frequency = 1.0f / (float) Math.pow((float) config.ropeTheta(), (2 * i) / (float) config.headDim());
            if (scaling != null) {
                double wavelength = 2 * Math.PI / frequency;
                double lowFreqWavelength = scaling.originalMaxPositions() / scaling.lowFreqFactor();
                double highFreqWavelength = scaling.originalMaxPositions() / scaling.highFreqFactor();
                if (wavelength > lowFreqWavelength) {
                    frequency = (float) (frequency / scaling.factor());
                } else if (wavelength >= highFreqWavelength) {
                    double smooth = (scaling.originalMaxPositions() / wavelength - scaling.lowFreqFactor())
                            / (scaling.highFreqFactor() - scaling.lowFreqFactor());
                    frequency = (float) ((1 - smooth) * frequency / scaling.factor() + smooth * frequency);
                }
            }
            inverse[i] = frequency;
        }
        return inverse;
    }

    /**
     * Rotates each head's pairs by pos * frequency(i): pairs (2i, 2i+1) when interleaved (llama2.c), pairs
     * (i, i + headDim/2) for rotate-half (Hugging Face).
     */
    private void rotate(float[] vector, int heads, int pos) {
        int headDim = config.headDim();
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                float angle = pos * inverseFrequencies[i];
                float cos = (float) Math.cos(angle);
                float sin = (float) Math.sin(angle);
                int a = h * headDim + (config.interleavedRotary() ? 2 * i : i);
                int b = config.interleavedRotary() ? a + 1 : a + half;
                float v0 = vector[a];
                float v1 = vector[b];
                vector[a] = v0 * cos - v1 * sin;
                vector[b] = v0 * sin + v1 * cos;
            }
        }
    }

    /** weight * x / sqrt(mean(x^2) + eps), in run.c's order of operations. */
    private float[] rmsNorm(float[] x, float[] weight) {
        float ss = 0.0f;
        for (float value : x) {
            ss += value * value;
        }
        ss /= x.length;
        ss += config.normEps();
        ss = 1.0f / (float) Math.sqrt(ss);
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = weight[i] * (ss * x[i]);
        }
        return out;
    }

    /** out[rows] = w[rows][cols] x[cols]. */
    private static void matmul(float[] out, float[] x, float[] w, int cols, int rows) {
        for (int i = 0; i < rows; i++) {
            float value = 0.0f;
            for (int j = 0; j < cols; j++) {
                value += w[i * cols + j] * x[j];
            }
            out[i] = value;
        }
    }

    private static void softmax(float[] x, int size) {
        float max = x[0];
        for (int i = 1; i < size; i++) {
            max = Math.max(max, x[i]);
        }
        float sum = 0.0f;
        for (int i = 0; i < size; i++) {
            x[i] = (float) Math.exp(x[i] - max);
            sum += x[i];
        }
        for (int i = 0; i < size; i++) {
            x[i] /= sum;
        }
    }
}
