package dev.nightshift.toolchain;

import dev.nightshift.engine.ModelFolder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nightshift.toolchain.TokenizerJsonWriter.AddedToken;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The tokenizer stored in a GGUF file (llama.cpp's format; a whole model or a vocabulary-only file), turned into a
 * Hugging Face tokenizer folder that {@code TextTokenizer} (DJL) loads and that encodes as llama.cpp does.
 *
 * <p>Two vocabulary kinds are supported:
 * <ul>
 *   <li>{@code tokenizer.ggml.model = llama}: SentencePiece with scores and byte fallback (Llama 2). Written in
 *       Llama 2's Hugging Face layout: a BPE model with byte fallback whose merges are every split of every piece,
 *       ranked by the made piece's score (what transformers' LlamaConverter derives, and what llama.cpp's and
 *       SentencePiece's encoders do: merge the pair that makes the highest-scoring piece, leftmost first).</li>
 *   <li>{@code tokenizer.ggml.model = gpt2} with {@code tokenizer.ggml.pre = llama-bpe} (Llama 3, 3.1, 3.2):
 *       byte-level BPE with the GGUF's merges, pre-tokenized by Llama 3's regex split, then the byte-level mapping,
 *       as Meta's tokenizer.json does. Other pre-tokenizers are refused: each is a different regex, and a wrong one
 *       gives plausible but different ids.</li>
 * </ul>
 * Control tokens (type 3) and the unknown token become special added tokens, user-defined ones (type 4) plain added
 * tokens, so their text in a prompt encodes as the one token.
 *
 * <pre>{@code
 * GgufVocabulary.read(Path.of("Llama-3.2-1B-Instruct-Q4_K_M.gguf")).writeTokenizerFiles(Path.of("models/llama"));
 * }</pre>
 */
public final class GgufVocabulary {

    /** Llama 3's pre-tokenizer regex, as in Meta's tokenizer.json (and llama.cpp's LLAMA3 pre-tokenizer). */
    static final String LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** The names llama.cpp has used for that pre-tokenizer. */
    private static final Set<String> LLAMA3_PRE = Set.of("llama-bpe", "llama3", "llama-v3");

    // llama.cpp's token types
    private static final int NORMAL = 1;
    private static final int UNKNOWN = 2;
    private static final int CONTROL = 3;
    private static final int USER_DEFINED = 4;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final Path file;
    private final String model;
    private final String pre;
    private final List<String> tokens;
    private final int[] types;
    private final float[] scores;
    private final List<String> merges;
    private final int bosId;
    private final int eosId;
    private final int unkId;
    private final boolean addBos;
    private final boolean addEos;
    private final int contextLength;
    private final String chatTemplate;

    private GgufVocabulary(Path file, GgufMetadata meta) throws IOException {
        this.file = file;
        this.model = meta.string("tokenizer.ggml.model");
        this.pre = meta.has("tokenizer.ggml.pre") ? meta.string("tokenizer.ggml.pre") : "default";
        this.tokens = meta.strings("tokenizer.ggml.tokens");
        this.types = meta.has("tokenizer.ggml.token_type") ? meta.int32s("tokenizer.ggml.token_type") : filled(tokens.size(), NORMAL);
        this.scores = meta.has("tokenizer.ggml.scores") ? meta.float32s("tokenizer.ggml.scores") : null;
        this.merges = meta.has("tokenizer.ggml.merges") ? meta.strings("tokenizer.ggml.merges") : List.of();
        this.bosId = meta.has("tokenizer.ggml.bos_token_id") ? (int) meta.integer("tokenizer.ggml.bos_token_id") : -1;
        this.eosId = meta.has("tokenizer.ggml.eos_token_id") ? (int) meta.integer("tokenizer.ggml.eos_token_id") : -1;
        this.unkId = meta.has("tokenizer.ggml.unknown_token_id") ? (int) meta.integer("tokenizer.ggml.unknown_token_id") : -1;
        // llama.cpp adds BOS by default for both supported kinds when the file does not say
        this.addBos = meta.has("tokenizer.ggml.add_bos_token") ? meta.bool("tokenizer.ggml.add_bos_token") : bosId >= 0;
        this.addEos = meta.has("tokenizer.ggml.add_eos_token") && meta.bool("tokenizer.ggml.add_eos_token");
        String architecture = meta.has("general.architecture") ? meta.string("general.architecture") : "";
        String contextKey = architecture + ".context_length";
        this.contextLength = meta.has(contextKey) ? (int) meta.integer(contextKey) : 0;
        this.chatTemplate = meta.has("tokenizer.chat_template") ? meta.string("tokenizer.chat_template") : null;
        validate();
    }

    /**
     * Reads the tokenizer of a GGUF file.
     *
     * @throws IOException when the file is not GGUF, lacks the tokenizer keys, or holds a vocabulary kind or
     *                     pre-tokenizer that is not supported (the message names the file and the value)
     */
    public static GgufVocabulary read(Path file) throws IOException {
        return new GgufVocabulary(file, GgufMetadata.read(file));
    }

    private void validate() throws IOException {
        if (types.length != tokens.size()) {
            throw new IOException(file + ": " + tokens.size() + " tokens but " + types.length + " token types");
        }
        for (int id : new int[] {bosId, eosId, unkId}) {
            if (id >= tokens.size()) {
                throw new IOException(file + ": special token id " + id + " is outside the vocabulary of " + tokens.size());
            }
        }
        switch (model) {
            case "llama" -> {
                if (scores == null || scores.length != tokens.size()) {
                    throw new IOException(file + ": a SentencePiece (llama) vocabulary needs one tokenizer.ggml.scores entry per token");
                }
            }
            case "gpt2" -> {
                if (!LLAMA3_PRE.contains(pre)) {
                    throw new IOException(file + ": tokenizer.ggml.pre = " + pre + " is not supported (supported: llama-bpe, "
                            + "Llama 3's pre-tokenizer); each pre-tokenizer splits text differently");
                }
                if (merges.isEmpty()) {
                    throw new IOException(file + ": a BPE (gpt2) vocabulary needs tokenizer.ggml.merges");
                }
            }
            default -> throw new IOException(file + ": tokenizer.ggml.model = " + model
                    + " is not supported (supported: llama = SentencePiece, gpt2 with llama-bpe = Llama 3)");
        }
    }

    /** {@code llama} (SentencePiece) or {@code gpt2} (byte-level BPE). */
    public String model() {
        return model;
    }

    public String pre() {
        return pre;
    }

    public int vocabSize() {
        return tokens.size();
    }

    /** BOS token id, or -1 when the file names none. */
    public int bosId() {
        return bosId;
    }

    /** EOS token id, or -1 when the file names none. */
    public int eosId() {
        return eosId;
    }

    /**
     * Writes {@code tokenizer.json}, {@code tokenizer_config.json} (BOS/EOS, {@code add_bos_token}, the chat template
     * when the GGUF has one) and {@code special_tokens_map.json} into {@code dir}, created if needed.
     *
     * @return {@code dir}
     */
    public Path writeTokenizerFiles(Path dir) throws IOException {
        return writeTokenizerFiles(dir, contextLength);
    }

    /**
     * As {@link #writeTokenizerFiles(Path)}, with {@code model_max_length} set to {@code modelMaxLength} (the context
     * of the converted model, which can differ from the GGUF's); 0 leaves it out.
     */
    public Path writeTokenizerFiles(Path dir, int modelMaxLength) throws IOException {
        Files.createDirectories(dir);
        ObjectNode tokenizer = model.equals("llama") ? sentencePieceJson() : byteLevelJson();
        JSON.writeValue(dir.resolve(ModelFolder.TOKENIZER).toFile(), tokenizer);
        JSON.writeValue(dir.resolve(ModelFolder.TOKENIZER_CONFIG).toFile(), tokenizerConfig(modelMaxLength));
        JSON.writeValue(dir.resolve(ModelFolder.SPECIAL_TOKENS_MAP).toFile(), specialTokensMap());
        return dir;
    }

    private ObjectNode sentencePieceJson() {
        // only normal pieces merge: byte pieces are reached through byte fallback, control ones never from text
        List<TokenizerJsonWriter.Merge> ranked = TokenizerJsonWriter.scoreMerges(tokens, scores, id -> types[id] == NORMAL);
        return TokenizerJsonWriter.sentencePieceJson(tokens, TokenizerJsonWriter.mergePairs(tokens, ranked), addedTokens(),
                unkId >= 0 ? tokens.get(unkId) : null, bosId >= 0 ? tokens.get(bosId) : null, bosId);
    }

    /** Meta's Llama 3 tokenizer.json layout. */
    private ObjectNode byteLevelJson() throws IOException {
        ObjectNode root = TokenizerJsonWriter.header(addedTokens());
        root.putNull("normalizer");
        ObjectNode preTokenizer = root.putObject("pre_tokenizer").put("type", "Sequence");
        ArrayNode steps = preTokenizer.putArray("pretokenizers");
        ObjectNode split = steps.addObject().put("type", "Split");
        split.putObject("pattern").put("Regex", LLAMA3_SPLIT);
        split.put("behavior", "Isolated").put("invert", false);
        // the regex has already split the text, so ByteLevel only maps bytes to its printable alphabet
        steps.add(byteLevel(false, true, false));
        ObjectNode post = root.putObject("post_processor").put("type", "Sequence");
        ArrayNode processors = post.putArray("processors");
        processors.add(byteLevel(true, false, true));
        if (bosId >= 0) {
            processors.add(TokenizerJsonWriter.bosTemplate(tokens.get(bosId), bosId));
        }
        root.set("decoder", byteLevel(true, true, true));
        List<String[]> pairs = new ArrayList<>(merges.size());
        for (String merge : merges) {
            // byte-level pieces never hold a raw space (a space is 'Ġ'), so the one space separates the pair
            int space = merge.indexOf(' ');
            if (space <= 0 || space != merge.lastIndexOf(' ') || space == merge.length() - 1) {
                throw new IOException(file + ": merge \"" + merge + "\" is not two pieces separated by one space");
            }
            pairs.add(new String[] {merge.substring(0, space), merge.substring(space + 1)});
        }
        // ignore_merges: a pre-token that is itself in the vocabulary is taken whole, as Llama 3's tokenizer.json
        // and llama.cpp's LLAMA3 pre-tokenizer do
        root.set("model", TokenizerJsonWriter.bpeModel(tokens, pairs, null, false, true));
        return root;
    }

    private static ObjectNode byteLevel(boolean addPrefixSpace, boolean trimOffsets, boolean useRegex) {
        return NODES.objectNode().put("type", "ByteLevel").put("add_prefix_space", addPrefixSpace)
                .put("trim_offsets", trimOffsets).put("use_regex", useRegex);
    }

    private List<AddedToken> addedTokens() {
        List<AddedToken> added = new ArrayList<>();
        for (int id = 0; id < tokens.size(); id++) {
            if (types[id] == CONTROL || types[id] == UNKNOWN || id == unkId) {
                added.add(new AddedToken(id, tokens.get(id), true));
            } else if (types[id] == USER_DEFINED) {
                added.add(new AddedToken(id, tokens.get(id), false));
            }
        }
        return added;
    }

    private ObjectNode tokenizerConfig(int modelMaxLength) {
        ObjectNode config = NODES.objectNode();
        config.put("add_bos_token", addBos).put("add_eos_token", addEos);
        putToken(config, "bos_token", bosId);
        putToken(config, "eos_token", eosId);
        putToken(config, "unk_token", unkId);
        config.putNull("pad_token");
        // DJL applies this flag when it reads the config, and its clean-up would turn " ." into "." on decode
        config.put("clean_up_tokenization_spaces", false);
        if (model.equals("llama")) {
            // Prepend + Replace normalizer is transformers' "legacy" Llama layout
            config.put("legacy", true);
            config.put("tokenizer_class", "LlamaTokenizer");
        } else {
            config.put("tokenizer_class", "PreTrainedTokenizerFast");
        }
        if (modelMaxLength > 0) {
            config.put("model_max_length", modelMaxLength);
        }
        if (chatTemplate != null) {
            config.put("chat_template", chatTemplate);
        }
        return config;
    }

    private ObjectNode specialTokensMap() {
        ObjectNode map = NODES.objectNode();
        putToken(map, "bos_token", bosId);
        putToken(map, "eos_token", eosId);
        putToken(map, "unk_token", unkId);
        return map;
    }

    private void putToken(ObjectNode node, String key, int id) {
        if (id >= 0) {
            node.put(key, tokens.get(id));
        }
    }

    private static int[] filled(int n, int value) {
        int[] array = new int[n];
        Arrays.fill(array, value);
        return array;
    }
}
