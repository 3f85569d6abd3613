package dev.nightshift.engine;

import dev.nightshift.chat.ChatTemplate;
import ai.onnxruntime.OrtException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;

/**
 * Batched Llama text generation on ONNX Runtime: N prompts in, N completions out.
 *
 * <pre>{@code
 * try (LlmEngine engine = LlmEngine.open(Path.of("models/stories260K"), EngineOptions.defaults())) {
 *     List<GenerationResult> out = engine.generate(List.of(Prompt.of("Once upon a time", GenerationOptions.greedy(64))));
 * }
 * }</pre>
 *
 * <p><b>Guarantee, and its limit.</b> Under greedy decoding a row's output is the same, token for token,
 * whatever other rows share its batch and whether it started with the batch or later in a finished row's slot
 * (continuous batching, {@link GenerationLoop}; tested on every graph kind the engine runs): padding never reaches a
 * row's attention (right padding with per-row attention lengths for GQA graphs; equal-length batches for the others), a
 * refilled row's prompt is prefilled alone into its emptied slot, a
 * shared prefix is applied per row whatever its batch, and each row samples from its own seeded stream. But the
 * logits are not bit-identical across batch sizes: ONNX Runtime's kernels (MatMulNBits, most likely) can choose their
 * code path by the number of rows, which changes the last bits. Greedy choices have absorbed that in every test;
 * a sampled row can draw another token where its random number falls between the two roundings, so sampled
 * output is reproducible for the same input (the plan of batches and refills is deterministic), not across batch sizes (observed on a random int4 model: four
 * identical sampled prompts agree with each other in one batch and differ from the same prompt alone; on the fp32
 * graph of {@code EngineBatchingTest} sampled rows match alone).
 *
 * <p><b>Concurrency.</b> One engine per model per JVM serves every thread (every Spark task of an
 * executor). Each call keeps its own KV caches; batches (continuous runs: from first prefill to last token) from
 * different threads run one at a time, since each already uses all the intra-op threads and holds its budget of KV
 * cache, so concurrent callers queue rather than oversubscribe the cores or the memory. Tokenization and result
 * decoding run outside that gate.
 */
public final class LlmEngine implements TextGenerator {

    private final DecoderModel model;
    private final TextTokenizer tokenizer;
    private final EngineOptions options;
    private final ModelInfo info;
    private final Semaphore gate = new Semaphore(1, true);
    private final PromptEncoder encoder;
    /** One plan for generation and label scoring: the same budget, batch size and cache constraints. */
    private final BatchPlanner planner;
    private final DecodeCounters counters = new DecodeCounters();
    /** One compiled grammar per JSON schema, with its token masks, shared by every row and thread of this engine. */
    private final Map<String, TokenConstraint> constraints = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile TokenBytes vocabulary;
    private volatile String vocabularyProblem;
    /** Label ids after prompts, computed once per prompt ending: once per classify task, not per row. */
    private final LabelContinuations labelContinuations;

    private LlmEngine(DecoderModel model, TextTokenizer tokenizer, EngineOptions options, ModelInfo info) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.labelContinuations = new LabelContinuations(tokenizer);
        this.options = options;
        this.info = info;
        ChatTemplate template = null;
        String problem;
        try {
            template = tokenizer.chatTemplate().orElse(null);
            problem = "chat formatting was asked for, but " + model.folder + " has no chat template (" + ModelFolder.TOKENIZER_CONFIG
                    + " chat_template or " + ModelFolder.CHAT_TEMPLATE + "); turn chat off or add the model's template";
        } catch (IOException | RuntimeException e) {
            problem = "the chat template of " + model.folder + " cannot be used: " + Reason.of(e);
        }
        this.encoder = new PromptEncoder(tokenizer, template, problem, model.contextLength);
        this.planner = new BatchPlanner(model.sharedBuffer, options.maxBatchSize(), options.kvBudgetBytes(), model.kvBytesPerToken());
    }

    /**
     * Opens a model folder (from {@code nightshift convert}, ONNX Runtime GenAI's builder, or a Hugging Face
     * Optimum export). Everything that can be wrong with the folder is reported here, before any work starts.
     *
     * @throws IllegalArgumentException naming the missing or broken file and the fix
     */
    public static LlmEngine open(Path folder, EngineOptions options) throws IOException {
        ModelFolder files = ModelFolder.open(folder);
        TextTokenizer tokenizer = TextTokenizer.load(folder);
        try {
            DecoderModel model = DecoderModel.open(files, options);
            // An end token declared only in the tokenizer files (Llama 3 instruct's <|eot_id|>) must stop generation too.
            model.addEosIds(tokenizer.declaredEosIds());
            ModelInfo info = new ModelInfo(files.id(), files.fingerprint(), model.contextLength, model.precision, model.provider);
            return new LlmEngine(model, tokenizer, options, info);
        } catch (IOException | RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    @Override
    public ModelInfo model() {
        return info;
    }

    /** Warnings from loading (for instance a CUDA request that fell back to CPU); the caller decides how to show them. */
    @Override
    public List<String> warnings() {
        return model.warnings;
    }

    /**
     * Where the KV cache lives: {@code host}, or {@code device cpu:0} / {@code device cuda:N} with
     * {@link EngineOptions#kvCache()} {@code device} on a GroupQueryAttention graph.
     */
    public String kvCacheMemory() {
        return model.kvMemory().where();
    }

    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public int countTokens(String text) {
        return tokenizer.encode(text).length - (tokenizer.addsBos() ? 1 : 0);
    }

    @Override
    public int[] tokenStarts(String text) {
        return tokenizer.tokenStarts(text);
    }

    /** The prompt's token count as {@code generate} would encode it, before any overflow policy shortens it. */
    @Override
    public int promptTokens(Prompt prompt) {
        return encoder.encode(prompt, 0).tokens();
    }

    @Override
    public List<GenerationResult> generate(List<Prompt> prompts) {
        GenerationResult[] results = new GenerationResult[prompts.size()];
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            try {
                rows.add(prepare(i, prompts.get(i)));
            } catch (RuntimeException e) {
                results[i] = GenerationResult.failed(ErrorCode.BAD_PROMPT.message(Reason.of(e)), 0);
            }
        }
        execute(rows, results);
        return Arrays.asList(results);
    }

    /** Generates from token ids (no tokenizer, no chat template): for callers that tokenize themselves, and for tests. */
    public List<GenerationResult> generateIds(List<int[]> prompts, GenerationOptions options) {
        GenerationResult[] results = new GenerationResult[prompts.size()];
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            int[] ids = prompts.get(i);
            TokenConstraint constraint = null;
            String problem = null;
            try {
                constraint = constraint(options);
            } catch (RuntimeException e) {
                problem = ErrorCode.BAD_PROMPT.message(Reason.of(e));
            }
            Row row = new Row(i, ids.length == 0 ? new int[]{model.bosId} : ids, options, null, null, false, model.contextLength,
                    constraint);
            if (problem != null) {
                row.error = problem;
                rows.add(row);
                continue;
            }
            if (ids.length == 0 || ids.length >= model.contextLength) {
                row.error = ids.length == 0 ? ErrorCode.EMPTY_PROMPT.message("empty prompt")
                        : ErrorCode.CONTEXT_OVERFLOW.message("prompt of " + ids.length
                        + " tokens does not fit the model's context of " + model.contextLength + " tokens");
            }
            rows.add(row);
        }
        execute(rows, results);
        return Arrays.asList(results);
    }

    private void execute(List<Row> rows, GenerationResult[] results) {
        for (Row row : rows) {
            if (row.error != null) {
                results[row.index] = row.result(0);
            }
        }
        List<Row> runnable = new ArrayList<>(rows);
        runnable.removeIf(row -> row.error != null);
        Map<String, Decoder> prefixes = new LinkedHashMap<>();
        try {
            GenerationLoop loop = new GenerationLoop(model, tokenizer, prefixes, counters);
            // Continuous batching needs a cache that can refill one row (GQA graphs); GenerationLoop says why.
            if (options.continuousBatching() && model.sharedBuffer) {
                for (BatchPlanner.Run<Row> run : planner.runs(runnable)) {
                    runUnderGate(run.rows(), results, () -> loop.runContinuous(run.rows(), run.slots()));
                }
            } else {
                for (List<Row> batch : planner.plan(runnable)) {
                    runUnderGate(batch, results, () -> loop.run(batch));
                }
            }
        } finally {
            prefixes.values().forEach(Decoder::close);
        }
    }

    private interface Work {
        void run() throws OrtException;
    }

    /**
     * Runs one batch or continuous run alone on the engine (see Concurrency) and turns its rows into results. A failure
     * fails the rows that had not finished, with the reason; rows that had finished keep their output.
     */
    private void runUnderGate(List<Row> rows, GenerationResult[] results, Work work) {
        long start = System.nanoTime();
        try {
            gate.acquireUninterruptibly();
            try {
                work.run();
            } finally {
                gate.release();
            }
        } catch (OrtException | RuntimeException e) {
            for (Row row : rows) {
                if (!row.done()) {
                    row.error = ErrorCode.ENGINE_FAILURE.message("inference failed for this row's batch: " + Reason.of(e));
                }
            }
        }
        for (Row row : rows) {
            // Where each token's text ends serves field confidences of constrained (extract) rows only.
            results[row.index] = row.result(start, row.options.jsonSchema() != null ? tokenizer : null);
        }
    }

    /** What the generation loops of this engine have done so far (decode steps, rows per step, refills), all callers together. */
    public DecodeStats decodeStats() {
        return counters.snapshot();
    }

    /** How many (prompt, label) pairs label scoring has tokenized in full; the rest reused a task's ids. */
    long labelEncodings() {
        return labelContinuations.encoded();
    }

    @Override
    public List<LabelScores> classify(List<Prompt> prompts, List<String> labels) {
        if (labels == null || labels.isEmpty()) {
            throw new IllegalArgumentException("classify needs at least one label");
        }
        LabelScorer scorer = new LabelScorer(model, tokenizer, labelContinuations);
        int reserve = scorer.longestAnswerBound(labels);
        LabelScores[] scores = new LabelScores[prompts.size()];
        List<LabelScorer.Candidates> runnable = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            Prompt prompt = prompts.get(i);
            PromptEncoder.Encoded encoded;
            try {
                encoded = encoder.encode(prompt, reserve);
            } catch (RuntimeException e) {
                scores[i] = new LabelScores(labels, new double[0], 0, ErrorCode.BAD_PROMPT.message(Reason.of(e)));
                continue;
            }
            if (encoded.error() != null) {
                scores[i] = new LabelScores(labels, new double[0], encoded.tokens(), encoded.error());
                continue;
            }
            try {
                LabelScorer.Prepared prepared = scorer.prepare(i, encoded, prompt.chat(), prompt.options().stopStrings(), labels);
                if (prepared.failure() != null) {
                    scores[i] = prepared.failure();
                } else {
                    runnable.add(prepared.candidates());
                }
            } catch (RuntimeException e) {
                scores[i] = scoringFailed(labels, encoded.ids().length, e);
            }
        }
        // Planned like generation rows; each row is still scored on its own (LabelScorer.score says why), and a failure
        // fails only its row, as when rows were scored one call each.
        for (List<LabelScorer.Candidates> batch : planner.plan(runnable)) {
            gate.acquireUninterruptibly();
            try {
                for (LabelScorer.Candidates row : batch) {
                    try {
                        scores[row.index()] = scorer.score(row);
                    } catch (OrtException | RuntimeException e) {
                        scores[row.index()] = scoringFailed(labels, row.ids().length, e);
                    }
                }
            } finally {
                gate.release();
            }
        }
        return Arrays.asList(scores);
    }

    private static LabelScores scoringFailed(List<String> labels, int promptTokens, Exception e) {
        return new LabelScores(labels, new double[0], promptTokens, ErrorCode.ENGINE_FAILURE.message("label scoring failed: " + Reason.of(e)));
    }

    /** Text to ids, chat template, shared prefix, overflow policy: everything that can fail per row, before any batch. */
    private Row prepare(int index, Prompt prompt) {
        int maxNew = prompt.options().maxNewTokens();
        PromptEncoder.Encoded encoded = encoder.encode(prompt, maxNew);
        if (encoded.error() != null) {
            Row row = new Row(index, new int[]{model.bosId}, prompt.options(), null, null, false, model.contextLength);
            row.error = encoded.error();
            row.reportedPromptTokens = encoded.tokens();
            return row;
        }
        int[] ids = encoded.ids();
        Row row = new Row(index, ids, prompt.options(), encoded.prefixKey(), encoded.prefixIds(), encoded.truncated(),
                model.contextLength, constraint(prompt.options()));
        if (encoded.warning() != null) {
            row.warn(encoded.warning());
        }
        if (row.maxNewTokens < maxNew) {
            row.warn("room for only " + row.maxNewTokens + " of max_new_tokens " + maxNew + " after the prompt of "
                    + ids.length + " tokens (context " + model.contextLength + ")");
        }
        return row;
    }

    /**
     * The compiled grammar of the options' JSON schema, or null without one. Compiled once per schema; the vocabulary's
     * bytes are read from tokenizer.json on first use.
     *
     * @throws IllegalArgumentException when the schema is outside what constrained decoding supports
     */
    TokenConstraint constraint(GenerationOptions options) {
        String schema = options.jsonSchema();
        if (schema == null) {
            return null;
        }
        if (model.eosIds.length == 0) {
            throw new IllegalArgumentException("constrained decoding ends the output with the model's end-of-sequence "
                    + "token, and " + model.folder + " declares none; add eos_token_id to its config");
        }
        return constraints.computeIfAbsent(schema, s -> new TokenConstraint(JsonSchemaGrammar.of(s), vocabulary(), model.eosIds));
    }

    private TokenBytes vocabulary() {
        TokenBytes bytes = vocabulary;
        if (bytes == null) {
            synchronized (this) {
                if (vocabulary == null && vocabularyProblem == null) {
                    try {
                        vocabulary = TokenBytes.of(tokenizer.modelDir(), model.vocabSize);
                    } catch (java.io.IOException | RuntimeException e) {
                        // kept: every later row gets the same answer without reading tokenizer.json again
                        vocabularyProblem = "cannot use the tokenizer of " + model.folder + " for constrained decoding: "
                                + Reason.of(e);
                    }
                }
                if (vocabularyProblem != null) {
                    throw new IllegalArgumentException(vocabularyProblem);
                }
                bytes = vocabulary;
            }
        }
        return bytes;
    }

    static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    @Override
    public void close() {
        try {
            model.close();
        } catch (OrtException e) {
            throw new IllegalStateException("closing the ONNX Runtime session failed: " + e.getMessage(), e);
        } finally {
            tokenizer.close();
        }
    }
}
