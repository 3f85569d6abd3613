package dev.nightshift.engine;

import dev.nightshift.chat.ChatTemplate;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The one owner of a model folder's layout: the names of its files, what its config files say
 * ({@code genai_config.json}, {@code config.json}, {@code generation_config.json}, {@code tokenizer_config.json},
 * {@code special_tokens_map.json}), where its chat template comes from, its fingerprint, and the messages that say
 * what is missing and how to fix it. The converter writes the files named here, the engine reads through it, and the
 * driver asks it for a {@link ModelCard}. Nothing here opens ONNX Runtime or the tokenizer.
 *
 * <p>Files are read on each call, not cached: a folder edited between calls (a template added) is seen as it is.
 */
public final class ModelFolder {

    /** The ONNX graph. */
    public static final String MODEL = "model.onnx";
    /** The graph's external weights. */
    public static final String MODEL_DATA = "model.onnx.data";
    /** ONNX Runtime GenAI's model config (ours adds a "nightshift" section). */
    public static final String GENAI_CONFIG = "genai_config.json";
    /** Hugging Face's model config. */
    public static final String CONFIG = "config.json";
    /** Hugging Face's generation config. */
    public static final String GENERATION_CONFIG = "generation_config.json";
    /** The Hugging Face tokenizer. */
    public static final String TOKENIZER = "tokenizer.json";
    /** The tokenizer's config: special tokens, add_bos_token, chat_template. */
    public static final String TOKENIZER_CONFIG = "tokenizer_config.json";
    /** Special tokens, overriding tokenizer_config.json's. */
    public static final String SPECIAL_TOKENS_MAP = "special_tokens_map.json";
    /** A chat template file, which wins over tokenizer_config.json's "chat_template". */
    public static final String CHAT_TEMPLATE = "chat_template.jinja";

    /** Files at most this large are hashed whole by {@link #fingerprint}; larger ones are sampled. */
    static final long FINGERPRINT_WHOLE_BYTES = 256L << 20;

    /** The special tokens transformers hands every template (its SPECIAL_TOKENS_ATTRIBUTES). */
    private static final List<String> SPECIAL_TOKEN_KEYS = List.of("bos_token", "eos_token", "unk_token", "sep_token",
            "pad_token", "cls_token", "mask_token", "additional_special_tokens");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;

    private ModelFolder(Path path) {
        this.path = path;
    }

    /** The folder at {@code path}, which need not exist yet (the converter writes into it). */
    public static ModelFolder of(Path path) {
        return new ModelFolder(path);
    }

    /**
     * An existing model folder.
     *
     * @throws IllegalArgumentException when there is no folder at {@code path}, with the fix
     */
    public static ModelFolder open(Path path) {
        if (!Files.isDirectory(path)) {
            throw new IllegalArgumentException("model folder " + path + " does not exist (or is not a folder); "
                    + "convert a checkpoint with `nightshift convert --from CHECKPOINT --to " + path + "`");
        }
        return new ModelFolder(path);
    }

    public Path path() {
        return path;
    }

    /** A file of the folder by name (one of the constants here). */
    public Path file(String name) {
        return path.resolve(name);
    }

    /** The folder's name: the model's id in results. */
    public String id() {
        return path.toAbsolutePath().normalize().getFileName().toString();
    }

    // --- validation ----------------------------------------------------------------------------------------

    /**
     * The graph file.
     *
     * @throws IllegalArgumentException when the folder has no model.onnx, with the fix
     */
    public Path requireModel() {
        Path file = file(MODEL);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("model folder " + path + " has no " + MODEL + "; convert a checkpoint with "
                    + "`nightshift convert --from CHECKPOINT --to " + path + "`");
        }
        return file;
    }

    /**
     * The tokenizer file.
     *
     * @throws IllegalArgumentException when the folder has no tokenizer.json, with the fix
     */
    public Path requireTokenizer() {
        Path file = file(TOKENIZER);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("model folder " + path + " has no " + TOKENIZER
                    + "; run `nightshift convert` or copy the tokenizer files");
        }
        return file;
    }

    /** The message for a graph ONNX Runtime cannot load. */
    String unloadableModel(Path file, String cause) {
        return "cannot load " + file + ": " + cause + " (the file is corrupt or incomplete, or " + MODEL_DATA
                + " is missing; re-run `nightshift convert`)";
    }

    /**
     * Checks the graph's shape against genai_config.json (when there is one): a folder that mixes two models' files is
     * refused with the fix.
     */
    public void checkGraph(int layers, int kvHeads, int headDim, int vocabSize) {
        JsonNode genai = genaiConfig();
        if (genai == null) {
            return;
        }
        int configured = intAt(genai, "/model/decoder/num_hidden_layers", layers);
        int configuredKv = intAt(genai, "/model/decoder/num_key_value_heads", kvHeads);
        int configuredHead = intAt(genai, "/model/decoder/head_size", headDim);
        int configuredVocab = intAt(genai, "/model/vocab_size", vocabSize);
        if (configured != layers || configuredKv != kvHeads || configuredHead != headDim || configuredVocab != vocabSize) {
            throw new IllegalArgumentException(GENAI_CONFIG + " in " + path + " does not match " + MODEL + ": config says "
                    + configured + " layers, " + configuredKv + " KV heads, head size " + configuredHead + ", vocab "
                    + configuredVocab + "; the graph has " + layers + ", " + kvHeads + ", " + headDim + ", " + vocabSize
                    + ". The folder mixes files of two models: re-run `nightshift convert`");
        }
    }

    // --- model configs (genai_config.json, config.json, generation_config.json) --------------------------------

    /** genai_config.json, null when absent. @throws IllegalArgumentException when it does not parse */
    public JsonNode genaiConfig() {
        return readConfig(GENAI_CONFIG);
    }

    /** config.json, null when absent. @throws IllegalArgumentException when it does not parse */
    public JsonNode hfConfig() {
        return readConfig(CONFIG);
    }

    /** generation_config.json, null when absent. @throws IllegalArgumentException when it does not parse */
    public JsonNode generationConfig() {
        return readConfig(GENERATION_CONFIG);
    }

    /** Tokens of context: genai_config.json's context_length, else config.json's max_position_embeddings, else 2048. */
    public int contextLength() {
        return intAt(genaiConfig(), "/model/context_length", intAt(hfConfig(), "/max_position_embeddings", 2048));
    }

    /** genai_config.json's bos_token_id, else config.json's, else 1. */
    public int bosTokenId() {
        return intAt(genaiConfig(), "/model/bos_token_id", intAt(hfConfig(), "/bos_token_id", 1));
    }

    /** genai_config.json's pad_token_id, else {@code fallback}. */
    public int padTokenId(int fallback) {
        return intAt(genaiConfig(), "/model/pad_token_id", fallback);
    }

    /** genai_config.json's vocab_size, else config.json's, else 0. */
    public int vocabSize() {
        return intAt(genaiConfig(), "/model/vocab_size", intAt(hfConfig(), "/vocab_size", 0));
    }

    /** What genai_config.json says about the decoder (0 for what it does not say). */
    public DecoderShape decoderShape() {
        JsonNode genai = genaiConfig();
        return new DecoderShape(intAt(genai, "/model/decoder/num_hidden_layers", 0),
                intAt(genai, "/model/decoder/num_key_value_heads", 0), intAt(genai, "/model/decoder/head_size", 0),
                intAt(genai, "/model/decoder/hidden_size", 0), intAt(genai, "/model/vocab_size", 0),
                genai == null ? "" : genai.at("/nightshift/precision").asText(""));
    }

    /** The decoder as genai_config.json describes it; {@code precision} is our "nightshift" section's, "" if none. */
    public record DecoderShape(int layers, int kvHeads, int headSize, int hiddenSize, int vocabSize, String precision) {
    }

    /**
     * The end-of-sequence ids the model configs declare: genai_config.json's, config.json's and generation_config.json's
     * eos_token_id (a number or a list), each counted, in that order.
     */
    public Set<Integer> configEosIds() {
        Set<Integer> eos = new LinkedHashSet<>();
        JsonNode genai = genaiConfig();
        JsonNode hfConfig = hfConfig();
        JsonNode generation = generationConfig();
        addIds(eos, genai == null ? null : genai.at("/model/eos_token_id"));
        addIds(eos, hfConfig == null ? null : hfConfig.at("/eos_token_id"));
        addIds(eos, generation == null ? null : generation.at("/eos_token_id"));
        return eos;
    }

    // --- tokenizer configs (tokenizer_config.json, special_tokens_map.json) ------------------------------------

    /**
     * The text of every {@code eos_token} the tokenizer files declare: tokenizer_config.json and special_tokens_map.json
     * are read separately (where transformers lets the second override the first, a model folder that declares two end
     * tokens means both); a value is a string, an {@code {"content": ...}} object or a list of those.
     */
    public List<String> declaredEosTokens() throws IOException {
        List<String> tokens = new ArrayList<>();
        for (String name : List.of(TOKENIZER_CONFIG, SPECIAL_TOKENS_MAP)) {
            JsonNode root = readJson(file(name));
            JsonNode eos = root == null ? null : root.get("eos_token");
            List<JsonNode> values = new ArrayList<>();
            if (eos != null && eos.isArray()) {
                eos.forEach(values::add);
            } else if (eos != null) {
                values.add(eos);
            }
            for (JsonNode value : values) {
                String text = value.isTextual() ? value.asText() : value.path("content").asText(null);
                if (text != null) {
                    tokens.add(text);
                }
            }
        }
        return tokens;
    }

    /**
     * The special tokens, as transformers passes them to templates: bos_token, eos_token, unk_token, sep_token,
     * pad_token, cls_token, mask_token (strings) and additional_special_tokens (a list). Values may be written as
     * strings or as {@code {"content": ...}} objects. special_tokens_map.json overrides tokenizer_config.json, as it
     * does in transformers' {@code from_pretrained}. Missing files give an empty map.
     */
    public Map<String, Object> specialTokens() throws IOException {
        Map<String, Object> tokens = new LinkedHashMap<>();
        for (String name : List.of(TOKENIZER_CONFIG, SPECIAL_TOKENS_MAP)) {
            JsonNode root = readJson(file(name));
            for (String key : SPECIAL_TOKEN_KEYS) {
                JsonNode value = root == null ? null : root.get(key);
                if (value == null || value.isNull()) {
                    continue;
                }
                if (value.isArray()) {
                    List<String> list = new ArrayList<>();
                    value.forEach(v -> list.add(tokenText(v)));
                    tokens.put(key, List.copyOf(list));
                } else {
                    tokens.put(key, tokenText(value));
                }
            }
        }
        return tokens;
    }

    /** tokenizer_config.json's {@code add_bos_token}, when it states one. */
    public Optional<Boolean> addBosToken() throws IOException {
        JsonNode config = readJson(file(TOKENIZER_CONFIG));
        JsonNode flag = config == null ? null : config.get("add_bos_token");
        return flag != null && flag.isBoolean() ? Optional.of(flag.asBoolean()) : Optional.empty();
    }

    // --- chat template ------------------------------------------------------------------------------------------

    /** A chat template's Jinja text and where it came from (a file, or a config key), for error messages. */
    public record TemplateSource(String text, String source) {
    }

    /**
     * Where the folder's chat template is, if it has one. As in transformers, chat_template.jinja wins over
     * tokenizer_config.json's {@code "chat_template"}; that entry is a string, or a list of {@code {name, template}}
     * from which the one named "default" is used.
     *
     * @throws IllegalArgumentException when the list has no "default" template
     */
    public Optional<TemplateSource> chatTemplateSource() throws IOException {
        Path file = file(CHAT_TEMPLATE);
        if (Files.isRegularFile(file)) {
            return Optional.of(new TemplateSource(Files.readString(file), file.toString()));
        }
        Path configFile = file(TOKENIZER_CONFIG);
        JsonNode config = readJson(configFile);
        JsonNode entry = config == null ? null : config.get("chat_template");
        if (entry == null || entry.isNull()) {
            return Optional.empty();
        }
        String source = configFile + " \"chat_template\"";
        if (entry.isTextual()) {
            return Optional.of(new TemplateSource(entry.asText(), source));
        }
        List<String> names = new ArrayList<>();
        for (JsonNode named : entry) {
            names.add(named.path("name").asText());
            if ("default".equals(named.path("name").asText())) {
                return Optional.of(new TemplateSource(named.path("template").asText(), source + " (\"default\")"));
            }
        }
        throw new IllegalArgumentException(source + " has no template named \"default\" (it has " + names
                + "); supply the template to use as " + file);
    }

    /**
     * The folder's chat template with its special tokens, if it has one; it is compiled and trial-rendered here, so a
     * broken one fails now.
     *
     * @throws IllegalArgumentException when the template is there but cannot be used
     */
    public Optional<ChatTemplate> chatTemplate() throws IOException {
        Map<String, Object> special = specialTokens();
        Optional<TemplateSource> source = chatTemplateSource();
        return source.map(s -> ChatTemplate.of(s.text(), s.source(), special));
    }

    /** Like {@link #chatTemplate()}, but a folder without a template is an error that says what to do about it. */
    public ChatTemplate requireChatTemplate() throws IOException {
        Optional<ChatTemplate> found = chatTemplate();
        if (found.isPresent()) {
            return found.get();
        }
        throw new IllegalArgumentException(noChatTemplate());
    }

    /** Why chat formatting cannot work on a folder that has no template, and the fix. */
    String noChatTemplate() {
        Path configFile = file(TOKENIZER_CONFIG);
        String config = Files.exists(configFile)
                ? configFile + " has no \"chat_template\" entry"
                : "there is no " + configFile;
        return "model folder " + path + " has no chat template: " + config + " and no " + CHAT_TEMPLATE
                + ". The prompt will need to be formatted by hand (run without --chat), "
                + "or supply a Jinja chat template as " + file(CHAT_TEMPLATE);
    }

    // --- identity -------------------------------------------------------------------------------------------

    /**
     * A stable identity of everything in a model folder that can change a prompt or a generation: SHA-256 over every
     * regular file directly in the folder (hidden files left out), in name order: its name, its size, and its
     * contents, whole for files up to 256 MiB (the graph, configs, tokenizer, chat template, generation config,
     * special tokens map) and 64 evenly spaced 64 KiB blocks, first and last included, for larger ones (weights:
     * hashing gigabytes at every executor start would cost more than it protects). A file added, removed or edited
     * changes it, so results made with another tokenizer or chat template are never taken as current.
     *
     * @return the first 16 hex digits of the digest
     */
    public String fingerprint() throws IOException {
        MessageDigest digest = Sha256.digest();
        List<Path> files;
        try (Stream<Path> listing = Files.list(path)) {
            files = listing.filter(Files::isRegularFile)
                    .filter(f -> !f.getFileName().toString().startsWith("."))
                    .sorted(Comparator.comparing(f -> f.getFileName().toString()))
                    .toList();
        }
        for (Path file : files) {
            digest.update(file.getFileName().toString().getBytes(StandardCharsets.UTF_8));
            digest.update((byte) 0);
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                long size = channel.size();
                digest.update(ByteBuffer.allocate(8).putLong(0, size));
                ByteBuffer block = ByteBuffer.allocate(1 << 16);
                if (size <= FINGERPRINT_WHOLE_BYTES) {
                    while (channel.read(block) > 0) {
                        block.flip();
                        digest.update(block);
                        block.clear();
                    }
                } else {
                    long last = size - block.capacity();
                    for (int i = 0; i < 64; i++) {
                        block.clear();
                        channel.read(block, i == 63 ? last : last / 63 * i);
                        block.flip();
                        digest.update(block);
                    }
                }
            }
        }
        return HexFormat.of().formatHex(digest.digest()).substring(0, 16);
    }

    /**
     * The driver's view of the model, from the config files alone. A chat template that is there but cannot be used
     * does not fail the card: it counts as a template, and {@link ModelCard#templateProblem()} says why.
     */
    public ModelCard card() throws IOException {
        boolean hasTemplate;
        String problem = null;
        try {
            // chatTemplate() compiles and trial-renders the template, so a broken one is found here
            hasTemplate = chatTemplate().isPresent();
        } catch (IOException | RuntimeException e) {
            hasTemplate = true;
            problem = e.getMessage() != null ? e.getMessage() : e.toString();
        }
        return new ModelCard(id(), fingerprint(), contextLength(), hasTemplate, vocabSize(), problem);
    }

    @Override
    public String toString() {
        return path.toString();
    }

    // ---------------------------------------------------------------------------------------------------------

    /** A model config: null when absent, a parse failure named with the file. */
    private JsonNode readConfig(String name) {
        Path file = file(name);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot parse " + file + ": " + e.getMessage(), e);
        }
    }

    /** A tokenizer config: null when absent. */
    private static JsonNode readJson(Path file) throws IOException {
        return Files.isRegularFile(file) ? JSON.readTree(file.toFile()) : null;
    }

    private static String tokenText(JsonNode value) {
        return value.isObject() ? value.path("content").asText() : value.asText();
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
}
