package dev.nightshift.toolchain;

import dev.nightshift.model.LlamaConfig;

/**
 * The pieces of a Llama forward pass over one sequence (positions 0..S-1), each with its backward pass, in plain
 * float32 loops: what {@link DistillationRefiner} trains with. Activations are row-major [S, width]; weights are
 * [N, K] as in the checkpoint.
 */
final class LlamaBackprop {

    private final LlamaConfig config;
    private final float[] cos; // [positions][headDim / 2]
    private final float[] sin;

    LlamaBackprop(LlamaConfig config, float[] cos, float[] sin) {
        this.config = config;
        this.cos = cos;
        this.sin = sin;
    }

    /** RMSNorm of each row; keeps each row's 1/rms in {@code inverses} for the backward pass. */
    float[] rmsNorm(float[] x, float[] weight, int s, float[] inverses) {
        int dim = config.dim();
        float[] out = new float[s * dim];
        for (int t = 0; t < s; t++) {
            float ss = 0;
            for (int i = 0; i < dim; i++) {
                ss += x[t * dim + i] * x[t * dim + i];
            }
            float inverse = (float) (1 / Math.sqrt(ss / dim + config.normEps()));
            inverses[t] = inverse;
            for (int i = 0; i < dim; i++) {
                out[t * dim + i] = weight[i] * (inverse * x[t * dim + i]);
            }
        }
        return out;
    }

    /** y = w ⊙ x · r with r = (mean x² + ε)^-½ (w fixed): dx = r (w ⊙ dy) − r³/dim · x · Σ (w ⊙ dy ⊙ x). */
    float[] rmsNormBackward(float[] dy, float[] x, float[] weight, float[] inverses, int s) {
        int dim = config.dim();
        float[] dx = new float[s * dim];
        for (int t = 0; t < s; t++) {
            float r = inverses[t];
            double dot = 0;
            for (int i = 0; i < dim; i++) {
                dot += weight[i] * dy[t * dim + i] * x[t * dim + i];
            }
            float coefficient = (float) (r * r * r * dot / dim);
            for (int i = 0; i < dim; i++) {
                dx[t * dim + i] = r * weight[i] * dy[t * dim + i] - coefficient * x[t * dim + i];
            }
        }
        return dx;
    }

    /** Rotary on the q and k parts of packed rows at positions 0..s-1; {@code inverse} rotates back (its transpose). */
    void rotateAll(float[] packed, int s, boolean inverse) {
        int qDim = config.qDim();
        int width = qDim + 2 * config.kvDim();
        for (int t = 0; t < s; t++) {
            rotate(packed, t * width, config.heads(), t, inverse);
            rotate(packed, t * width + qDim, config.kvHeads(), t, inverse);
        }
    }

    /** Rotary on {@code heads} heads from {@code offset}: pairs (2i, 2i+1) interleaved, (i, i + half) otherwise. */
    void rotate(float[] vector, int offset, int heads, int pos, boolean inverse) {
        int headDim = config.headDim();
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                float c = cos[pos * half + i];
                float sn = inverse ? -sin[pos * half + i] : sin[pos * half + i];
                int a = offset + h * headDim + (config.interleavedRotary() ? 2 * i : i);
                int b = config.interleavedRotary() ? a + 1 : a + half;
                float v0 = vector[a];
                float v1 = vector[b];
                vector[a] = v0 * c - v1 * sn;
                vector[b] = v0 * sn + v1 * c;
            }
        }
    }

    /** Causal attention over one sequence's packed rows; keeps the probabilities [heads, S, S]. */
    float[] attend(float[] packed, int s, float[] probs) {
        int headDim = config.headDim();
        int qDim = config.qDim();
        int kvDim = config.kvDim();
        int width = qDim + 2 * kvDim;
        int group = config.heads() / config.kvHeads();
        float scale = (float) (1 / Math.sqrt(headDim));
        float[] out = new float[s * qDim];
        for (int h = 0; h < config.heads(); h++) {
            int kOffset = qDim + (h / group) * headDim;
            int vOffset = qDim + kvDim + (h / group) * headDim;
            for (int t = 0; t < s; t++) {
                int row = (h * s + t) * s;
                float max = Float.NEGATIVE_INFINITY;
                for (int u = 0; u <= t; u++) {
                    float score = 0;
                    for (int i = 0; i < headDim; i++) {
                        score += packed[t * width + h * headDim + i] * packed[u * width + kOffset + i];
                    }
                    probs[row + u] = score * scale;
                    max = Math.max(max, probs[row + u]);
                }
                float sum = 0;
                for (int u = 0; u <= t; u++) {
                    probs[row + u] = (float) Math.exp(probs[row + u] - max);
                    sum += probs[row + u];
                }
                for (int u = 0; u <= t; u++) {
                    probs[row + u] /= sum;
                }
                for (int i = 0; i < headDim; i++) {
                    float value = 0;
                    for (int u = 0; u <= t; u++) {
                        value += probs[row + u] * packed[u * width + vOffset + i];
                    }
                    out[t * qDim + h * headDim + i] = value;
                }
            }
        }
        return out;
    }

    /** The gradient with respect to the packed (rotated) q, k and v rows. */
    float[] attendBackward(float[] dOut, float[] packed, float[] probs, int s) {
        int headDim = config.headDim();
        int qDim = config.qDim();
        int kvDim = config.kvDim();
        int width = qDim + 2 * kvDim;
        int group = config.heads() / config.kvHeads();
        float scale = (float) (1 / Math.sqrt(headDim));
        float[] dPacked = new float[s * width];
        float[] dScores = new float[s];
        for (int h = 0; h < config.heads(); h++) {
            int qOffset = h * headDim;
            int kOffset = qDim + (h / group) * headDim;
            int vOffset = qDim + kvDim + (h / group) * headDim;
            for (int t = 0; t < s; t++) {
                int row = (h * s + t) * s;
                float weighted = 0;
                for (int u = 0; u <= t; u++) {
                    float dp = 0;
                    for (int i = 0; i < headDim; i++) {
                        float g = dOut[t * qDim + qOffset + i];
                        dp += g * packed[u * width + vOffset + i];
                        dPacked[u * width + vOffset + i] += probs[row + u] * g;
                    }
                    dScores[u] = dp;
                    weighted += probs[row + u] * dp;
                }
                for (int u = 0; u <= t; u++) {
                    float ds = probs[row + u] * (dScores[u] - weighted) * scale;
                    for (int i = 0; i < headDim; i++) {
                        dPacked[t * width + qOffset + i] += ds * packed[u * width + kOffset + i];
                        dPacked[u * width + kOffset + i] += ds * packed[t * width + qOffset + i];
                    }
                }
            }
        }
        return dPacked;
    }

    static float[] swiglu(float[] gateUp, int s, int hidden) {
        float[] out = new float[s * hidden];
        for (int t = 0; t < s; t++) {
            for (int i = 0; i < hidden; i++) {
                float g = gateUp[t * 2 * hidden + i];
                out[t * hidden + i] = g / (1 + (float) Math.exp(-g)) * gateUp[t * 2 * hidden + hidden + i];
            }
        }
        return out;
    }

    /** silu(g)·u: dg = dy·u·σ(g)(1 + g(1 − σ(g))), du = dy·silu(g). */
    static float[] swigluBackward(float[] dy, float[] gateUp, int s, int hidden) {
        float[] d = new float[s * 2 * hidden];
        for (int t = 0; t < s; t++) {
            for (int i = 0; i < hidden; i++) {
                float g = gateUp[t * 2 * hidden + i];
                float u = gateUp[t * 2 * hidden + hidden + i];
                float sigmoid = 1 / (1 + (float) Math.exp(-g));
                float grad = dy[t * hidden + i];
                d[t * 2 * hidden + i] = grad * u * sigmoid * (1 + g * (1 - sigmoid));
                d[t * 2 * hidden + hidden + i] = grad * g * sigmoid;
            }
        }
        return d;
    }

    /** x [S, K] times w for w given transposed, [K, N]: [S, N] (row updates rather than dot products: they vectorize). */
    static float[] times(float[] x, float[] transposed, int s, int k) {
        int n = transposed.length / k;
        float[] out = new float[s * n];
        for (int t = 0; t < s; t++) {
            int o = t * n;
            for (int c = 0; c < k; c++) {
                float v = x[t * k + c];
                if (v == 0) {
                    continue;
                }
                int base = c * n;
                for (int r = 0; r < n; r++) {
                    out[o + r] += v * transposed[base + r];
                }
            }
        }
        return out;
    }

    static float[] transpose(float[] w, int k) {
        int n = w.length / k;
        float[] out = new float[w.length];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) {
                out[c * n + r] = w[r * k + c];
            }
        }
        return out;
    }

    /** dy [S, N] times w [N, K]: the gradient at the input, [S, K]. */
    static float[] backThrough(float[] dy, float[] w, int s, int n, int k) {
        float[] dx = new float[s * k];
        for (int t = 0; t < s; t++) {
            for (int r = 0; r < n; r++) {
                float g = dy[t * n + r];
                if (g == 0) {
                    continue;
                }
                int base = r * k;
                for (int c = 0; c < k; c++) {
                    dx[t * k + c] += g * w[base + c];
                }
            }
        }
        return dx;
    }

    /** dW [N, K] += dyᵀ x for dy [S, N] and x [S, K]. */
    static void accumulate(float[] dW, float[] dy, int s, int n, float[] x, int k) {
        for (int t = 0; t < s; t++) {
            for (int r = 0; r < n; r++) {
                float g = dy[t * n + r];
                if (g == 0) {
                    continue;
                }
                int base = r * k;
                for (int c = 0; c < k; c++) {
                    dW[base + c] += g * x[t * k + c];
                }
            }
        }
    }

    static void addAll(float[] x, float[] delta) {
        for (int i = 0; i < x.length; i++) {
            x[i] += delta[i];
        }
    }
}
