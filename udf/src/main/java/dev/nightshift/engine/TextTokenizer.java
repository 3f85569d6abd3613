package dev.nightshift.engine;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Text to token ids and back for a Hugging Face model folder: {@code tokenizer.json} run by DJL's binding of the Rust
 * {@code tokenizers} library, plus what {@code tokenizer_config.json} says about special tokens.
 *
 * <p><b>Special tokens.</b> Encoding never runs the tokenizer's post-processor (no DJL-added specials); this class
 * prepends BOS itself when {@link #addsBos()} and the ids do not already start with it, so a prompt whose chat template
 * already wrote the BOS text (Llama 3's {@code <|begin_of_text|>}) gets exactly one. Special-token text inside the input
 * (for example a rendered chat template's {@code <|eot_id|>}) is encoded as that special token, as transformers does.
 *
 * <p><b>No truncation.</b> DJL truncates to 512 tokens by default ({@code modelMaxLength}); that is switched off here,
 * so any input encodes in full and the engine decides what to do with prompts longer than the context.
 *
 * <p><b>Odd text.</b> NUL characters encode like any other character (byte fallback gives {@code <0x00>}). Unpaired
 * UTF-16 surrogates, which no UTF-8 text can hold, are replaced by U+FFFD before encoding; left in, they would make
 * the JNI layer decode the whole string lossily and garble its other non-ASCII characters too.
 *
 * <p><b>Threads.</b> One instance can be shared. The Rust tokenizer is {@code Sync}: encode and decode take it by shared
 * reference, its configuration is fixed in the constructor, and the BPE cache has its own lock. The only unsafe
 * moment is {@link #close()} racing a call (the native handle would be freed under it), so calls hold a read lock
 * and close takes the write lock.
 */
public final class TextTokenizer implements AutoCloseable {

    public static final String TOKENIZER_FILE = "tokenizer.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** DJL options: no specials from the post-processor, no truncation (DJL's default is 512), no padding. */
    private static final Map<String, String> DJL_OPTIONS = Map.of(
            "addSpecialTokens", "false",
            "truncation", "false",
            "padding", "false",
            "modelMaxLength", String.valueOf(Integer.MAX_VALUE));

    private final Path modelDir;
    private final HuggingFaceTokenizer tokenizer;
    private final Map<String, Integer> addedTokens;
    private final String bosToken;
    private final String eosToken;
    private final OptionalInt bosId;
    private final OptionalInt eosId;
    private final boolean addBos;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;

    private TextTokenizer(Path modelDir, HuggingFaceTokenizer tokenizer, Map<String, Integer> addedTokens)
            throws IOException {
        this.modelDir = modelDir;
        this.tokenizer = tokenizer;
        this.addedTokens = addedTokens;
        Map<String, Object> special = ChatTemplate.readSpecialTokens(modelDir);
        this.bosToken = special.get("bos_token") instanceof String s ? s : null;
        this.eosToken = special.get("eos_token") instanceof String s ? s : null;
        this.bosId = bosToken == null ? OptionalInt.empty() : tokenId(bosToken);
        this.eosId = eosToken == null ? OptionalInt.empty() : tokenId(eosToken);
        this.addBos = bosId.isPresent() && decideAddBos(modelDir);
    }

    /**
     * Loads a model folder's tokenizer.
     *
     * @throws IllegalArgumentException when the folder has no tokenizer.json
     */
    public static TextTokenizer load(Path modelDir) throws IOException {
        Path file = modelDir.resolve(TOKENIZER_FILE);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("model folder " + modelDir + " has no " + TOKENIZER_FILE
                    + "; run `nightshift convert` or copy the tokenizer files");
        }
        Map<String, Integer> added = readAddedTokens(file);
        HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(file, DJL_OPTIONS);
        try {
            return new TextTokenizer(modelDir, tokenizer, added);
        } catch (IOException | RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    /** Token ids for a prompt: the text's tokens, after one BOS when {@link #addsBos()}. */
    public long[] encode(String text) {
        Objects.requireNonNull(text, "text");
        long[] ids = withTokenizer(t -> t.encode(wellFormed(text), false, false).getIds());
        if (!addBos || (ids.length > 0 && ids[0] == bosId.getAsInt())) {
            return ids;
        }
        long[] withBos = new long[ids.length + 1];
        withBos[0] = bosId.getAsInt();
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        return withBos;
    }

    /** Text for token ids, special tokens left out. Ids the vocabulary does not have are skipped. */
    public String decode(long[] ids) {
        return withTokenizer(t -> t.decode(ids, true));
    }

    public String decode(int[] ids) {
        long[] wide = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            wide[i] = ids[i];
        }
        return decode(wide);
    }

    /**
     * The id of a token written as text, for stop tokens and special-token names: an added token of tokenizer.json
     * ({@code <|eot_id|>}, {@code </s>}, ...) by its exact content, otherwise the single id the text encodes to (so
     * "Hello" gives the id of "▁Hello" in a SentencePiece vocabulary). Empty when the text is several tokens.
     */
    public OptionalInt tokenId(String token) {
        Integer added = addedTokens.get(token);
        if (added != null) {
            return OptionalInt.of(added);
        }
        long[] ids = withTokenizer(t -> t.encode(wellFormed(token), false, false).getIds());
        return ids.length == 1 ? OptionalInt.of((int) ids[0]) : OptionalInt.empty();
    }

    /**
     * Whether {@link #encode} prepends BOS. tokenizer_config.json's {@code add_bos_token} decides when it is there
     * (transformers' Llama and Gemma tokenizers honour it). When it is not, transformers' fast tokenizer does whatever
     * tokenizer.json's post-processor does, so this asks the post-processor: Llama 3 adds
     * {@code <|begin_of_text|>}, GPT-2 adds nothing although its bos_token is known. Always false without a BOS token.
     */
    public boolean addsBos() {
        return addBos;
    }

    public Optional<String> bosToken() {
        return Optional.ofNullable(bosToken);
    }

    public Optional<String> eosToken() {
        return Optional.ofNullable(eosToken);
    }

    public OptionalInt bosId() {
        return bosId;
    }

    public OptionalInt eosId() {
        return eosId;
    }

    /**
     * The folder's chat template (chat_template.jinja or tokenizer_config.json), if it has one. Read on request, so a
     * template this renderer rejects only matters to callers that want chat formatting.
     */
    public Optional<ChatTemplate> chatTemplate() throws IOException {
        return ChatTemplate.find(modelDir);
    }

    public Path modelDir() {
        return modelDir;
    }

    /** Frees the native tokenizer once no call is using it; later calls fail. */
    @Override
    public void close() {
        Lock write = lock.writeLock();
        write.lock();
        try {
            if (!closed) {
                closed = true;
                tokenizer.close();
            }
        } finally {
            write.unlock();
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    private interface Call<T> {
        T apply(HuggingFaceTokenizer tokenizer);
    }

    private <T> T withTokenizer(Call<T> call) {
        Lock read = lock.readLock();
        read.lock();
        try {
            if (closed) {
                throw new IllegalStateException("the tokenizer of " + modelDir + " is closed");
            }
            return call.apply(tokenizer);
        } finally {
            read.unlock();
        }
    }

    private boolean decideAddBos(Path modelDir) throws IOException {
        Path configFile = modelDir.resolve(ChatTemplate.CONFIG_FILE);
        if (Files.isRegularFile(configFile)) {
            JsonNode flag = JSON.readTree(configFile.toFile()).get("add_bos_token");
            if (flag != null && flag.isBoolean()) {
                return flag.asBoolean();
            }
        }
        long[] withSpecials = withTokenizer(t -> t.encode("a", true, false).getIds());
        return withSpecials.length > 0 && withSpecials[0] == bosId.getAsInt();
    }

    /** tokenizer.json's added_tokens (special or not), content to id; streamed past the large vocabulary. */
    private static Map<String, Integer> readAddedTokens(Path file) throws IOException {
        Map<String, Integer> added = new HashMap<>();
        try (JsonParser parser = JSON.createParser(file.toFile())) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException(file + " is not a JSON object");
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                parser.nextToken();
                if ("added_tokens".equals(field) && parser.currentToken() == JsonToken.START_ARRAY) {
                    for (JsonNode token : JSON.<JsonNode>readTree(parser)) {
                        added.put(token.path("content").asText(), token.path("id").asInt());
                    }
                } else {
                    parser.skipChildren();
                }
            }
        }
        return Map.copyOf(added);
    }

    /** The text with each unpaired UTF-16 surrogate replaced by U+FFFD (the same text when there is none). */
    static String wellFormed(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean pair = Character.isHighSurrogate(c) && i + 1 < text.length()
                    && Character.isLowSurrogate(text.charAt(i + 1));
            if (pair) {
                if (out != null) {
                    out.append(c).append(text.charAt(i + 1));
                }
                i++;
            } else if (Character.isSurrogate(c)) {
                if (out == null) {
                    out = new StringBuilder(text.length()).append(text, 0, i);
                }
                out.append('\uFFFD');
            } else if (out != null) {
                out.append(c);
            }
        }
        return out == null ? text : out.toString();
    }
}
