package dev.nightshift.engine;

import dev.nightshift.chat.ChatTemplate;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
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
 * already wrote the BOS text (Llama 3's {@code <|begin_of_text|>}) gets exactly one. {@link #encode(String)} encodes
 * special-token text inside the input (for example a rendered chat template's {@code <|eot_id|>}) as that special token,
 * as transformers does. {@link #encode(List)} does so only in the pieces marked trusted: text that comes from a table
 * (a document, a title) is encoded with special-token matching off, the way transformers' {@code split_special_tokens}
 * does, so a document that contains {@code </s>} or {@code <|eot_id|>} gets the ordinary pieces of that text and
 * cannot end the prompt or forge a turn (prompt injection through data).
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

    private static final ObjectMapper JSON = new ObjectMapper();

    /** DJL options: no specials from the post-processor, no truncation (DJL's default is 512), no padding. */
    private static final Map<String, String> DJL_OPTIONS = Map.of(
            "addSpecialTokens", "false",
            "truncation", "false",
            "padding", "false",
            "modelMaxLength", String.valueOf(Integer.MAX_VALUE));

    private final Path modelDir;
    private final ModelFolder folder;
    private final HuggingFaceTokenizer tokenizer;
    /** The same tokenizer with its special added tokens removed: special-token text becomes ordinary pieces. */
    private final HuggingFaceTokenizer plain;
    /** {@link #plain} for text that does not start the input, when the pre-tokenizer adds a prefix space only to the first. */
    private final HuggingFaceTokenizer plainNotFirst;
    private final Map<String, Integer> addedTokens;
    /** Added tokens' contents, longest first (the order the scan of trusted text tries them in). */
    private final List<String> addedByLength;
    private final String bosToken;
    private final String eosToken;
    private final OptionalInt bosId;
    private final OptionalInt eosId;
    private final boolean addBos;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;

    private TextTokenizer(Path modelDir, HuggingFaceTokenizer tokenizer, HuggingFaceTokenizer plain,
                          HuggingFaceTokenizer plainNotFirst, Map<String, Integer> addedTokens) throws IOException {
        this.modelDir = modelDir;
        this.folder = ModelFolder.of(modelDir);
        this.tokenizer = tokenizer;
        this.plain = plain;
        this.plainNotFirst = plainNotFirst;
        this.addedTokens = addedTokens;
        this.addedByLength = addedTokens.keySet().stream().filter(t -> !t.isEmpty())
                .sorted(Comparator.comparingInt(String::length).reversed().thenComparing(Comparator.naturalOrder()))
                .toList();
        Map<String, Object> special = folder.specialTokens();
        this.bosToken = special.get("bos_token") instanceof String s ? s : null;
        this.eosToken = special.get("eos_token") instanceof String s ? s : null;
        this.bosId = bosToken == null ? OptionalInt.empty() : tokenId(bosToken);
        this.eosId = eosToken == null ? OptionalInt.empty() : tokenId(eosToken);
        this.addBos = bosId.isPresent() && decideAddBos();
    }

    /**
     * Loads a model folder's tokenizer.
     *
     * @throws IllegalArgumentException when the folder has no tokenizer.json
     */
    public static TextTokenizer load(Path modelDir) throws IOException {
        Path file = ModelFolder.of(modelDir).requireTokenizer();
        Map<String, Integer> added = readAddedTokens(file);
        List<HuggingFaceTokenizer> opened = new ArrayList<>();
        try {
            HuggingFaceTokenizer tokenizer = open(opened, JSON.readTree(file.toFile()));
            ObjectNode withoutSpecials = (ObjectNode) JSON.readTree(file.toFile());
            ArrayNode kept = JSON.createArrayNode();
            withoutSpecials.withArray("added_tokens").forEach(t -> {
                if (!t.path("special").asBoolean(false)) {
                    kept.add(t);
                }
            });
            withoutSpecials.set("added_tokens", kept);
            HuggingFaceTokenizer plain = open(opened, withoutSpecials);
            HuggingFaceTokenizer plainNotFirst = prefixOnlyFirst(withoutSpecials) ? open(opened, neverPrefix(withoutSpecials)) : plain;
            return new TextTokenizer(modelDir, tokenizer, plain, plainNotFirst, added);
        } catch (IOException | RuntimeException e) {
            opened.forEach(HuggingFaceTokenizer::close);
            throw e;
        }
    }

    private static HuggingFaceTokenizer open(List<HuggingFaceTokenizer> opened, JsonNode json) throws IOException {
        HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(
                new ByteArrayInputStream(JSON.writeValueAsBytes(json)), DJL_OPTIONS);
        opened.add(tokenizer);
        return tokenizer;
    }

    /**
     * Whether the pre-tokenizer is Metaspace with {@code prepend_scheme: first}: transformers then adds the prefix
     * space to the first piece of the input only, so text encoded on its own after a special token must not get one.
     */
    private static boolean prefixOnlyFirst(JsonNode json) {
        JsonNode pre = json.path("pre_tokenizer");
        List<JsonNode> all = new ArrayList<>();
        all.add(pre);
        pre.path("pretokenizers").forEach(all::add);
        return all.stream().anyMatch(p -> "Metaspace".equals(p.path("type").asText())
                && "first".equals(p.path("prepend_scheme").asText()));
    }

    private static JsonNode neverPrefix(ObjectNode json) {
        ObjectNode copy = json.deepCopy();
        JsonNode pre = copy.path("pre_tokenizer");
        List<JsonNode> all = new ArrayList<>();
        all.add(pre);
        pre.path("pretokenizers").forEach(all::add);
        for (JsonNode p : all) {
            if (p instanceof ObjectNode o && "Metaspace".equals(o.path("type").asText())) {
                o.put("prepend_scheme", "never");
            }
        }
        return copy;
    }

    /** Token ids for a prompt: the text's tokens, after one BOS when {@link #addsBos()}. */
    public long[] encode(String text) {
        Objects.requireNonNull(text, "text");
        return withBos(withTokenizer(t -> t.encode(wellFormed(text), false, false).getIds()));
    }

    private long[] withBos(long[] ids) {
        if (!addBos || (ids.length > 0 && ids[0] == bosId.getAsInt())) {
            return ids;
        }
        long[] withBos = new long[ids.length + 1];
        withBos[0] = bosId.getAsInt();
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        return withBos;
    }

    /**
     * One piece of a prompt to encode.
     *
     * @param text    the text
     * @param trusted whether special-token text in it becomes special tokens: true for text the prompt's author wrote
     *                (a template, a chat template's markers), false for text that comes from data
     */
    public record Piece(String text, boolean trusted) {
        public Piece {
            Objects.requireNonNull(text, "text");
        }
    }

    /**
     * Token ids for a prompt given as pieces, after one BOS when {@link #addsBos()}. Special-token text (any added token
     * of tokenizer.json) is recognized in trusted pieces only; every other stretch of text, across piece boundaries, is
     * encoded as one run with special-token matching off. For text without special-token text this gives exactly the
     * ids of {@link #encode(String)} of the concatenation, since transformers also splits the input at added tokens
     * first and encodes the stretches between them separately.
     */
    public long[] encode(List<Piece> pieces) {
        List<long[]> parts = new ArrayList<>();
        StringBuilder run = new StringBuilder();
        boolean first = true;
        for (Piece piece : pieces) {
            String text = wellFormed(piece.text());
            if (!piece.trusted()) {
                run.append(text);
                continue;
            }
            int start = 0;
            for (int i = 0; i < text.length(); ) {
                String special = addedTokenAt(text, i);
                if (special == null) {
                    i++;
                    continue;
                }
                run.append(text, start, i);
                if (!run.isEmpty()) {
                    parts.add(encodePlain(run.toString(), first));
                    run.setLength(0);
                }
                parts.add(new long[]{addedTokens.get(special)});
                first = false;
                i += special.length();
                start = i;
            }
            run.append(text, start, text.length());
        }
        if (!run.isEmpty()) {
            parts.add(encodePlain(run.toString(), first));
        }
        int length = 0;
        for (long[] part : parts) {
            length += part.length;
        }
        long[] ids = new long[length];
        int at = 0;
        for (long[] part : parts) {
            System.arraycopy(part, 0, ids, at, part.length);
            at += part.length;
        }
        return withBos(ids);
    }

    private String addedTokenAt(String text, int at) {
        for (String token : addedByLength) {
            if (text.startsWith(token, at)) {
                return token;
            }
        }
        return null;
    }

    private long[] encodePlain(String text, boolean first) {
        HuggingFaceTokenizer chosen = first ? plain : plainNotFirst;
        Lock read = lock.readLock();
        read.lock();
        try {
            if (closed) {
                throw new IllegalStateException("the tokenizer of " + modelDir + " is closed");
            }
            return chosen.encode(text, false, false).getIds();
        } finally {
            read.unlock();
        }
    }

    /**
     * Where each token of a text starts, as {@code String} indices: the text encoded as a document (special-token
     * text not matched, no BOS, as it is encoded after an instruction). Offsets never decrease and lie in
     * {@code [0, text.length()]}; tokens that spell one character over several byte tokens share its start. The
     * document chunker cuts at these offsets, so a cut never falls inside a token.
     */
    public int[] tokenStarts(String text) {
        Objects.requireNonNull(text, "text");
        String wellFormed = wellFormed(text);
        ai.djl.huggingface.tokenizers.jni.CharSpan[] spans;
        Lock read = lock.readLock();
        read.lock();
        try {
            if (closed) {
                throw new IllegalStateException("the tokenizer of " + modelDir + " is closed");
            }
            spans = plainNotFirst.encode(wellFormed, false, false).getCharTokenSpans();
        } finally {
            read.unlock();
        }
        // The Rust tokenizer counts characters (code points); Java strings count UTF-16 units.
        int points = wellFormed.codePointCount(0, wellFormed.length());
        // code point -> UTF-16 index, built once (a per-token walk from the start made long texts with an emoji quadratic)
        int[] unitOf = null;
        if (points != wellFormed.length()) {
            unitOf = new int[points + 1];
            for (int point = 0, unit = 0; point < points; point++) {
                unitOf[point] = unit;
                unit += Character.charCount(wellFormed.codePointAt(unit));
            }
            unitOf[points] = wellFormed.length();
        }
        int[] starts = new int[spans.length];
        int last = 0;
        for (int i = 0; i < spans.length; i++) {
            int start = last;
            if (spans[i] != null) {
                start = spans[i].getStart();
                if (unitOf != null) {
                    start = unitOf[Math.min(Math.max(start, 0), points)];
                }
            }
            last = Math.min(Math.max(start, last), text.length());
            starts[i] = last;
        }
        return starts;
    }

    /**
     * Text for generated ids that may stop inside a character (a generation cut by {@code max_new_tokens}): the text of
     * the longest prefix of the ids whose last character is complete. Byte-level and byte-fallback tokenizers spell a
     * character over several tokens; decoding the cut run would turn it, and with byte fallback also the complete
     * characters decoded in the same run, into U+FFFD.
     */
    public Decoded decodeComplete(int[] ids) {
        String text = decode(ids);
        if (!text.endsWith("\uFFFD")) {
            return new Decoded(text, ids.length);
        }
        for (int drop = 1; drop <= Math.min(4, ids.length); drop++) {
            int keep = ids.length - drop;
            String dropped = decode(java.util.Arrays.copyOfRange(ids, keep, ids.length));
            // The dropped tokens end in the incomplete bytes; with byte-level BPE a token can also carry text before
            // them (" \xC3"), which goes with the token, as the incremental detokenizer holds it back too.
            if (dropped.endsWith("\uFFFD")) {
                String kept = decode(java.util.Arrays.copyOf(ids, keep));
                if (!kept.endsWith("\uFFFD")) {
                    return new Decoded(kept, keep);
                }
            }
        }
        return new Decoded(text, ids.length);
    }

    /**
     * Decoded text.
     *
     * @param text   the text of the first {@code tokens} ids
     * @param tokens how many ids it covers (fewer than given when an incomplete last character was left out)
     */
    public record Decoded(String text, int tokens) {
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

    /**
     * The ids of every {@code eos_token} the folder's tokenizer files declare: tokenizer_config.json and
     * special_tokens_map.json are read separately (where transformers lets the second override the first, a model
     * folder that declares two end tokens means both), each resolved through {@link #tokenId}.
     */
    public java.util.Set<Integer> declaredEosIds() throws IOException {
        java.util.Set<Integer> ids = new java.util.LinkedHashSet<>();
        for (String text : folder.declaredEosTokens()) {
            tokenId(text).ifPresent(ids::add);
        }
        return ids;
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
        return folder.chatTemplate();
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
                plain.close();
                if (plainNotFirst != plain) {
                    plainNotFirst.close();
                }
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

    private boolean decideAddBos() throws IOException {
        Optional<Boolean> stated = folder.addBosToken();
        if (stated.isPresent()) {
            return stated.get();
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
