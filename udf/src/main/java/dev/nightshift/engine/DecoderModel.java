package dev.nightshift.engine;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An ONNX decoder session and the facts the loop needs about it, read from the graph's inputs and
 * outputs and from the folder's config files ({@link ModelFolder}), never from the folder's name:
 * <ul>
 *   <li>no {@code position_ids} input: a GroupQueryAttention graph (ours or ONNX Runtime GenAI's builder):
 *       right padding, one shared in-place KV buffer per layer;</li>
 *   <li>a {@code position_ids} input: attention from plain ops or MultiHeadAttention (Hugging Face Optimum style):
 *       positions fed explicitly, the past grows by concatenation;</li>
 *   <li>logits of the last position only (our metadata) or of every position.</li>
 * </ul>
 * As a {@link DecoderFactory} it opens an {@link OnnxDecoder} per batch over the cache its graph needs; the runs
 * themselves are {@link DecoderStep}'s.
 */
final class DecoderModel implements DecoderFactory, AutoCloseable {

    final Path folder;
    final OrtEnvironment env;
    final OrtSession session;
    final int layers;
    final int kvHeads;
    final int headDim;
    final int vocabSize;
    final int contextLength;
    final boolean sharedBuffer;
    final boolean lastLogitsOnly;
    final OnnxJavaType kvType;
    final int bosId;
    /** Every end-of-sequence id the folder declares (configs and tokenizer files); see {@link #addEosIds}. */
    int[] eosIds;
    final int padId;
    final String precision;
    final String provider;
    final List<String> warnings;
    /** Where shared KV caches live: host buffers, or the session's device ({@link EngineOptions#kvCache()}). */
    private final KvMemory kvMemory;

    private DecoderModel(ModelFolder files, OrtEnvironment env, OrtSession session, String provider, List<String> warnings,
                         EngineOptions options) throws OrtException {
        this.folder = files.path();
        this.env = env;
        this.session = session;
        this.provider = provider;
        Map<String, NodeInfo> inputs = session.getInputInfo();
        Map<String, NodeInfo> outputs = session.getOutputInfo();
        for (String required : List.of("input_ids", "attention_mask")) {
            if (!inputs.containsKey(required)) {
                throw new IllegalArgumentException(files.file(ModelFolder.MODEL) + " has no '" + required
                        + "' input (inputs: " + inputs.keySet() + "); Nightshift runs Llama decoders exported with "
                        + "`nightshift convert`, ONNX Runtime GenAI's model builder or Hugging Face Optimum");
            }
        }
        if (!outputs.containsKey("logits")) {
            throw new IllegalArgumentException(files.file(ModelFolder.MODEL) + " has no 'logits' output (outputs: "
                    + outputs.keySet() + ")");
        }
        int count = 0;
        while (inputs.containsKey(pastKey(count))) {
            count++;
        }
        if (count == 0) {
            throw new IllegalArgumentException(files.file(ModelFolder.MODEL) + " has no 'past_key_values.0.key' input: "
                    + "a decoder without a KV cache input cannot be run incrementally; export it with past key values");
        }
        this.layers = count;
        TensorInfo past = (TensorInfo) inputs.get(pastKey(0)).getInfo();
        long[] pastShape = past.getShape();
        this.kvHeads = (int) pastShape[1];
        this.headDim = (int) pastShape[3];
        this.kvType = past.type;
        if (kvType != OnnxJavaType.FLOAT && kvType != OnnxJavaType.FLOAT16) {
            throw new IllegalArgumentException("KV cache type " + kvType + " of " + folder + " is not supported (float32 or float16)");
        }
        TensorInfo logits = (TensorInfo) outputs.get("logits").getInfo();
        long[] logitsShape = logits.getShape();
        this.vocabSize = logitsShape[2] > 0 ? (int) logitsShape[2] : files.vocabSize();
        if (vocabSize <= 0) {
            throw new IllegalArgumentException("cannot tell the vocabulary size of " + folder + ": the logits output has no fixed "
                    + "last dimension and neither " + ModelFolder.GENAI_CONFIG + " nor " + ModelFolder.CONFIG + " gives vocab_size");
        }
        this.sharedBuffer = !inputs.containsKey("position_ids");
        String logitsMeta = session.getMetadata().getCustomMetadata().get("nightshift.logits");
        this.lastLogitsOnly = "last_position".equals(logitsMeta) || logitsShape[1] == 1;
        this.contextLength = files.contextLength();
        this.bosId = files.bosTokenId();
        this.eosIds = files.configEosIds().stream().mapToInt(Integer::intValue).toArray();
        this.padId = files.padTokenId(eosIds.length > 0 ? eosIds[0] : 0);
        String metaPrecision = session.getMetadata().getCustomMetadata().get("nightshift.precision");
        this.precision = metaPrecision != null ? metaPrecision : (kvType == OnnxJavaType.FLOAT16 ? "fp16" : "unknown");
        files.checkGraph(layers, kvHeads, headDim, vocabSize);
        List<String> notes = new ArrayList<>(warnings);
        if (options.kvCache().equals(EngineOptions.KV_DEVICE) && !sharedBuffer) {
            notes.add("kv_cache device needs a GroupQueryAttention graph (no position_ids input, as `nightshift convert` "
                    + "writes); " + folder + " takes position_ids, so its KV cache stays in host memory");
        }
        this.kvMemory = options.kvCache().equals(EngineOptions.KV_DEVICE) && sharedBuffer
                ? new DeviceKvMemory(session, provider, options.deviceId())
                : new HostKvMemory(env);
        this.warnings = List.copyOf(notes);
    }

    /** The memory shared KV caches are allocated in. */
    KvMemory kvMemory() {
        return kvMemory;
    }

    /** Opens model.onnx in {@code folder} on the requested provider, falling back to CPU unless the GPU is required. */
    static DecoderModel open(ModelFolder folder, EngineOptions options) throws IOException {
        Path file = folder.requireModel();
        // the configs are read (and a broken one refused) before the session is built, as they always were
        folder.genaiConfig();
        folder.hfConfig();
        folder.generationConfig();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<String> warnings = new ArrayList<>();
        String provider = "cpu";
        try (OrtSession.SessionOptions session = new OrtSession.SessionOptions()) {
            session.setIntraOpNumThreads(options.threads());
            session.setInterOpNumThreads(1);
            session.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (options.provider().equals("cuda")) {
                try {
                    session.addCUDA(options.deviceId());
                    provider = "cuda";
                } catch (OrtException | UnsatisfiedLinkError | RuntimeException e) {
                    String problem = CudaProblem.explain(e.getMessage(),
                            OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA));
                    if (options.requireGpu()) {
                        throw new IllegalStateException("CUDA was required (require_gpu) but is unavailable: " + problem, e);
                    }
                    warnings.add("CUDA requested but unavailable, running on CPU (set require_gpu to fail instead): " + problem);
                }
            }
            OrtSession ort;
            try {
                ort = env.createSession(file.toString(), session);
            } catch (OrtException e) {
                throw new IllegalArgumentException(folder.unloadableModel(file, e.getMessage()), e);
            }
            try {
                return new DecoderModel(folder, env, ort, provider, warnings, options);
            } catch (RuntimeException e) {
                ort.close();
                throw e;
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime session options failed: " + e.getMessage(), e);
        }
    }

    /** A decoder of {@code rows} rows over the cache this graph needs: in place for GQA graphs, growing otherwise. */
    @Override
    public Decoder open(int rows, int maxLength) {
        KvCache cache = sharedBuffer ? new SharedKvCache(this, rows, maxLength) : new GrowingKvCache(this, rows);
        return new OnnxDecoder(this, cache);
    }

    @Override
    public int padId() {
        return padId;
    }

    /** Whether the graph takes {@code position_ids} (and so a {@link GrowingKvCache} with rows of one length). */
    boolean positionIds() {
        return !sharedBuffer;
    }

    static String pastKey(int layer) {
        return "past_key_values." + layer + ".key";
    }

    static String pastValue(int layer) {
        return "past_key_values." + layer + ".value";
    }

    static String presentKey(int layer) {
        return "present." + layer + ".key";
    }

    static String presentValue(int layer) {
        return "present." + layer + ".value";
    }

    int kvElementBytes() {
        return kvType == OnnxJavaType.FLOAT16 ? 2 : 4;
    }

    /** KV bytes one token occupies across all layers (keys and values). */
    long kvBytesPerToken() {
        return 2L * layers * kvHeads * headDim * kvElementBytes();
    }

    /** Adds end-of-sequence ids declared outside the model configs (tokenizer_config.json, special_tokens_map.json). */
    void addEosIds(java.util.Collection<Integer> ids) {
        Set<Integer> all = new LinkedHashSet<>();
        for (int id : eosIds) {
            all.add(id);
        }
        for (int id : ids) {
            if (id >= 0 && id < vocabSize) {
                all.add(id);
            }
        }
        eosIds = all.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public boolean isEos(int token) {
        for (int id : eosIds) {
            if (id == token) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() throws OrtException {
        kvMemory.close();
        session.close();
    }
}
