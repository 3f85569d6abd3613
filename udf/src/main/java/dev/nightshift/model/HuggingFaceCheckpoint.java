package dev.nightshift.model;

import dev.nightshift.engine.ModelFolder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A Hugging Face Llama folder: {@code config.json} plus {@code model.safetensors}, or shards listed in
 * {@code model.safetensors.index.json}. Tensors may be F32, F16 or BF16; they read as float32. Every tensor the
 * config implies is looked up and shape-checked when the folder is opened, so a bad checkpoint fails before any
 * conversion work. Weights keep the Hugging Face rotate-half rotary layout ({@code interleavedRotary = false}).
 *
 * <pre>{@code
 * try (WeightSource model = HuggingFaceCheckpoint.open(Path.of("Llama-3.2-1B"))) {
 *     Tensor wq = model.tensor("layers.0.wq");
 * }
 * }</pre>
 */
public final class HuggingFaceCheckpoint implements WeightSource {

    /** Files copied beside the converted model when present. */
    public static final List<String> SIDE_FILES = List.of(ModelFolder.TOKENIZER, ModelFolder.TOKENIZER_CONFIG,
            ModelFolder.GENERATION_CONFIG, ModelFolder.SPECIAL_TOKENS_MAP, "tokenizer.model");

    private static final String SINGLE_FILE = "model.safetensors";
    private static final String INDEX_FILE = "model.safetensors.index.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final Map<String, String> LAYER_NAMES = Map.of("attention_norm", "input_layernorm",
            "wq", "self_attn.q_proj", "wk", "self_attn.k_proj", "wv", "self_attn.v_proj", "wo", "self_attn.o_proj",
            "ffn_norm", "post_attention_layernorm", "w1", "mlp.gate_proj", "w2", "mlp.down_proj", "w3", "mlp.up_proj");

    private final Path folder;
    private final LlamaConfig config;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> locations;
    private final Map<String, Tensor> tensors = new ConcurrentHashMap<>();

    private HuggingFaceCheckpoint(Path folder, LlamaConfig config, List<SafetensorsFile> files,
                                  Map<String, SafetensorsFile> locations) {
        this.folder = folder;
        this.config = config;
        this.files = files;
        this.locations = locations;
    }

    /** Opens a folder, reading its config and safetensors headers and checking every tensor's dtype and shape. */
    public static HuggingFaceCheckpoint open(Path folder) throws IOException {
        LlamaConfig config = readConfig(folder);
        List<SafetensorsFile> files = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> locations = locateTensors(folder, files);
            HuggingFaceCheckpoint checkpoint = new HuggingFaceCheckpoint(folder, config, files, locations);
            for (String name : CanonicalTensors.shapes(config).keySet()) {
                checkpoint.resolve(name);
            }
            return checkpoint;
        } catch (IOException | RuntimeException e) {
            for (SafetensorsFile file : files) {
                file.close();
            }
            throw e;
        }
    }

    /** The Hugging Face name of a canonical one, e.g. {@code layers.3.w1} is {@code model.layers.3.mlp.gate_proj.weight}. */
    public static String huggingFaceName(String canonicalName) {
        switch (canonicalName) {
            case "tok_embeddings":
                return "model.embed_tokens.weight";
            case "norm":
                return "model.norm.weight";
            case "output":
                return "lm_head.weight";
            default:
                String[] parts = canonicalName.split("\\.");
                String suffix = parts.length == 3 && parts[0].equals("layers") ? LAYER_NAMES.get(parts[2]) : null;
                if (suffix == null || !parts[1].matches("\\d+")) {
                    throw new IllegalArgumentException("no Hugging Face name for tensor " + canonicalName);
                }
                return "model.layers." + parts[1] + "." + suffix + ".weight";
        }
    }

    // ---------------------------------------------------------------------------------------------- config.json

    /** Reads {@code config.json} (and {@code generation_config.json}'s EOS ids) of a Llama folder. */
    public static LlamaConfig readConfig(Path folder) throws IOException {
        Path file = folder.resolve(ModelFolder.CONFIG);
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(folder + " has no config.json: not a Hugging Face checkpoint folder");
        }
        JsonNode root = readJson(file);
        checkArchitecture(file, root);
        checkVariant(file, root);
        int dim = intField(file, root, "hidden_size", null);
        int heads = intField(file, root, "num_attention_heads", null);
        Set<Integer> eos = new LinkedHashSet<>(tokenIds(file, root, "eos_token_id"));
        Integer bos = root.hasNonNull("bos_token_id") ? intField(file, root, "bos_token_id", null) : null;
        Path generation = folder.resolve(ModelFolder.GENERATION_CONFIG);
        if (Files.isRegularFile(generation)) {
            JsonNode generationRoot = readJson(generation);
            eos.addAll(tokenIds(generation, generationRoot, "eos_token_id"));
            if (bos == null && generationRoot.hasNonNull("bos_token_id")) {
                bos = intField(generation, generationRoot, "bos_token_id", null);
            }
        }
        if (eos.isEmpty()) {
            eos.add(2); // transformers' LlamaConfig default
        }
        JsonNode ropeParameters = root.path("rope_parameters"); // transformers 5 moved rope settings here
        double ropeTheta = root.hasNonNull("rope_theta") ? doubleField(file, root, "rope_theta", null)
                : doubleField(file, ropeParameters, "rope_theta", 10000.0);
        JsonNode scaling = root.hasNonNull("rope_scaling") ? root.get("rope_scaling") : ropeParameters;
        try {
            return new LlamaConfig(dim, intField(file, root, "intermediate_size", null),
                    intField(file, root, "num_hidden_layers", null), heads,
                    intField(file, root, "num_key_value_heads", heads),
                    intField(file, root, "head_dim", heads > 0 ? dim / heads : 0),
                    intField(file, root, "vocab_size", null),
                    intField(file, root, "max_position_embeddings", 2048),
                    (float) doubleField(file, root, "rms_norm_eps", 1e-6), ropeTheta, ropeScaling(file, scaling),
                    false, booleanField(file, root, "tie_word_embeddings", false), bos == null ? 1 : bos,
                    eos.stream().mapToInt(Integer::intValue).toArray());
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file + ": " + e.getMessage(), e);
        }
    }

    private static void checkArchitecture(Path file, JsonNode root) throws CheckpointException {
        JsonNode architectures = root.path("architectures");
        String modelType = root.path("model_type").asText(null);
        boolean llamaArchitecture = false;
        String named = modelType;
        for (JsonNode architecture : architectures) {
            named = architecture.asText();
            llamaArchitecture |= named.equals("LlamaForCausalLM");
        }
        boolean ok = (llamaArchitecture || architectures.isMissingNode() || architectures.isEmpty())
                && (modelType == null || modelType.equals("llama")) && named != null;
        if (!ok) {
            throw new CheckpointException("unsupported architecture " + (named == null ? "(none named)" : named)
                    + " in " + file + "; Nightshift converts Llama models (architectures [\"LlamaForCausalLM\"],"
                    + " model_type \"llama\")");
        }
    }

    /** Llama options that change the math in ways Nightshift does not implement. */
    private static void checkVariant(Path file, JsonNode root) throws CheckpointException {
        for (String bias : new String[] {"attention_bias", "mlp_bias"}) {
            if (booleanField(file, root, bias, false)) {
                throw new CheckpointException(file + " sets " + bias + " = true; Nightshift converts Llama models"
                        + " without bias terms");
            }
        }
        String activation = root.path("hidden_act").asText("silu");
        if (!activation.equals("silu")) {
            throw new CheckpointException(file + " sets hidden_act = " + activation + "; Nightshift's feed-forward"
                    + " is SwiGLU (silu)");
        }
    }

    /** llama3 frequency scaling, or null for none; any other rope type is refused. */
    private static LlamaConfig.RopeScaling ropeScaling(Path file, JsonNode node) throws CheckpointException {
        if (node == null || node.isMissingNode() || node.isNull()) {
            return null;
        }
        String type = node.hasNonNull("rope_type") ? node.get("rope_type").asText() : node.path("type").asText(null);
        if (type == null || type.equals("default")) {
            return null;
        }
        if (!type.equals("llama3")) {
            throw new CheckpointException("unsupported rope_scaling type " + type + " in " + file
                    + "; Nightshift supports the \"llama3\" type or none");
        }
        try {
            return new LlamaConfig.RopeScaling(doubleField(file, node, "factor", null),
                    doubleField(file, node, "low_freq_factor", null), doubleField(file, node, "high_freq_factor", null),
                    intField(file, node, "original_max_position_embeddings", null));
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode readJson(Path file) throws CheckpointException {
        try {
            JsonNode root = JSON.readTree(file.toFile());
            if (root == null || !root.isObject()) {
                throw new CheckpointException(file + " is not a JSON object");
            }
            return root;
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static int intField(Path file, JsonNode node, String field, Integer fallback) throws CheckpointException {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            if (fallback == null) {
                throw new CheckpointException(file + " lacks " + field);
            }
            return fallback;
        }
        if (!value.canConvertToInt() || !value.isIntegralNumber()) {
            throw new CheckpointException(file + " has " + field + " = " + value + " (expected an integer)");
        }
        return value.intValue();
    }

    private static double doubleField(Path file, JsonNode node, String field, Double fallback)
            throws CheckpointException {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            if (fallback == null) {
                throw new CheckpointException(file + " lacks " + field);
            }
            return fallback;
        }
        if (!value.isNumber()) {
            throw new CheckpointException(file + " has " + field + " = " + value + " (expected a number)");
        }
        return value.doubleValue();
    }

    private static boolean booleanField(Path file, JsonNode node, String field, boolean fallback)
            throws CheckpointException {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return fallback;
        }
        if (!value.isBoolean()) {
            throw new CheckpointException(file + " has " + field + " = " + value + " (expected true or false)");
        }
        return value.booleanValue();
    }

    /** An int, a list of ints, or nothing. */
    private static List<Integer> tokenIds(Path file, JsonNode node, String field) throws CheckpointException {
        JsonNode value = node.get(field);
        List<Integer> ids = new ArrayList<>();
        if (value == null || value.isNull()) {
            return ids;
        }
        for (JsonNode id : value.isArray() ? value : List.of(value)) {
            if (!id.canConvertToInt() || !id.isIntegralNumber()) {
                throw new CheckpointException(file + " has " + field + " = " + value
                        + " (expected a token id or a list of them)");
            }
            ids.add(id.intValue());
        }
        return ids;
    }

    // ---------------------------------------------------------------------------------------------- tensors

    /** Opens the safetensors files (into {@code opened}) and maps each Hugging Face tensor name to its file. */
    private static Map<String, SafetensorsFile> locateTensors(Path folder, List<SafetensorsFile> opened)
            throws IOException {
        Map<String, SafetensorsFile> locations = new LinkedHashMap<>();
        Path index = folder.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) {
            JsonNode weightMap = readJson(index).path("weight_map");
            if (!weightMap.isObject()) {
                throw new CheckpointException(index + " has no \"weight_map\" object");
            }
            Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> entry : weightMap.properties()) {
                String fileName = entry.getValue().asText();
                SafetensorsFile file = byName.get(fileName);
                if (file == null) {
                    Path path = folder.resolve(fileName);
                    if (!Files.isRegularFile(path)) {
                        throw new CheckpointException(index + " puts tensor " + entry.getKey() + " in " + fileName
                                + ", which is missing from " + folder);
                    }
                    file = SafetensorsFile.open(path);
                    opened.add(file);
                    byName.put(fileName, file);
                }
                locations.put(entry.getKey(), file);
            }
            return locations;
        }
        Path single = folder.resolve(SINGLE_FILE);
        if (!Files.isRegularFile(single)) {
            throw new CheckpointException(folder + " has neither " + SINGLE_FILE + " nor " + INDEX_FILE
                    + "; Nightshift reads safetensors checkpoints (save with save_pretrained(safe_serialization=True))");
        }
        SafetensorsFile file = SafetensorsFile.open(single);
        opened.add(file);
        for (String name : file.entries().keySet()) {
            locations.put(name, file);
        }
        return locations;
    }

    /** Finds a canonical tensor's entry and checks its dtype and shape against the config. */
    private Tensor resolve(String name) throws CheckpointException {
        int[] shape = CanonicalTensors.shape(config, name);
        String hfName = huggingFaceName(name);
        SafetensorsFile file = locations.get(hfName);
        SafetensorsFile.Entry entry = file == null ? null : file.entry(hfName);
        if (entry == null) {
            String where = file != null ? file.file() + " (although " + INDEX_FILE + " lists it there)"
                    : files.size() == 1 ? files.get(0).file().toString() : folder + "'s safetensors files";
            String hint = name.equals("output")
                    ? "; config.json sets tie_word_embeddings=false, set it to true if the model reuses its embeddings"
                    : "; is config.json (" + config.layers() + " layers) from another model?";
            throw new CheckpointException("tensor " + hfName + " is missing from " + where + hint);
        }
        MappedTensor.Encoding encoding = switch (entry.dtype()) {
            case "F32" -> MappedTensor.Encoding.F32;
            case "F16" -> MappedTensor.Encoding.F16;
            case "BF16" -> MappedTensor.Encoding.BF16;
            default -> throw new CheckpointException("tensor " + hfName + " in " + file.file() + " has dtype "
                    + entry.dtype() + "; Nightshift reads F32, F16, BF16 (dequantize the checkpoint first)");
        };
        List<Long> expected = shape[0] == 1 && !name.equals("tok_embeddings") && !name.equals("output")
                ? List.of((long) shape[1]) : List.of((long) shape[0], (long) shape[1]);
        if (!entry.shape().equals(expected)) {
            throw new CheckpointException("tensor " + hfName + " in " + file.file() + " has shape " + entry.shape()
                    + "; config.json implies " + expected);
        }
        return file.map(entry, shape[0], shape[1], encoding);
    }

    @Override
    public LlamaConfig config() {
        return config;
    }

    @Override
    public Tensor tensor(String name) {
        return tensors.computeIfAbsent(name, n -> {
            try {
                return resolve(n);
            } catch (CheckpointException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
        });
    }

    @Override
    public Map<String, Path> sideFiles() {
        Map<String, Path> present = new LinkedHashMap<>();
        for (String name : SIDE_FILES) {
            if (Files.isRegularFile(folder.resolve(name))) {
                present.put(name, folder.resolve(name));
            }
        }
        return present;
    }

    @Override
    public String description() {
        return "Hugging Face checkpoint " + folder + " (" + files.size() + " safetensors file"
                + (files.size() == 1 ? "" : "s") + ")";
    }

    @Override
    public void close() throws IOException {
        for (SafetensorsFile file : files) {
            file.close();
        }
    }
}
