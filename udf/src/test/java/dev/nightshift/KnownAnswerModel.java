package dev.nightshift;

import dev.nightshift.engine.TextTokenizer;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.Tensor;
import dev.nightshift.model.WeightSource;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A tiny Llama whose answers are known, for tests that must show the engine picks the <i>right</i> answer (random
 * weights cannot): a bigram model built by construction, on Llama 2's real tokenizer.
 *
 * <p>How: every block's output projections ({@code wo}, {@code w2}) are zero, so the residual stream at each position
 * is the current token's embedding and nothing else; embeddings are random unit vectors {@code e_t} (nearly
 * orthogonal in 256 dimensions); the final norm scales them by {@code sqrt(dim)}. The output row of token {@code v} is
 * {@code strength * (sum of e_t over the tokens t that should be followed by v) + bias_v * u}, where {@code u} is a
 * direction every embedding shares a little of. So after token {@code t} the logit of its chosen successor is about
 * {@code strength * sqrt(dim)} and every other logit is near 0 plus {@code bias}: the next token is known, whatever
 * came before. Sequences are taught as chains ({@link #follow}): each token of the sequence is followed by the next.
 * A token followed by two successors in different chains gets the later one.
 */
public final class KnownAnswerModel {

    private static final int DIM = 256;
    private static final float STRENGTH = 2.4f;    // a taught successor's logit: about 2.4 * 16 / 0.79 = 49 above the rest
    private static final float SHARED = 0.25f;     // how much of u each embedding holds

    private final TextTokenizer tokenizer;
    private final Path tokenizerDir;
    private final Map<Integer, Integer> next = new LinkedHashMap<>();
    private final Map<Integer, Float> bias = new LinkedHashMap<>();

    private KnownAnswerModel(Path dir) throws IOException {
        this.tokenizerDir = dir.resolve("tokenizer");
        Files.createDirectories(tokenizerDir);
        RealTokenizers.llama2(tokenizerDir);
        this.tokenizer = TextTokenizer.load(tokenizerDir);
    }

    /** A model to teach, with Llama 2's tokenizer (written under {@code dir}). */
    public static KnownAnswerModel builder(Path dir) {
        try {
            return new KnownAnswerModel(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The tokenizer the model will have (BOS added, as Llama 2's). */
    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    /**
     * After the last token of {@code prompt} comes {@code continuation}, token by token, as the tokenizer splits
     * {@code prompt + continuation}; then end of sequence when {@code thenEnd}.
     */
    public KnownAnswerModel follow(String prompt, String continuation, boolean thenEnd) {
        long[] before = tokenizer.encode(prompt);
        long[] all = tokenizer.encode(prompt + continuation);
        if (!Arrays.equals(before, Arrays.copyOf(all, before.length))) {
            throw new IllegalArgumentException("'" + prompt + "' does not tokenize as a prefix of '" + prompt + continuation + "'");
        }
        List<Integer> chain = new ArrayList<>();
        chain.add((int) before[before.length - 1]);
        for (int i = before.length; i < all.length; i++) {
            chain.add((int) all[i]);
        }
        if (thenEnd) {
            chain.add(tokenizer.eosId().orElseThrow());
        }
        for (int i = 0; i + 1 < chain.size(); i++) {
            next.put(chain.get(i), chain.get(i + 1));
        }
        return this;
    }

    /**
     * The first token of {@code text} glued to what precedes it (right after other text or a quote; not the
     * tokenizer's space-prefixed variant) gets {@code logit} added after any token: the model starts {@code text}
     * wherever it is allowed to. The rest of the text needs {@link #within}.
     */
    public KnownAnswerModel prefer(String text, float logit) {
        java.util.Set<Integer> starts = new java.util.LinkedHashSet<>();
        splits(text, "a", "\"").forEach(tokens -> starts.add(tokens.get(0)));
        starts.forEach(token -> bias.put(token, logit));
        return this;
    }

    /** Each token of {@code text} is followed by the next, in each way {@link #prefer} splits it. */
    public KnownAnswerModel within(String text) {
        for (List<Integer> tokens : splits(text, "a ", "a", "\"", ": ")) {
            for (int i = 0; i + 1 < tokens.size(); i++) {
                next.put(tokens.get(i), tokens.get(i + 1));
            }
        }
        return this;
    }

    /** The tokens of {@code text} after each context, as the tokenizer splits {@code context + text}. */
    private List<List<Integer>> splits(String text, String... contexts) {
        List<List<Integer>> out = new ArrayList<>();
        for (String context : contexts) {
            long[] before = tokenizer.encode(context);
            long[] all = tokenizer.encode(context + text);
            int shared = 0;
            while (shared < before.length && shared < all.length && before[shared] == all[shared]) {
                shared++;
            }
            List<Integer> tokens = new ArrayList<>();
            for (int i = shared; i < all.length; i++) {
                tokens.add((int) all[i]);
            }
            if (!tokens.isEmpty()) {
                out.add(tokens);
            }
        }
        return out;
    }

    /** Converts the taught model (fp32, one layer) into {@code folder}. */
    public Path build(Path folder) {
        int vocab = 32000;
        LlamaConfig config = new LlamaConfig(DIM, 64, 1, 4, 4, DIM / 4, vocab, 512, 1e-5f, 10000, null, false, false,
                tokenizer.bosId().orElse(1), new int[]{tokenizer.eosId().orElse(2)});
        try {
            ModelConverter.convert(new Weights(config), folder, ConversionOptions.of(Precision.FP32),
                    RealTokenizers.gguf("ggml-vocab-llama-spm.gguf"), ConversionListener.NONE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return folder;
    }

    /** The constructed tensors (see the class comment). */
    private final class Weights implements WeightSource {

        private final LlamaConfig config;
        private final float[] embeddings;
        private final float[] shared = new float[DIM];

        Weights(LlamaConfig config) {
            this.config = config;
            SplittableRandom random = new SplittableRandom(7);
            for (int i = 0; i < DIM; i++) {
                shared[i] = (float) random.nextGaussian();
            }
            normalise(shared, 0, 1);
            embeddings = new float[config.vocabSize() * DIM];
            for (int t = 0; t < config.vocabSize(); t++) {
                for (int i = 0; i < DIM; i++) {
                    embeddings[t * DIM + i] = (float) random.nextGaussian();
                }
                normalise(embeddings, t * DIM, 1 - SHARED);
                for (int i = 0; i < DIM; i++) {
                    embeddings[t * DIM + i] += SHARED * shared[i];
                }
            }
        }

        private static void normalise(float[] v, int offset, float length) {
            double sum = 0;
            for (int i = 0; i < DIM; i++) {
                sum += v[offset + i] * v[offset + i];
            }
            float scale = (float) (length / Math.sqrt(sum));
            for (int i = 0; i < DIM; i++) {
                v[offset + i] *= scale;
            }
        }

        @Override
        public LlamaConfig config() {
            return config;
        }

        @Override
        public Tensor tensor(String name) {
            int vocab = config.vocabSize();
            int hidden = config.hiddenDim();
            return switch (name.replaceFirst("^layers\\.0\\.", "")) {
                case "tok_embeddings" -> dense(vocab, DIM, embeddings);
                case "output" -> dense(vocab, DIM, output());
                case "norm", "attention_norm", "ffn_norm" -> dense(1, DIM, filled(DIM, 1f));
                case "wq", "wk", "wv" -> dense(DIM, DIM, filled(DIM * DIM, 0.01f));
                case "wo" -> dense(DIM, DIM, new float[DIM * DIM]);
                case "w1", "w3" -> dense(hidden, DIM, filled(hidden * DIM, 0.01f));
                case "w2" -> dense(DIM, hidden, new float[DIM * hidden]);
                default -> throw new IllegalArgumentException("no tensor " + name);
            };
        }

        /** Output rows: taught successors and preferences; the shared direction is taken out of the rest. */
        private float[] output() {
            int vocab = config.vocabSize();
            float[] out = new float[vocab * DIM];
            for (Map.Entry<Integer, Integer> edge : next.entrySet()) {
                int from = edge.getKey();
                int to = edge.getValue();
                for (int i = 0; i < DIM; i++) {
                    // the taught direction without its shared part, so it does not leak into every other token
                    out[to * DIM + i] += STRENGTH * (embeddings[from * DIM + i] - SHARED * shared[i]) / (1 - SHARED) / (1 - SHARED);
                }
            }
            for (Map.Entry<Integer, Float> preferred : bias.entrySet()) {
                // normalised input holds sqrt(dim) * SHARED of u: this row adds the wanted logit after any token
                float scale = preferred.getValue() / (SHARED * (float) Math.sqrt(DIM));
                for (int i = 0; i < DIM; i++) {
                    out[preferred.getKey() * DIM + i] += scale * shared[i];
                }
            }
            return out;
        }

        private static float[] filled(int n, float value) {
            float[] values = new float[n];
            Arrays.fill(values, value);
            return values;
        }

        private static Tensor dense(int rows, int cols, float[] values) {
            return new Tensor() {
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
                    System.arraycopy(values, row * cols, dst, offset, count * cols);
                }
            };
        }

        @Override
        public String description() {
            return "known-answer bigram model (" + next.size() + " taught successors)";
        }
    }
}
