package dev.nightshift.toolchain;

import dev.nightshift.engine.Softmax;
import dev.nightshift.model.HalfPrecision;
import dev.nightshift.model.LlamaConfig;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static dev.nightshift.toolchain.LlamaBackprop.accumulate;
import static dev.nightshift.toolchain.LlamaBackprop.addAll;
import static dev.nightshift.toolchain.LlamaBackprop.backThrough;
import static dev.nightshift.toolchain.LlamaBackprop.swiglu;
import static dev.nightshift.toolchain.LlamaBackprop.swigluBackward;
import static dev.nightshift.toolchain.LlamaBackprop.times;
import static dev.nightshift.toolchain.LlamaBackprop.transpose;

/**
 * End-to-end refinement of quantized weights after GPTQ: the quantized model is trained, by gradient descent, to
 * reproduce the float32 model's next-token distributions on self-generated text (knowledge distillation, with
 * KL(float32 ‖ quantized) as the loss).
 *
 * <p>GPTQ makes each linear reproduce its own output; what a user sees is the last layer's logits, and errors that
 * are small per linear add up through the residual stream. What is trained is each block's scale, with the codes
 * GPTQ chose fixed: a weight is (code − zero) · scale, so the loss is differentiable in the scales exactly, and the
 * result is still a MatMulNBits matrix with GPTQ's layout and size. (Training the codes themselves, through a
 * straight-through estimator on latent weights, flipped codes on gradient noise and lost accuracy; docs/fidelity.md.)
 * The forward and backward passes are plain Java loops over every position of each sequence, so, like
 * {@link CalibrationForward}, this is for small models.
 */
final class DistillationRefiner {

    /**
     * Tokens of self-generated text refinement trains on: more than GPTQ needs, because end-to-end training has
     * more freedom and overfits a small sample (on stories260K, 2,048 tokens lowered the KL on the sample fourfold and
     * raised it on held-out text).
     */
    static final int TEXT_TOKENS = 32_768;
    /**
     * Largest model refinement accepts: a step is a plain-Java forward and backward pass over
     * {@link #SEQUENCES_PER_STEP} sequences (about 0.5 s for stories260K on two cores, growing with the parameters).
     */
    static final long MAX_PARAMETERS = 10_000_000L;
    /** Memory for the float32 model's distributions over the whole text; above it they are recomputed every step. */
    static final long TEACHER_CACHE_BYTES = 512L << 20;
    /** Calibration sequences per optimisation step. */
    static final int SEQUENCES_PER_STEP = 8;
    /** Adam's largest step, relative to each block scale's size; it decays to zero along a cosine. */
    static final double LEARNING_RATE = 0.01;
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPSILON = 1e-12;

    private final CalibrationForward.Weights teacher;
    private final LlamaConfig config;
    private final Map<String, ScaledCodes> linears = new LinkedHashMap<>();
    private final ScaledCodes[] qkv;
    private final ScaledCodes[] wo;
    private final ScaledCodes[] gateUp;
    private final ScaledCodes[] w2;
    private final ScaledCodes head;
    private final float[] embeddings; // as the graph stores them: fp16
    private final LlamaBackprop ops;

    DistillationRefiner(CalibrationForward.Weights teacher, Map<String, GptqQuantizer.Matrix> matrices,
                        BlockQuantizer quantizer, BlockQuantizer headQuantizer) {
        this.teacher = teacher;
        this.config = teacher.config();
        checkSize(config);
        int layers = config.layers();
        qkv = new ScaledCodes[layers];
        wo = new ScaledCodes[layers];
        gateUp = new ScaledCodes[layers];
        w2 = new ScaledCodes[layers];
        for (int l = 0; l < layers; l++) {
            qkv[l] = linear("layers." + l + ".qkv", matrices, quantizer);
            wo[l] = linear("layers." + l + ".wo", matrices, quantizer);
            gateUp[l] = linear("layers." + l + ".gate_up", matrices, quantizer);
            w2[l] = linear("layers." + l + ".w2", matrices, quantizer);
        }
        head = linear("lm_head", matrices, headQuantizer);

        ops = new LlamaBackprop(config, teacher.cos(), teacher.sin());
        embeddings = teacher.embeddings().clone();
        for (int i = 0; i < embeddings.length; i++) {
            embeddings[i] = HalfPrecision.f16ToFloat(HalfPrecision.floatToF16(embeddings[i]));
        }
    }

    /**
     * Refines GPTQ's matrices ({@link CalibrationForward#quantizeKeepingText}) for {@code steps} steps on the text they
     * were calibrated with, and returns them with the refinement recorded.
     */
    static CalibrationForward.Result refine(CalibrationForward.Calibrated gptq, int steps, BlockQuantizer quantizer,
                                            BlockQuantizer headQuantizer, ConversionListener listener) {
        DistillationRefiner refiner = new DistillationRefiner(gptq.weights(), gptq.result().matrices(), quantizer, headQuantizer);
        Map<String, GptqQuantizer.Matrix> refined = refiner.refine(gptq.text(), steps,
                listener == null ? ConversionListener.NONE : listener);
        CalibrationForward.Result calibrated = gptq.result();
        return new CalibrationForward.Result(calibrated.tokens(), calibrated.sequences(), Map.copyOf(refined), steps);
    }

    /** Refuses models too large for plain-Java training, before any calibration work starts. */
    static void checkSize(LlamaConfig config) {
        if (config.parameterCount() > MAX_PARAMETERS) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
                    "refinement trains with a plain-Java forward and backward pass and is limited to models of at most "
                            + "%,d parameters; this one has %,d. Convert it with --calibrate alone.",
                    MAX_PARAMETERS, config.parameterCount()));
        }
    }

    private ScaledCodes linear(String name, Map<String, GptqQuantizer.Matrix> matrices, BlockQuantizer quantizer) {
        GptqQuantizer.Matrix matrix = matrices.get(name);
        if (matrix == null) {
            throw new IllegalArgumentException("no quantized matrix named " + name);
        }
        ScaledCodes linear = new ScaledCodes(matrix, quantizer);
        linears.put(name, linear);
        return linear;
    }

    /**
     * Runs {@code steps} Adam steps over {@code sequences} (each starting at position 0) and returns the refined
     * matrices, by the same names, in the same layout.
     */
    Map<String, GptqQuantizer.Matrix> refine(List<int[]> sequences, int steps, ConversionListener listener) {
        SplittableRandom random = new SplittableRandom(CalibrationForward.SEED + 1);
        List<int[]> order = new ArrayList<>(sequences);
        int cursor = order.size();
        for (int step = 1; step <= steps; step++) {
            List<int[]> batch = new ArrayList<>();
            while (batch.size() < Math.min(SEQUENCES_PER_STEP, sequences.size())) {
                if (cursor == order.size()) {
                    shuffle(order, random);
                    cursor = 0;
                }
                batch.add(order.get(cursor++));
            }
            double rate = 0.5 * (1 + Math.cos(Math.PI * (step - 1) / steps));
            step(batch, step, rate);
            listener.progress("refinement", step, steps);
        }
        Map<String, GptqQuantizer.Matrix> refined = new LinkedHashMap<>();
        linears.forEach((name, linear) -> refined.put(name, linear.matrix()));
        return refined;
    }

    /**
     * For tests: the derivative of one sequence's summed KL with respect to weight {@code index} of the quantized
     * linear {@code name}, analytic (first) and by central differences of {@code epsilon} (second).
     */
    double[] derivative(int[] sequence, String name, int index, float epsilon) {
        Student student = new Student();
        float[] weights = student.weights(name);
        float[] target = teacherProbabilities(sequence);
        Pass pass = student.forward(sequence);
        float[] dLogits = new float[pass.logits.length];
        klAndGradient(pass.logits, target, sequence.length, 1, dLogits);
        Gradients gradients = new Gradients();
        student.backward(pass, dLogits, gradients);
        double analytic = gradients.of(name)[index];
        float original = weights[index];
        weights[index] = original + epsilon;
        double up = klAndGradient(student.forward(sequence).logits, target, sequence.length, 1, null);
        weights[index] = original - epsilon;
        double down = klAndGradient(student.forward(sequence).logits, target, sequence.length, 1, null);
        weights[index] = original;
        return new double[]{analytic, (up - down) / (2 * epsilon)};
    }

    private static void shuffle(List<int[]> list, SplittableRandom random) {
        for (int i = list.size() - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int[] swap = list.get(i);
            list.set(i, list.get(j));
            list.set(j, swap);
        }
    }

    /**
     * One Adam step on {@code batch}. Each sequence's gradient is computed on its own (in parallel) and they are summed
     * in batch order, so the result does not depend on the number of cores.
     */
    private void step(List<int[]> batch, int step, double rate) {
        Student student = new Student();
        int positions = batch.stream().mapToInt(s -> s.length).sum();
        Gradients[] gradients = new Gradients[batch.size()];
        IntStream.range(0, batch.size()).parallel().forEach(i -> {
            int[] sequence = batch.get(i);
            Pass pass = student.forward(sequence);
            float[] dLogits = new float[pass.logits.length];
            klAndGradient(pass.logits, teacherProbabilities(sequence), sequence.length, positions, dLogits);
            gradients[i] = new Gradients();
            student.backward(pass, dLogits, gradients[i]);
        });
        Gradients total = gradients[0];
        for (int i = 1; i < gradients.length; i++) {
            total.add(gradients[i]);
        }
        for (int l = 0; l < config.layers(); l++) {
            qkv[l].update(total.qkv[l], step, rate);
            wo[l].update(total.wo[l], step, rate);
            gateUp[l].update(total.gateUp[l], step, rate);
            w2[l].update(total.w2[l], step, rate);
        }
        head.update(total.head, step, rate);
    }

    /**
     * Σ over the sequence's positions of KL(target ‖ softmax(logits)); when {@code gradient} is given, also its
     * gradient with respect to the logits divided by {@code normaliser} positions.
     */
    private double klAndGradient(float[] logits, float[] target, int length, int normaliser, float[] gradient) {
        int vocab = config.vocabSize();
        double total = 0;
        float[] probabilities = new float[vocab];
        for (int t = 0; t < length; t++) {
            Softmax.softmax(logits, t * vocab, vocab, probabilities);
            for (int v = 0; v < vocab; v++) {
                float p = target[t * vocab + v];
                if (p > 0) {
                    total += p * (Math.log(p) - Math.log(Math.max(probabilities[v], 1e-30f)));
                }
                if (gradient != null) {
                    gradient[t * vocab + v] = (probabilities[v] - p) / normaliser;
                }
            }
        }
        return total;
    }

    /** The float32 model's distributions, kept across steps while they fit in {@link #TEACHER_CACHE_BYTES}. */
    private final Map<int[], float[]> teacherCache = java.util.Collections.synchronizedMap(new java.util.IdentityHashMap<>());

    private float[] teacherProbabilities(int[] sequence) {
        if ((long) TEXT_TOKENS * config.vocabSize() * Float.BYTES > TEACHER_CACHE_BYTES) {
            return computeTeacherProbabilities(sequence);
        }
        return teacherCache.computeIfAbsent(sequence, this::computeTeacherProbabilities);
    }

    private float[] computeTeacherProbabilities(int[] sequence) {
        Pass pass = new Teacher().forward(sequence);
        int vocab = config.vocabSize();
        float[] probabilities = new float[pass.logits.length];
        float[] row = new float[vocab];
        for (int t = 0; t < sequence.length; t++) {
            Softmax.softmax(pass.logits, t * vocab, vocab, row);
            System.arraycopy(row, 0, probabilities, t * vocab, vocab);
        }
        return probabilities;
    }

    // ---- the quantized weights being refined ----

    /**
     * One linear: its codes (fixed), its block scales (refined) and Adam's moments for them. A weight is
     * (code − zero) · scale, so the loss is differentiable in the scales exactly, with no rounding in the way.
     */
    private static final class ScaledCodes {
        final int n;
        final int k;
        final BlockQuantizer quantizer;
        final int[] codes;      // [n, k], as stored: 0 .. 2^bits - 1
        final float[] scales;   // [n, blocks]
        final int[] zeros;      // [n, blocks]
        final double[] first;
        final double[] second;
        final int blocks;

        ScaledCodes(GptqQuantizer.Matrix matrix, BlockQuantizer quantizer) {
            this.n = matrix.n();
            this.k = matrix.k();
            this.quantizer = quantizer;
            this.blocks = quantizer.blocks(k);
            this.scales = matrix.scales().clone();
            this.zeros = new int[n * blocks];
            this.codes = new int[n * k];
            int rowBytes = quantizer.rowBytes(k);
            for (int r = 0; r < n; r++) {
                for (int b = 0; b < blocks; b++) {
                    zeros[r * blocks + b] = quantizer.zeroPoint(matrix.zeroPoints(), r, b, k);
                }
                for (int i = 0; i < k; i++) {
                    codes[r * k + i] = quantizer.storedCode(matrix.packed(), r * rowBytes, i);
                }
            }
            this.first = new double[n * blocks];
            this.second = new double[n * blocks];
        }

        /** The weights the graph will hold. */
        float[] quantized() {
            float[] out = new float[n * k];
            for (int r = 0; r < n; r++) {
                for (int i = 0; i < k; i++) {
                    int b = r * blocks + i / quantizer.blockSize();
                    out[r * k + i] = (codes[r * k + i] - zeros[b]) * scales[b];
                }
            }
            return out;
        }

        /** Adam on the scales, each step a fraction of the scale's own size. */
        void update(float[] gradient, int step, double rate) {
            double correction1 = 1 - Math.pow(BETA1, step);
            double correction2 = 1 - Math.pow(BETA2, step);
            int blockSize = quantizer.blockSize();
            for (int r = 0; r < n; r++) {
                for (int b = 0; b < blocks; b++) {
                    int at = r * blocks + b;
                    double g = 0;
                    for (int i = b * blockSize; i < Math.min(k, (b + 1) * blockSize); i++) {
                        g += gradient[r * k + i] * (codes[r * k + i] - zeros[at]);
                    }
                    first[at] = BETA1 * first[at] + (1 - BETA1) * g;
                    second[at] = BETA2 * second[at] + (1 - BETA2) * g * g;
                    double move = rate * LEARNING_RATE * Math.abs(scales[at]) * (first[at] / correction1)
                            / (Math.sqrt(second[at] / correction2) + EPSILON);
                    scales[at] = (float) (scales[at] - move);
                }
            }
        }

        GptqQuantizer.Matrix matrix() {
            int rowBytes = quantizer.rowBytes(k);
            int zeroBytes = quantizer.zeroPointBytes(k);
            byte[] packed = new byte[n * rowBytes];
            byte[] zeroPoints = quantizer.symmetric() ? null : new byte[n * zeroBytes];
            int blockSize = quantizer.blockSize();
            int[] blockCodes = new int[blockSize];
            byte[] rowPacked = new byte[rowBytes];
            byte[] rowZeros = new byte[zeroBytes];
            float[] rowScales = new float[blocks];
            for (int r = 0; r < n; r++) {
                quantizer.clearRow(k, rowPacked, rowZeros);
                for (int b = 0; b < blocks; b++) {
                    BlockQuantizer.BlockScale block = new BlockQuantizer.BlockScale(scales[r * blocks + b], zeros[r * blocks + b]);
                    java.util.Arrays.fill(blockCodes, zeros[r * blocks + b]);
                    for (int i = b * blockSize; i < Math.min(k, (b + 1) * blockSize); i++) {
                        blockCodes[i - b * blockSize] = codes[r * k + i];
                    }
                    quantizer.storeBlock(b, blockCodes, block, rowPacked, rowScales, rowZeros);
                }
                System.arraycopy(rowPacked, 0, packed, r * rowBytes, rowBytes);
                if (zeroPoints != null) {
                    System.arraycopy(rowZeros, 0, zeroPoints, r * zeroBytes, zeroBytes);
                }
            }
            return new GptqQuantizer.Matrix(n, k, packed, scales.clone(), zeroPoints);
        }
    }

    /** Weight gradients of one worker. */
    private final class Gradients {
        final float[][] qkv = new float[config.layers()][];
        final float[][] wo = new float[config.layers()][];
        final float[][] gateUp = new float[config.layers()][];
        final float[][] w2 = new float[config.layers()][];
        final float[] head;

        Gradients() {
            for (int l = 0; l < config.layers(); l++) {
                qkv[l] = new float[teacher.qkv()[l].length];
                wo[l] = new float[teacher.wo()[l].length];
                gateUp[l] = new float[teacher.gateUp()[l].length];
                w2[l] = new float[teacher.w2()[l].length];
            }
            head = new float[teacher.output().length];
        }

        float[] of(String name) {
            return name.equals("lm_head") ? head : byName(name, qkv, wo, gateUp, w2);
        }

        void add(Gradients other) {
            for (int l = 0; l < config.layers(); l++) {
                addAll(qkv[l], other.qkv[l]);
                addAll(wo[l], other.wo[l]);
                addAll(gateUp[l], other.gateUp[l]);
                addAll(w2[l], other.w2[l]);
            }
            addAll(head, other.head);
        }
    }

    // ---- forward and backward over one sequence ----

    /** The activations of one sequence that the backward pass needs. */
    private static final class Pass {
        int length;
        float[][] input;      // residual entering each layer [S, dim]
        float[][] middle;     // residual after attention [S, dim]
        float[][] attnNormed; // [S, dim]
        float[][] attnInverse;// [S]
        float[][] packed;     // rotated q, k and v [S, width]
        float[][] probs;      // [heads, S, S]
        float[][] attention;  // [S, qDim]
        float[][] ffnNormed;
        float[][] ffnInverse;
        float[][] gateUp;     // [S, 2 hidden]
        float[][] product;    // [S, hidden]
        float[] last;         // final residual [S, dim]
        float[] finalNormed;
        float[] finalInverse;
        float[] logits;       // [S, vocab]
    }

    /** The float32 model: the distillation target. */
    private final class Teacher extends Network {
        Teacher() {
            super(teacher.embeddings(), teacher.qkv(), teacher.wo(), teacher.gateUp(), teacher.w2(), teacher.output(),
                    teacher.attentionNorm(), teacher.ffnNorm(), teacher.finalNorm());
        }
    }

    /** The quantized model as it stands: the codes under the current scales. */
    private final class Student extends Network {
        Student() {
            super(embeddings, quantizedAll(qkv), quantizedAll(wo), quantizedAll(gateUp), quantizedAll(w2), head.quantized(),
                    teacher.attentionNorm(), teacher.ffnNorm(), teacher.finalNorm());
        }
    }

    private static float[] byName(String name, float[][] qkv, float[][] wo, float[][] gateUp, float[][] w2) {
        String[] parts = name.split("\\.");
        int l = Integer.parseInt(parts[1]);
        return switch (parts[2]) {
            case "qkv" -> qkv[l];
            case "wo" -> wo[l];
            case "gate_up" -> gateUp[l];
            case "w2" -> w2[l];
            default -> throw new IllegalArgumentException("no linear " + name);
        };
    }

    private static float[][] quantizedAll(ScaledCodes[] linears) {
        float[][] out = new float[linears.length][];
        for (int i = 0; i < linears.length; i++) {
            out[i] = linears[i].quantized();
        }
        return out;
    }

    private abstract class Network {
        final float[] embedding;
        final float[][] qkvW;
        final float[][] woW;
        final float[][] gateUpW;
        final float[][] w2W;
        final float[] headW;
        final float[][] attentionNormW;
        final float[][] ffnNormW;
        final float[] finalNormW;

        Network(float[] embedding, float[][] qkvW, float[][] woW, float[][] gateUpW, float[][] w2W, float[] headW,
                float[][] attentionNormW, float[][] ffnNormW, float[] finalNormW) {
            this.attentionNormW = attentionNormW;
            this.ffnNormW = ffnNormW;
            this.finalNormW = finalNormW;
            this.embedding = embedding;
            this.qkvW = qkvW;
            this.woW = woW;
            this.gateUpW = gateUpW;
            this.w2W = w2W;
            this.headW = headW;
        }

        float[] weights(String name) {
            return name.equals("lm_head") ? headW : byName(name, qkvW, woW, gateUpW, w2W);
        }

        Pass forward(int[] tokens) {
            int s = tokens.length;
            int dim = config.dim();
            int qDim = config.qDim();
            int hidden = config.hiddenDim();
            int layers = config.layers();
            Pass pass = new Pass();
            pass.length = s;
            pass.input = new float[layers][];
            pass.middle = new float[layers][];
            pass.attnNormed = new float[layers][];
            pass.attnInverse = new float[layers][];
            pass.packed = new float[layers][];
            pass.probs = new float[layers][];
            pass.attention = new float[layers][];
            pass.ffnNormed = new float[layers][];
            pass.ffnInverse = new float[layers][];
            pass.gateUp = new float[layers][];
            pass.product = new float[layers][];
            float[] x = new float[s * dim];
            for (int t = 0; t < s; t++) {
                System.arraycopy(embedding, tokens[t] * dim, x, t * dim, dim);
            }
            for (int l = 0; l < layers; l++) {
                pass.input[l] = x.clone();
                pass.attnInverse[l] = new float[s];
                pass.attnNormed[l] = ops.rmsNorm(x, attentionNormW[l], s, pass.attnInverse[l]);
                float[] packed = times(pass.attnNormed[l], transpose(qkvW[l], dim), s, dim);
                ops.rotateAll(packed, s, false);
                pass.packed[l] = packed;
                pass.probs[l] = new float[config.heads() * s * s];
                pass.attention[l] = ops.attend(packed, s, pass.probs[l]);
                addAll(x, times(pass.attention[l], transpose(woW[l], qDim), s, qDim));
                pass.middle[l] = x.clone();
                pass.ffnInverse[l] = new float[s];
                pass.ffnNormed[l] = ops.rmsNorm(x, ffnNormW[l], s, pass.ffnInverse[l]);
                pass.gateUp[l] = times(pass.ffnNormed[l], transpose(gateUpW[l], dim), s, dim);
                pass.product[l] = swiglu(pass.gateUp[l], s, hidden);
                addAll(x, times(pass.product[l], transpose(w2W[l], hidden), s, hidden));
            }
            pass.last = x;
            pass.finalInverse = new float[s];
            pass.finalNormed = ops.rmsNorm(x, finalNormW, s, pass.finalInverse);
            pass.logits = times(pass.finalNormed, transpose(headW, dim), s, dim);
            return pass;
        }

        /** Accumulates the weight gradients of the loss whose gradient at the logits is {@code dLogits}. */
        void backward(Pass pass, float[] dLogits, Gradients gradients) {
            int s = pass.length;
            int dim = config.dim();
            int qDim = config.qDim();
            int hidden = config.hiddenDim();
            int vocab = config.vocabSize();
            accumulate(gradients.head, dLogits, s, vocab, pass.finalNormed, dim);
            float[] dx = ops.rmsNormBackward(backThrough(dLogits, headW, s, vocab, dim), pass.last,
                    finalNormW, pass.finalInverse, s);
            for (int l = config.layers() - 1; l >= 0; l--) {
                // x_out = middle + W2 · swiglu(gateUp(norm(middle)))
                accumulate(gradients.w2[l], dx, s, dim, pass.product[l], hidden);
                float[] dProduct = backThrough(dx, w2W[l], s, dim, hidden);
                float[] dGateUp = swigluBackward(dProduct, pass.gateUp[l], s, hidden);
                accumulate(gradients.gateUp[l], dGateUp, s, 2 * hidden, pass.ffnNormed[l], dim);
                float[] dNormed = backThrough(dGateUp, gateUpW[l], s, 2 * hidden, dim);
                addAll(dx, ops.rmsNormBackward(dNormed, pass.middle[l], ffnNormW[l], pass.ffnInverse[l], s));
                // middle = input + Wo · attention(rotary(qkv(norm(input))))
                accumulate(gradients.wo[l], dx, s, dim, pass.attention[l], qDim);
                float[] dAttention = backThrough(dx, woW[l], s, dim, qDim);
                float[] dPacked = ops.attendBackward(dAttention, pass.packed[l], pass.probs[l], s);
                ops.rotateAll(dPacked, s, true);
                int width = qDim + 2 * config.kvDim();
                accumulate(gradients.qkv[l], dPacked, s, width, pass.attnNormed[l], dim);
                float[] dNormedA = backThrough(dPacked, qkvW[l], s, width, dim);
                addAll(dx, ops.rmsNormBackward(dNormedA, pass.input[l], attentionNormW[l], pass.attnInverse[l], s));
            }
        }
    }
}
