package dev.nightshift.toolchain;

import dev.nightshift.model.HalfPrecision;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.WeightSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static dev.nightshift.model.WeightSource.layer;
import static dev.nightshift.toolchain.LlamaBackprop.addAll;

/**
 * GPTQ calibration from text the model writes itself (never evaluation data), in two steps of a plain-Java float32
 * forward pass:
 *
 * <ol>
 *   <li><b>Sampling.</b> Sequences start at BOS and are sampled at temperature 1 from {@link #SEED}, token by token
 *   with a KV cache, until {@code tokens} positions are collected (a sequence ends after {@link #SEQUENCE_LENGTH}
 *   tokens, at an end-of-sequence token or at a new BOS).</li>
 *   <li><b>Layer by layer quantization</b> over all those positions at once, carrying two residual streams: the
 *   float32 model's and the quantized model's (fp16 embeddings and the weights quantized so far). Each linear, in
 *   graph order, is quantized by {@link GptqQuantizer} against the statistics of its input in the quantized stream,
 *   and aimed at the float32 model's output: with X its float32 input and X̃ its quantized-stream input, the target
 *   is W·Σxx̃ᵀ·(Σx̃x̃ᵀ + λI)⁻¹ (plus a ridge term that pulls it toward W), the weight that best maps X̃ to W·X, so
 *   each linear also corrects the error that earlier quantized layers left in its input. (Quantizing W itself
 *   against the float32 inputs, plain GPTQ, measured 2-3 points lower on stories260K; docs/fidelity.md.) The inputs are the attention-normed state ({@code layers.N.qkv}), the
 *   attention output ({@code layers.N.wo}), the ffn-normed state ({@code layers.N.gate_up}), the SwiGLU product
 *   ({@code layers.N.w2}) and the final-norm output ({@code lm_head}): the names {@link LlamaOnnxWriter} gives its
 *   MatMulNBits nodes.</li>
 * </ol>
 *
 * <p>Every weight is held in memory as float32 and the loops are plain Java, so calibration is limited to models of
 * at most {@link #MAX_PARAMETERS} parameters.
 */
public final class CalibrationForward {

    /** Largest model calibration accepts: the weights live on the heap and the loops are plain Java. */
    public static final long MAX_PARAMETERS = 200_000_000L;
    /** Longest calibration sequence. */
    public static final int SEQUENCE_LENGTH = 128;
    /** The sampling seed: calibration, and so the converted model, is reproducible. */
    public static final long SEED = 20240917L;

    /** The quantized linears by node name, the calibration text they came from, and the refinement steps run. */
    public record Result(int tokens, int sequences, Map<String, GptqQuantizer.Matrix> matrices, int refineSteps) {

        public Result(int tokens, int sequences, Map<String, GptqQuantizer.Matrix> matrices) {
            this(tokens, sequences, matrices, 0);
        }

        /** The named linear's quantized weight, or null. */
        public GptqQuantizer.Matrix matrix(String linear) {
            return matrices.get(linear);
        }
    }

    private final LlamaConfig config;
    private final float[] embeddings;
    private final float[][] attentionNorm;
    private final float[][] qkv;     // per layer [qDim + 2 kvDim][dim]
    private final float[][] wo;      // per layer [dim][qDim]
    private final float[][] ffnNorm;
    private final float[][] gateUp;  // per layer [2 hidden][dim]
    private final float[][] w2;      // per layer [dim][hidden]
    private final float[] finalNorm;
    private final float[] output;    // [vocab][dim]
    private final float[] cos;       // [positions][headDim / 2]
    private final float[] sin;
    private final int positions;
    private final LlamaBackprop pieces; // RMSNorm, rotary, SwiGLU: the same arithmetic as refinement's

    private CalibrationForward(WeightSource source) {
        config = source.config();
        if (config.parameterCount() > MAX_PARAMETERS) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "calibration runs a plain-Java forward pass with every weight in memory and is limited to models of "
                            + "at most %,d parameters; this one has %,d. Convert it without --calibrate.",
                    MAX_PARAMETERS, config.parameterCount()));
        }
        int layers = config.layers();
        embeddings = source.tensor("tok_embeddings").toArray();
        attentionNorm = new float[layers][];
        qkv = new float[layers][];
        wo = new float[layers][];
        ffnNorm = new float[layers][];
        gateUp = new float[layers][];
        w2 = new float[layers][];
        for (int l = 0; l < layers; l++) {
            attentionNorm[l] = source.tensor(layer(l, "attention_norm")).toArray();
            qkv[l] = new StackedRows(source.tensor(layer(l, "wq")), source.tensor(layer(l, "wk")),
                    source.tensor(layer(l, "wv"))).toArray();
            wo[l] = source.tensor(layer(l, "wo")).toArray();
            ffnNorm[l] = source.tensor(layer(l, "ffn_norm")).toArray();
            gateUp[l] = new StackedRows(source.tensor(layer(l, "w1")), source.tensor(layer(l, "w3"))).toArray();
            w2[l] = source.tensor(layer(l, "w2")).toArray();
        }
        finalNorm = source.tensor("norm").toArray();
        output = config.tiedEmbeddings() ? embeddings : source.tensor("output").toArray();
        positions = Math.min(SEQUENCE_LENGTH, config.contextLength());
        float[][] tables = RopeCache.tables(config, positions);
        cos = tables[0];
        sin = tables[1];
        pieces = new LlamaBackprop(config, cos, sin);
    }

    /**
     * Samples {@code tokens} positions of text and quantizes every linear with GPTQ: the layer matrices with
     * {@code quantizer}, the output projection with {@code headQuantizer}.
     */
    public static Result quantize(WeightSource source, int tokens, BlockQuantizer quantizer, BlockQuantizer headQuantizer,
                                  ConversionListener listener) {
        return quantizeKeepingText(source, tokens, tokens, quantizer, headQuantizer, listener).result();
    }

    /** GPTQ's matrices with what a later refinement needs: the float32 weights and the sampled text. */
    record Calibrated(Result result, Weights weights, List<int[]> text) {
    }

    /**
     * As {@link #quantize}, sampling {@code textTokens} (at least {@code tokens}) positions of text of which GPTQ uses
     * the first {@code tokens}: one sample from the fixed seed, so the prefix GPTQ sees is the same whatever is
     * sampled after it, and refinement ({@link DistillationRefiner}) trains on all of it.
     */
    static Calibrated quantizeKeepingText(WeightSource source, int tokens, int textTokens, BlockQuantizer quantizer,
                                          BlockQuantizer headQuantizer, ConversionListener listener) {
        if (tokens <= 0) {
            throw new IllegalArgumentException("calibration needs at least one token, got " + tokens);
        }
        CalibrationForward forward = new CalibrationForward(source);
        ConversionListener progress = listener == null ? ConversionListener.NONE : listener;
        List<int[]> text = forward.sample(Math.max(tokens, textTokens), progress);
        List<int[]> sequences = prefix(text, tokens);
        Map<String, GptqQuantizer.Matrix> matrices = new LinkedHashMap<>();
        forward.quantizeLayers(sequences, quantizer, headQuantizer, matrices, progress);
        return new Calibrated(new Result(tokens, sequences.size(), Map.copyOf(matrices)), forward.weights(), text);
    }

    /** The float32 weights and rotary tables, shared with {@link DistillationRefiner}. */
    record Weights(LlamaConfig config, float[] embeddings, float[][] attentionNorm, float[][] qkv, float[][] wo,
                   float[][] ffnNorm, float[][] gateUp, float[][] w2, float[] finalNorm, float[] output,
                   float[] cos, float[] sin) {
    }

    /** The self-generated calibration sequences {@link #quantize} uses. */
    static List<int[]> calibrationText(WeightSource source, int tokens) {
        return new CalibrationForward(source).sample(tokens, ConversionListener.NONE);
    }

    /** The first {@code tokens} tokens of {@code text}: what sampling only that many would have produced. */
    static List<int[]> prefix(List<int[]> text, int tokens) {
        List<int[]> out = new ArrayList<>();
        int left = tokens;
        for (int[] sequence : text) {
            if (left == 0) {
                break;
            }
            out.add(sequence.length <= left ? sequence : java.util.Arrays.copyOf(sequence, left));
            left -= Math.min(left, sequence.length);
        }
        return out;
    }

    static Weights weightsOf(WeightSource source) {
        return new CalibrationForward(source).weights();
    }

    Weights weights() {
        return new Weights(config, embeddings, attentionNorm, qkv, wo, ffnNorm, gateUp, w2, finalNorm, output, cos, sin);
    }

    /**
     * For tests of the two passes' float32 arithmetic: the logits after the last of {@code tokens} (at most
     * {@link #SEQUENCE_LENGTH}) from the token-by-token pass (first) and from the all-positions pass (second).
     */
    static float[][] logits(WeightSource source, int[] tokens) {
        CalibrationForward forward = new CalibrationForward(source);
        int kvDim = forward.config.kvDim();
        float[][] keys = new float[forward.config.layers()][forward.positions * kvDim];
        float[][] values = new float[forward.config.layers()][forward.positions * kvDim];
        float[] stepwise = null;
        for (int pos = 0; pos < tokens.length; pos++) {
            stepwise = forward.forwardOne(tokens[pos], pos, keys, values);
        }
        float[] normed = forward.quantizeLayers(List.of(tokens), null, null, new LinkedHashMap<>(), ConversionListener.NONE);
        int dim = forward.config.dim();
        float[] last = java.util.Arrays.copyOfRange(normed, (tokens.length - 1) * dim, tokens.length * dim);
        return new float[][]{stepwise, times(last, forward.output, 1, dim)};
    }

    // ---- step 1: sampling, one token at a time with a KV cache ----

    private List<int[]> sample(int tokens, ConversionListener listener) {
        SplittableRandom random = new SplittableRandom(SEED);
        int kvDim = config.kvDim();
        float[][] keys = new float[config.layers()][positions * kvDim];
        float[][] values = new float[config.layers()][positions * kvDim];
        List<int[]> sequences = new ArrayList<>();
        int done = 0;
        while (done < tokens) {
            int[] sequence = new int[Math.min(positions, tokens - done)];
            int length = 0;
            int token = config.bosId();
            while (length < sequence.length) {
                sequence[length] = token;
                float[] logits = forwardOne(token, length, keys, values);
                length++;
                token = sample(logits, random);
                if (token == config.bosId() || isEos(token)) {
                    break;
                }
            }
            sequences.add(java.util.Arrays.copyOf(sequence, length));
            done += length;
            listener.progress("calibration", done, tokens);
        }
        return sequences;
    }

    private float[] forwardOne(int token, int pos, float[][] keys, float[][] values) {
        int dim = config.dim();
        int qDim = config.qDim();
        int kvDim = config.kvDim();
        int hidden = config.hiddenDim();
        float[] x = new float[dim];
        System.arraycopy(embeddings, token * dim, x, 0, dim);
        float[] inverse = new float[1];
        float[] packed = new float[qDim + 2 * kvDim];
        float[] attention = new float[qDim];
        float[] projected = new float[dim];
        float[] gate = new float[2 * hidden];
        for (int l = 0; l < config.layers(); l++) {
            float[] normed = pieces.rmsNorm(x, attentionNorm[l], 1, inverse);
            matvec(qkv[l], normed, 0, dim, packed, 0, packed.length);
            pieces.rotate(packed, 0, config.heads(), pos, false);
            pieces.rotate(packed, qDim, config.kvHeads(), pos, false);
            System.arraycopy(packed, qDim, keys[l], pos * kvDim, kvDim);
            System.arraycopy(packed, qDim + kvDim, values[l], pos * kvDim, kvDim);
            attend(packed, 0, keys[l], values[l], 0, kvDim, pos, attention, 0);
            matvec(wo[l], attention, 0, qDim, projected, 0, dim);
            addAll(x, projected);
            normed = pieces.rmsNorm(x, ffnNorm[l], 1, inverse);
            matvec(gateUp[l], normed, 0, dim, gate, 0, 2 * hidden);
            matvec(w2[l], LlamaBackprop.swiglu(gate, 1, hidden), 0, hidden, projected, 0, dim);
            addAll(x, projected);
        }
        float[] normed = pieces.rmsNorm(x, finalNorm, 1, inverse);
        float[] logits = new float[config.vocabSize()];
        matvec(output, normed, 0, dim, logits, 0, logits.length);
        return logits;
    }

    private boolean isEos(int token) {
        for (int eos : config.eosIds()) {
            if (token == eos) {
                return true;
            }
        }
        return false;
    }

    /** Temperature-1 sampling from the softmax of {@code logits}. */
    private static int sample(float[] logits, SplittableRandom random) {
        double max = Double.NEGATIVE_INFINITY;
        for (float logit : logits) {
            max = Math.max(max, logit);
        }
        double[] weights = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            weights[i] = Math.exp(logits[i] - max);
            sum += weights[i];
        }
        double target = random.nextDouble() * sum;
        for (int i = 0; i < logits.length; i++) {
            target -= weights[i];
            if (target < 0) {
                return i;
            }
        }
        return logits.length - 1;
    }

    // ---- step 2: layer by layer over every calibration position, float32 and quantized streams ----

    /**
     * Quantizes every linear into {@code matrices} (none when {@code quantizer} is null: both streams stay float32)
     * and returns the float32 stream's final-norm output [T, dim].
     */
    private float[] quantizeLayers(List<int[]> sequences, BlockQuantizer quantizer, BlockQuantizer headQuantizer,
                                   Map<String, GptqQuantizer.Matrix> matrices, ConversionListener listener) {
        int dim = config.dim();
        int qDim = config.qDim();
        int hidden = config.hiddenDim();
        int total = sequences.stream().mapToInt(s -> s.length).sum();
        int[] position = new int[total];
        int[] start = new int[total]; // the row of the token's sequence start
        float[] exact = new float[total * dim];
        float[] quantized = new float[total * dim];
        int row = 0;
        for (int[] sequence : sequences) {
            for (int pos = 0; pos < sequence.length; pos++, row++) {
                position[row] = pos;
                start[row] = row - pos;
                for (int i = 0; i < dim; i++) {
                    float value = embeddings[sequence[pos] * dim + i];
                    exact[row * dim + i] = value;
                    quantized[row * dim + i] = HalfPrecision.f16ToFloat(HalfPrecision.floatToF16(value)); // the graph's fp16 table
                }
            }
        }
        int linears = 4 * config.layers() + 1;
        for (int l = 0; l < config.layers(); l++) {
            float[] normed = norm(exact, attentionNorm[l], total);
            float[] normedQ = norm(quantized, attentionNorm[l], total);
            float[] qkvQ = linear("layers." + l + ".qkv", qkv[l], normed, normedQ, total, quantizer, matrices);
            float[] attention = attention(times(normed, qkv[l], total, dim), total, position, start);
            float[] attentionQ = attention(times(normedQ, qkvQ, total, dim), total, position, start);
            float[] woQ = linear("layers." + l + ".wo", wo[l], attention, attentionQ, total, quantizer, matrices);
            addAll(exact, times(attention, wo[l], total, qDim));
            addAll(quantized, times(attentionQ, woQ, total, qDim));

            normed = norm(exact, ffnNorm[l], total);
            normedQ = norm(quantized, ffnNorm[l], total);
            float[] gateUpQ = linear("layers." + l + ".gate_up", gateUp[l], normed, normedQ, total, quantizer, matrices);
            float[] product = LlamaBackprop.swiglu(times(normed, gateUp[l], total, dim), total, hidden);
            float[] productQ = LlamaBackprop.swiglu(times(normedQ, gateUpQ, total, dim), total, hidden);
            float[] w2Q = linear("layers." + l + ".w2", w2[l], product, productQ, total, quantizer, matrices);
            addAll(exact, times(product, w2[l], total, hidden));
            addAll(quantized, times(productQ, w2Q, total, hidden));
            listener.progress("calibration layers", 4L * (l + 1), linears);
        }
        float[] normed = norm(exact, finalNorm, total);
        linear("lm_head", output, normed, norm(quantized, finalNorm, total), total, headQuantizer, matrices);
        listener.progress("calibration layers", linears, linears);
        return normed;
    }

    /**
     * GPTQ of {@code weight} [N, K] given its float32-stream inputs {@code x} and quantized-stream inputs {@code xq}
     * [T, K]: stores the quantized matrix under {@code name} and returns its dequantized values.
     *
     * <p>The target minimises Σ‖W x − Q x̃‖² + λ‖Q − W‖² (λ the damping GPTQ adds to H̃ = Σ x̃x̃ᵀ): row by row,
     * q_r = (H̃ + λI)⁻¹ (Σ x̃xᵀ w_r + λ w_r), which is W itself when the streams agree. GPTQ then quantizes the target
     * against H̃.
     */
    private static float[] linear(String name, float[] weight, float[] x, float[] xq, int tokens,
                                  BlockQuantizer quantizer, Map<String, GptqQuantizer.Matrix> matrices) {
        if (quantizer == null) {
            return weight;
        }
        int k = x.length / tokens;
        int n = weight.length / k;
        GptqQuantizer gptq = new GptqQuantizer(quantizer, gram(xq, xq, tokens, k), k);
        double[] cross = gram(xq, x, tokens, k);
        double ridge = gptq.ridge();
        float[] target = new float[weight.length];
        IntStream.range(0, n).parallel().forEach(r -> {
            double[] b = new double[k];
            for (int i = 0; i < k; i++) {
                double sum = ridge * weight[r * k + i];
                for (int j = 0; j < k; j++) {
                    sum += cross[i * k + j] * weight[r * k + j];
                }
                b[i] = sum;
            }
            double[] solved = gptq.solve(b);
            for (int i = 0; i < k; i++) {
                target[r * k + i] = (float) solved[i];
            }
        });
        GptqQuantizer.Matrix matrix = gptq.quantize(target, n);
        matrices.put(name, matrix);
        return gptq.dequantize(matrix);
    }

    /** Σ_t a_t b_tᵀ for row-major [T, K] a and b, in double. */
    private static double[] gram(float[] a, float[] b, int tokens, int k) {
        double[] product = new double[k * k];
        IntStream.range(0, k).parallel().forEach(i -> {
            for (int t = 0; t < tokens; t++) {
                double ai = a[t * k + i];
                if (ai == 0) {
                    continue;
                }
                int row = t * k;
                for (int j = 0; j < k; j++) {
                    product[i * k + j] += ai * b[row + j];
                }
            }
        });
        return product;
    }

    private float[] norm(float[] x, float[] weight, int tokens) {
        return pieces.rmsNorm(x, weight, tokens, new float[tokens]);
    }

    /** x [T, K] times wᵀ for w [N, K]: [T, N]. */
    private static float[] times(float[] x, float[] w, int tokens, int k) {
        int n = w.length / k;
        float[] out = new float[tokens * n];
        IntStream.range(0, tokens).parallel().forEach(t -> matvec(w, x, t * k, k, out, t * n, n));
        return out;
    }

    /** Rotary and causal attention within each sequence, for packed q/k/v rows [T, qDim + 2 kvDim]. */
    private float[] attention(float[] packed, int tokens, int[] position, int[] start) {
        int qDim = config.qDim();
        int kvDim = config.kvDim();
        int width = qDim + 2 * kvDim;
        float[] keys = new float[tokens * kvDim];
        float[] values = new float[tokens * kvDim];
        for (int t = 0; t < tokens; t++) {
            pieces.rotate(packed, t * width, config.heads(), position[t], false);
            pieces.rotate(packed, t * width + qDim, config.kvHeads(), position[t], false);
            System.arraycopy(packed, t * width + qDim, keys, t * kvDim, kvDim);
            System.arraycopy(packed, t * width + qDim + kvDim, values, t * kvDim, kvDim);
        }
        float[] out = new float[tokens * qDim];
        IntStream.range(0, tokens).parallel().forEach(t ->
                attend(packed, t * width, keys, values, start[t] * kvDim, kvDim, position[t], out, t * qDim));
        return out;
    }

    // ---- shared per-token pieces ----

    /**
     * Causal attention of one token's queries (at {@code query[q..]}) over positions 0..pos of its sequence, whose
     * keys and values start at {@code base} in {@code keys}/{@code values} ({@code kvDim} floats a position).
     */
    private void attend(float[] query, int q, float[] keys, float[] values, int base, int kvDim, int pos,
                        float[] out, int o) {
        int headDim = config.headDim();
        int headsPerKv = config.heads() / config.kvHeads();
        float scale = (float) (1 / Math.sqrt(headDim));
        float[] scores = new float[pos + 1];
        for (int h = 0; h < config.heads(); h++) {
            int kvOffset = (h / headsPerKv) * headDim;
            float max = Float.NEGATIVE_INFINITY;
            for (int t = 0; t <= pos; t++) {
                float score = 0;
                for (int i = 0; i < headDim; i++) {
                    score += query[q + h * headDim + i] * keys[base + t * kvDim + kvOffset + i];
                }
                scores[t] = score * scale;
                max = Math.max(max, scores[t]);
            }
            float sum = 0;
            for (int t = 0; t <= pos; t++) {
                scores[t] = (float) Math.exp(scores[t] - max);
                sum += scores[t];
            }
            for (int i = 0; i < headDim; i++) {
                float value = 0;
                for (int t = 0; t <= pos; t++) {
                    value += scores[t] * values[base + t * kvDim + kvOffset + i];
                }
                out[o + h * headDim + i] = value / sum;
            }
        }
    }

    /** out[o .. o+rows) = w[rows, cols] · x[offset .. offset+cols). */
    private static void matvec(float[] w, float[] x, int offset, int cols, float[] out, int o, int rows) {
        for (int r = 0; r < rows; r++) {
            float value = 0;
            int base = r * cols;
            for (int c = 0; c < cols; c++) {
                value += w[base + c] * x[offset + c];
            }
            out[o + r] = value;
        }
    }
}
