package dev.nightshift.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Test helper: writes a {@link WeightSource} as a Hugging Face Llama folder ({@code config.json} plus safetensors
 * in F32, F16 or BF16, optionally sharded with an index). Immutable: each option returns a new writer.
 *
 * <pre>{@code
 * HuggingFaceWriter.of(new RandomWeights(config, 1)).dtype("BF16").shards(3).write(dir);
 * }</pre>
 */
public final class HuggingFaceWriter {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Integer> DTYPE_BYTES = Map.of("F32", 4, "F16", 2, "BF16", 2, "F64", 8,
            "I32", 4, "I8", 1, "U8", 1, "F8_E4M3", 1, "F8_E5M2", 1);

    private final WeightSource source;
    private final String dtype;
    private final int shards;
    private final Double ropeTheta;
    private final LlamaConfig.RopeScaling ropeScaling;
    private final boolean ropeScalingSet;
    private final Boolean tieWordEmbeddings;
    private final int[] eosIds;
    private final int[] generationEosIds;
    private final Set<String> omitted;
    private final Map<String, String> dtypeOverrides;
    private final List<Consumer<ObjectNode>> configEdits;

    private HuggingFaceWriter(WeightSource source, String dtype, int shards, Double ropeTheta,
                              LlamaConfig.RopeScaling ropeScaling, boolean ropeScalingSet, Boolean tieWordEmbeddings,
                              int[] eosIds, int[] generationEosIds, Set<String> omitted,
                              Map<String, String> dtypeOverrides, List<Consumer<ObjectNode>> configEdits) {
        this.source = source;
        this.dtype = dtype;
        this.shards = shards;
        this.ropeTheta = ropeTheta;
        this.ropeScaling = ropeScaling;
        this.ropeScalingSet = ropeScalingSet;
        this.tieWordEmbeddings = tieWordEmbeddings;
        this.eosIds = eosIds;
        this.generationEosIds = generationEosIds;
        this.omitted = omitted;
        this.dtypeOverrides = dtypeOverrides;
        this.configEdits = configEdits;
    }

    /** A writer of {@code source} in F32, one file, with config.json taken from the source's config. */
    public static HuggingFaceWriter of(WeightSource source) {
        if (source.config().interleavedRotary()) {
            throw new IllegalArgumentException("Hugging Face checkpoints use rotate-half rotary; permute the wq/wk rows"
                    + " of " + source.description() + " and report interleavedRotary = false first");
        }
        return new HuggingFaceWriter(source, "F32", 1, null, null, false, null, null, null, Set.of(), Map.of(),
                List.of());
    }

    private HuggingFaceWriter copy(String dtype, int shards, Double ropeTheta, LlamaConfig.RopeScaling ropeScaling,
                                   boolean ropeScalingSet, Boolean tie, int[] eos, int[] generationEos,
                                   Set<String> omitted, Map<String, String> overrides,
                                   List<Consumer<ObjectNode>> edits) {
        return new HuggingFaceWriter(source, dtype, shards, ropeTheta, ropeScaling, ropeScalingSet, tie, eos,
                generationEos, omitted, overrides, edits);
    }

    /** Storage type of every tensor: "F32", "F16" or "BF16". */
    public HuggingFaceWriter dtype(String value) {
        if (!List.of("F32", "F16", "BF16").contains(value)) {
            throw new IllegalArgumentException("dtype must be F32, F16 or BF16, not " + value);
        }
        return copy(value, shards, ropeTheta, ropeScaling, ropeScalingSet, tieWordEmbeddings, eosIds,
                generationEosIds, omitted, dtypeOverrides, configEdits);
    }

    /** Splits the tensors over {@code count} files listed in model.safetensors.index.json (1: one model.safetensors). */
    public HuggingFaceWriter shards(int count) {
        if (count < 1) {
            throw new IllegalArgumentException("shards must be at least 1, not " + count);
        }
        return copy(dtype, count, ropeTheta, ropeScaling, ropeScalingSet, tieWordEmbeddings, eosIds,
                generationEosIds, omitted, dtypeOverrides, configEdits);
    }

    /** config.json rope_theta (default: the source's). */
    public HuggingFaceWriter ropeTheta(double value) {
        return copy(dtype, shards, value, ropeScaling, ropeScalingSet, tieWordEmbeddings, eosIds, generationEosIds,
                omitted, dtypeOverrides, configEdits);
    }

    /** config.json rope_scaling as a "llama3" object, or null (default: the source's). */
    public HuggingFaceWriter ropeScaling(LlamaConfig.RopeScaling value) {
        return copy(dtype, shards, ropeTheta, value, true, tieWordEmbeddings, eosIds, generationEosIds, omitted,
                dtypeOverrides, configEdits);
    }

    /** config.json tie_word_embeddings (default: the source's); lm_head is written when false or the source is untied. */
    public HuggingFaceWriter tieWordEmbeddings(boolean value) {
        return copy(dtype, shards, ropeTheta, ropeScaling, ropeScalingSet, value, eosIds, generationEosIds, omitted,
                dtypeOverrides, configEdits);
    }

    /** config.json eos_token_id: an int for one id, a list for several (default: the source's). */
    public HuggingFaceWriter eosIds(int... ids) {
        return copy(dtype, shards, ropeTheta, ropeScaling, ropeScalingSet, tieWordEmbeddings, ids.clone(),
                generationEosIds, omitted, dtypeOverrides, configEdits);
    }

    /** Also writes generation_config.json with these eos_token_id values. */
    public HuggingFaceWriter generationConfigEosIds(int... ids) {
        return copy(dtype, shards, ropeTheta, ropeScaling, ropeScalingSet, tieWordEmbeddings, eosIds, ids.clone(),
                omitted, dtypeOverrides, configEdits);
    }

    /** Leaves a tensor (Hugging Face name) out of the files, to test missing-tensor errors. */
    public HuggingFaceWriter omitTensor(String huggingFaceName) {
        Set<String> names = new HashSet<>(omitted);
        names.add(huggingFaceName);
        return copy(dtype, shards, ropeTheta, ropeScaling, ropeScalingSet, tieWordEmbeddings, eosIds,
                generationEosIds, Set.copyOf(names), dtypeOverrides, configEdits);
    }

    /** Stores one tensor as another dtype; types other than F32/F16/BF16 (I8, F8_E4M3, ...) get zero bytes. */
    public HuggingFaceWriter storeAs(String huggingFaceName, String tensorDtype) {
        if (!DTYPE_BYTES.containsKey(tensorDtype)) {
            throw new IllegalArgumentException("unknown dtype " + tensorDtype + "; known: " + DTYPE_BYTES.keySet());
        }
        Map<String, String> overrides = new HashMap<>(dtypeOverrides);
        overrides.put(huggingFaceName, tensorDtype);
        return copy(dtype, shards, ropeTheta, ropeScaling, ropeScalingSet, tieWordEmbeddings, eosIds,
                generationEosIds, omitted, Map.copyOf(overrides), configEdits);
    }

    /** Edits config.json after the options above are applied, e.g. to write another architecture. */
    public HuggingFaceWriter editConfig(Consumer<ObjectNode> edit) {
        List<Consumer<ObjectNode>> edits = new ArrayList<>(configEdits);
        edits.add(edit);
        return copy(dtype, shards, ropeTheta, ropeScaling, ropeScalingSet, tieWordEmbeddings, eosIds,
                generationEosIds, omitted, dtypeOverrides, List.copyOf(edits));
    }

    /** The value a reader sees after storing {@code value} as {@code dtype} (F32, F16 or BF16). */
    public static float rounded(String dtype, float value) {
        return switch (dtype) {
            case "F32" -> value;
            case "F16" -> HalfPrecision.f16ToFloat(HalfPrecision.floatToF16(value));
            case "BF16" -> HalfPrecision.bf16ToFloat(HalfPrecision.floatToBf16(value));
            default -> throw new IllegalArgumentException("no rounding for dtype " + dtype);
        };
    }

    /** Writes config.json (and generation_config.json if asked) and the safetensors files into {@code folder}. */
    public Path write(Path folder) throws IOException {
        Files.createDirectories(folder);
        LlamaConfig c = source.config();
        boolean tied = tieWordEmbeddings != null ? tieWordEmbeddings : c.tiedEmbeddings();
        JSON.writerWithDefaultPrettyPrinter().writeValue(folder.resolve("config.json").toFile(), configJson(c, tied));
        if (generationEosIds != null) {
            ObjectNode generation = JSON.createObjectNode();
            generation.put("bos_token_id", c.bosId());
            generation.set("eos_token_id", ids(generationEosIds));
            JSON.writerWithDefaultPrettyPrinter().writeValue(folder.resolve("generation_config.json").toFile(),
                    generation);
        }
        List<String[]> tensors = new ArrayList<>(); // {huggingFaceName, canonicalName}
        for (String name : CanonicalTensors.shapes(c).keySet()) {
            tensors.add(new String[] {HuggingFaceCheckpoint.huggingFaceName(name), name});
        }
        if (c.tiedEmbeddings() && !tied) {
            tensors.add(new String[] {"lm_head.weight", "tok_embeddings"});
        }
        tensors.removeIf(t -> omitted.contains(t[0]));
        if (shards == 1) {
            writeSafetensors(folder.resolve("model.safetensors"), tensors);
            return folder;
        }
        ObjectNode weightMap = JSON.createObjectNode();
        long totalSize = 0;
        for (int shard = 0; shard < shards; shard++) {
            String fileName = String.format("model-%05d-of-%05d.safetensors", shard + 1, shards);
            List<String[]> part = tensors.subList(shard * tensors.size() / shards,
                    (shard + 1) * tensors.size() / shards);
            totalSize += writeSafetensors(folder.resolve(fileName), part);
            part.forEach(t -> weightMap.put(t[0], fileName));
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", totalSize);
        index.set("weight_map", weightMap);
        JSON.writerWithDefaultPrettyPrinter().writeValue(folder.resolve("model.safetensors.index.json").toFile(), index);
        return folder;
    }

    private ObjectNode configJson(LlamaConfig c, boolean tied) {
        ObjectNode config = JSON.createObjectNode();
        config.putArray("architectures").add("LlamaForCausalLM");
        config.put("model_type", "llama");
        config.put("hidden_size", c.dim());
        config.put("intermediate_size", c.hiddenDim());
        config.put("num_hidden_layers", c.layers());
        config.put("num_attention_heads", c.heads());
        config.put("num_key_value_heads", c.kvHeads());
        config.put("head_dim", c.headDim());
        config.put("vocab_size", c.vocabSize());
        config.put("max_position_embeddings", c.contextLength());
        config.put("rms_norm_eps", c.normEps());
        config.put("rope_theta", ropeTheta != null ? ropeTheta : c.ropeTheta());
        LlamaConfig.RopeScaling scaling = ropeScalingSet ? ropeScaling : c.ropeScaling();
        if (scaling == null) {
            config.putNull("rope_scaling");
        } else {
            config.putObject("rope_scaling").put("rope_type", "llama3").put("factor", scaling.factor())
                    .put("low_freq_factor", scaling.lowFreqFactor()).put("high_freq_factor", scaling.highFreqFactor())
                    .put("original_max_position_embeddings", scaling.originalMaxPositions());
        }
        config.put("tie_word_embeddings", tied);
        config.put("bos_token_id", c.bosId());
        int[] eos = eosIds != null ? eosIds : c.eosIds();
        config.set("eos_token_id", eos.length == 1 ? JSON.getNodeFactory().numberNode(eos[0]) : ids(eos));
        config.put("torch_dtype", Map.of("F32", "float32", "F16", "float16", "BF16", "bfloat16").get(dtype));
        configEdits.forEach(edit -> edit.accept(config));
        return config;
    }

    private static ArrayNode ids(int[] values) {
        ArrayNode array = JSON.createArrayNode();
        for (int id : values) {
            array.add(id);
        }
        return array;
    }

    /** One safetensors file: header padded with spaces to 8 bytes, then each tensor's rows; returns the data bytes. */
    private long writeSafetensors(Path file, List<String[]> tensors) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("__metadata__", Map.of("format", "pt"));
        long offset = 0;
        for (String[] t : tensors) {
            Tensor tensor = source.tensor(t[1]);
            boolean vector = t[1].endsWith("norm");
            String tensorDtype = dtypeOverrides.getOrDefault(t[0], dtype);
            long bytes = tensor.size() * DTYPE_BYTES.get(tensorDtype);
            header.put(t[0], Map.of("dtype", tensorDtype,
                    "shape", vector ? List.of(tensor.cols()) : List.of(tensor.rows(), tensor.cols()),
                    "data_offsets", List.of(offset, offset + bytes)));
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(json);
            while (head.hasRemaining()) {
                head.put((byte) ' ');
            }
            writeFully(out, head.flip());
            for (String[] t : tensors) {
                writeTensor(out, source.tensor(t[1]), dtypeOverrides.getOrDefault(t[0], dtype));
            }
        }
        return offset;
    }

    private static void writeTensor(FileChannel out, Tensor tensor, String tensorDtype) throws IOException {
        int rowsPerBlock = Math.max(1, (1 << 20) / tensor.cols());
        float[] block = new float[rowsPerBlock * tensor.cols()];
        for (int row = 0; row < tensor.rows(); row += rowsPerBlock) {
            int count = Math.min(rowsPerBlock, tensor.rows() - row);
            int values = count * tensor.cols();
            tensor.readRows(row, count, block, 0);
            ByteBuffer bytes = ByteBuffer.allocate(values * DTYPE_BYTES.get(tensorDtype)).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < values; i++) {
                switch (tensorDtype) {
                    case "F32" -> bytes.putFloat(block[i]);
                    case "F16" -> bytes.putShort(HalfPrecision.floatToF16(block[i]));
                    case "BF16" -> bytes.putShort(HalfPrecision.floatToBf16(block[i]));
                    default -> { } // other dtypes stay zero bytes: only error tests write them
                }
            }
            writeFully(out, bytes.clear());
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) {
            out.write(bytes);
        }
    }
}
