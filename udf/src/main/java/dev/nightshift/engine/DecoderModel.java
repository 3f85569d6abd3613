package dev.nightshift.engine;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An ONNX decoder session and the facts the loop needs about it, read from the graph's inputs and
 * outputs and from {@code genai_config.json} / {@code config.json}, never from the folder's name:
 * <ul>
 *   <li>no {@code position_ids} input: a GroupQueryAttention graph (ours or ONNX Runtime GenAI's builder):
 *       right padding, one shared in-place KV buffer per layer;</li>
 *   <li>a {@code position_ids} input: attention from plain ops or MultiHeadAttention (Hugging Face Optimum style):
 *       positions fed explicitly, the past grows by concatenation;</li>
 *   <li>logits of the last position only (our metadata) or of every position.</li>
 * </ul>
 */
final class DecoderModel implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

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

    private DecoderModel(Path folder, OrtEnvironment env, OrtSession session, JsonNode genai, JsonNode hfConfig,
                         JsonNode generation, String provider, List<String> warnings) throws OrtException {
        this.folder = folder;
        this.env = env;
        this.session = session;
        this.provider = provider;
        this.warnings = List.copyOf(warnings);
        Map<String, NodeInfo> inputs = session.getInputInfo();
        Map<String, NodeInfo> outputs = session.getOutputInfo();
        for (String required : List.of("input_ids", "attention_mask")) {
            if (!inputs.containsKey(required)) {
                throw new IllegalArgumentException(folder.resolve("model.onnx") + " has no '" + required
                        + "' input (inputs: " + inputs.keySet() + "); Nightshift runs Llama decoders exported with "
                        + "`nightshift convert`, ONNX Runtime GenAI's model builder or Hugging Face Optimum");
            }
        }
        if (!outputs.containsKey("logits")) {
            throw new IllegalArgumentException(folder.resolve("model.onnx") + " has no 'logits' output (outputs: "
                    + outputs.keySet() + ")");
        }
        int count = 0;
        while (inputs.containsKey(pastKey(count))) {
            count++;
        }
        if (count == 0) {
            throw new IllegalArgumentException(folder.resolve("model.onnx") + " has no 'past_key_values.0.key' input: "
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
        this.vocabSize = logitsShape[2] > 0 ? (int) logitsShape[2] : intAt(genai, "/model/vocab_size", intAt(hfConfig, "/vocab_size", -1));
        if (vocabSize <= 0) {
            throw new IllegalArgumentException("cannot tell the vocabulary size of " + folder + ": the logits output has no fixed "
                    + "last dimension and neither genai_config.json nor config.json gives vocab_size");
        }
        this.sharedBuffer = !inputs.containsKey("position_ids");
        String logitsMeta = session.getMetadata().getCustomMetadata().get("nightshift.logits");
        this.lastLogitsOnly = "last_position".equals(logitsMeta) || logitsShape[1] == 1;
        this.contextLength = intAt(genai, "/model/context_length",
                intAt(hfConfig, "/max_position_embeddings", 2048));
        this.bosId = intAt(genai, "/model/bos_token_id", intAt(hfConfig, "/bos_token_id", 1));
        Set<Integer> eos = new LinkedHashSet<>();
        addIds(eos, genai == null ? null : genai.at("/model/eos_token_id"));
        addIds(eos, hfConfig == null ? null : hfConfig.at("/eos_token_id"));
        addIds(eos, generation == null ? null : generation.at("/eos_token_id"));
        this.eosIds = eos.stream().mapToInt(Integer::intValue).toArray();
        this.padId = intAt(genai, "/model/pad_token_id", eosIds.length > 0 ? eosIds[0] : 0);
        String metaPrecision = session.getMetadata().getCustomMetadata().get("nightshift.precision");
        this.precision = metaPrecision != null ? metaPrecision : (kvType == OnnxJavaType.FLOAT16 ? "fp16" : "unknown");
        checkAgainstGenai(genai);
    }

    /** Opens model.onnx in {@code folder} on the requested provider, falling back to CPU unless the GPU is required. */
    static DecoderModel open(Path folder, EngineOptions options) throws IOException {
        Path file = folder.resolve("model.onnx");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("model folder " + folder + " has no model.onnx; convert a checkpoint with "
                    + "`nightshift convert --from CHECKPOINT --to " + folder + "`");
        }
        JsonNode genai = readJson(folder.resolve("genai_config.json"));
        JsonNode hfConfig = readJson(folder.resolve("config.json"));
        JsonNode generation = readJson(folder.resolve("generation_config.json"));
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
                    if (options.requireGpu()) {
                        throw new IllegalStateException("CUDA was required (requireGpu) but is unavailable: " + e.getMessage()
                                + ". Build with `mvn -Pgpu` (onnxruntime_gpu) and run on a node with a CUDA 12 driver.", e);
                    }
                    warnings.add("CUDA requested but unavailable (" + e.getMessage() + "); running on CPU. "
                            + "Set requireGpu to fail instead.");
                }
            }
            OrtSession ort;
            try {
                ort = env.createSession(file.toString(), session);
            } catch (OrtException e) {
                throw new IllegalArgumentException("cannot load " + file + ": " + e.getMessage()
                        + " (the file is corrupt or incomplete, or model.onnx.data is missing; re-run `nightshift convert`)", e);
            }
            try {
                return new DecoderModel(folder, env, ort, genai, hfConfig, generation, provider, warnings);
            } catch (RuntimeException e) {
                ort.close();
                throw e;
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime session options failed: " + e.getMessage(), e);
        }
    }

    private void checkAgainstGenai(JsonNode genai) {
        if (genai == null) {
            return;
        }
        int configured = intAt(genai, "/model/decoder/num_hidden_layers", layers);
        int configuredKv = intAt(genai, "/model/decoder/num_key_value_heads", kvHeads);
        int configuredHead = intAt(genai, "/model/decoder/head_size", headDim);
        int configuredVocab = intAt(genai, "/model/vocab_size", vocabSize);
        if (configured != layers || configuredKv != kvHeads || configuredHead != headDim || configuredVocab != vocabSize) {
            throw new IllegalArgumentException("genai_config.json in " + folder + " does not match model.onnx: config says "
                    + configured + " layers, " + configuredKv + " KV heads, head size " + configuredHead + ", vocab "
                    + configuredVocab + "; the graph has " + layers + ", " + kvHeads + ", " + headDim + ", " + vocabSize
                    + ". The folder mixes files of two models: re-run `nightshift convert`");
        }
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

    boolean isEos(int token) {
        for (int id : eosIds) {
            if (id == token) {
                return true;
            }
        }
        return false;
    }

    private static JsonNode readJson(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot parse " + file + ": " + e.getMessage(), e);
        }
    }

    private static int intAt(JsonNode node, String pointer, int fallback) {
        if (node == null) {
            return fallback;
        }
        JsonNode value = node.at(pointer);
        return value.isNumber() ? value.asInt() : fallback;
    }

    private static void addIds(Set<Integer> ids, JsonNode node) {
        if (node == null || node.isMissingNode() || node.isNull()) {
            return;
        }
        if (node.isArray()) {
            node.forEach(id -> ids.add(id.asInt()));
        } else if (node.isNumber()) {
            ids.add(node.asInt());
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
