package dev.nightshift.toolchain;

import dev.nightshift.engine.ModelFolder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntPredicate;

/**
 * Turns a llama2.c tokenizer into a Hugging Face tokenizer folder (Llama-2 layout) whose BPE reproduces llama2.c's
 * {@code encode}: {@code tokenizer.json}, {@code tokenizer_config.json} and {@code special_tokens_map.json}.
 *
 * <p>llama2.c merges, again and again, the adjacent pair whose concatenation is the vocab piece with the highest
 * score (leftmost on ties). Hugging Face BPE merges the adjacent pair with the lowest merge rank (leftmost on ties).
 * So every split of every piece into two pieces becomes a merge, ranked by the score of the piece it makes. That
 * is exact unless two different pieces share a score (or byte tokens merge); {@link #tieRisks} lists such cases,
 * and there are none in stories260K's tok512.
 *
 * <p>The post-processor prepends {@code <s>} (as Llama-2's tokenizer.json does), so {@code addSpecialTokens=true}
 * gives llama2.c's {@code encode(text, bos=1, eos=0)}. The engine encodes with {@code addSpecialTokens=false} and
 * adds BOS itself when {@code tokenizer_config.json} says {@code add_bos_token}; both paths give the same ids.
 *
 * <p>Known input-level differences from llama2.c (inherent to the Llama-2 HF format): the text {@code <s>},
 * {@code </s>} or {@code <unk>} is matched as the special token; U+2581 '▁' in the text reads as a space; and
 * llama2.c stops at a NUL character, HF does not.
 */
public final class TokenizerJsonWriter {

    public static final String UNK = "<unk>";
    public static final String BOS = "<s>";
    public static final String EOS = "</s>";
    /** SentencePiece's space marker, which llama2.c's export replaced by ' '. */
    public static final String SPACE_MARK = "\u2581";

    private static final List<String> LLAMA2C_SPECIALS = List.of(UNK, "\n<s>\n", "\n</s>\n");
    private static final List<String> HF_SPECIALS = List.of(UNK, BOS, EOS);
    /** Byte b is token b + 3 in llama2.c's byte fallback. */
    private static final int FIRST_BYTE_TOKEN = 3;
    /** llama2.c starts its search at best_score = -1e10 and needs a strictly higher score, so such pieces never merge. */
    private static final float NEVER_MERGED = -1e10f;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private TokenizerJsonWriter() {
    }

    /** One BPE merge: pieces {@code left} and {@code right} (token ids) make piece {@code result}. */
    public record Merge(int left, int right, int result) {
    }

    /**
     * A token tokenizer.json lists in {@code added_tokens}: matched in the raw text before the BPE model runs.
     * Special ones ({@code <s>}, {@code <|eot_id|>}) are left out when decoding with skip-special.
     */
    public record AddedToken(int id, String content, boolean special) {
    }

    /**
     * What {@link #write} produced.
     *
     * @param tieRisks reasons HF may merge differently from llama2.c (see {@link #tieRisks}); empty means the
     *                 encodings agree for every text, apart from the input-level differences in the class doc
     */
    public record Conversion(Path directory, int vocabSize, int mergeCount, List<String> tieRisks) {
    }

    /** Writes the three files into {@code outputDir} (created if needed); {@code modelMaxLength} is the checkpoint's seq_len. */
    public static Conversion write(Llama2cTokenizer tokenizer, int modelMaxLength, Path outputDir) throws IOException {
        List<String> names = hfPieces(tokenizer);
        List<Merge> merges = merges(tokenizer);
        Files.createDirectories(outputDir);
        JSON.writeValue(outputDir.resolve(ModelFolder.TOKENIZER).toFile(), tokenizerJson(names, merges));
        JSON.writeValue(outputDir.resolve(ModelFolder.TOKENIZER_CONFIG).toFile(), tokenizerConfig(modelMaxLength));
        JSON.writeValue(outputDir.resolve(ModelFolder.SPECIAL_TOKENS_MAP).toFile(), specialTokensMap());
        return new Conversion(outputDir, names.size(), merges.size(), tieRisks(tokenizer, merges));
    }

    /** HF names of the pieces ('▁' for ' ', {@code <s>}/{@code </s>} without llama2.c's newlines), checking the layout llama2.c assumes. */
    public static List<String> hfPieces(Llama2cTokenizer tokenizer) {
        int n = tokenizer.vocabSize();
        if (n < FIRST_BYTE_TOKEN + 256) {
            throw new IllegalArgumentException("vocab of " + n + " tokens has no room for <unk>, <s>, </s> and 256 byte tokens");
        }
        for (int id = 0; id < LLAMA2C_SPECIALS.size(); id++) {
            requirePiece(tokenizer, id, LLAMA2C_SPECIALS.get(id), "llama2.c hardcodes BOS = 1 and EOS = 2");
        }
        for (int b = 0; b < 256; b++) {
            requirePiece(tokenizer, FIRST_BYTE_TOKEN + b, String.format("<0x%02X>", b), "llama2.c's byte fallback emits byte + 3");
        }
        if (!tokenizer.pieces().contains(" ")) {
            throw new IllegalArgumentException("vocab has no \" \" piece, which llama2.c uses as its dummy prefix");
        }
        List<String> names = new ArrayList<>(n);
        Map<String, Integer> seen = new HashMap<>();
        for (int id = 0; id < n; id++) {
            String piece = tokenizer.piece(id);
            if (piece.contains(SPACE_MARK)) {
                throw new IllegalArgumentException("token " + id + " contains U+2581, which HF uses for spaces: " + quote(piece));
            }
            String name = id < HF_SPECIALS.size() ? HF_SPECIALS.get(id) : piece.replace(" ", SPACE_MARK);
            Integer before = seen.putIfAbsent(name, id);
            if (before != null) {
                throw new IllegalArgumentException("tokens " + before + " and " + id + " are both " + quote(name));
            }
            names.add(name);
        }
        return names;
    }

    private static void requirePiece(Llama2cTokenizer tokenizer, int id, String expected, String why) {
        if (!tokenizer.piece(id).equals(expected)) {
            throw new IllegalArgumentException("token " + id + " is " + quote(tokenizer.piece(id)) + ", expected "
                    + quote(expected) + " (" + why + ")");
        }
    }

    /**
     * Every way a piece splits into two pieces, in HF rank order: higher score of the made piece first (compared
     * with {@code >} as llama2.c does, so -0.0 ties 0.0), then by made piece, left piece and right piece id. The
     * order of splits of one piece does not matter (see {@link #tieRisks}).
     */
    public static List<Merge> merges(Llama2cTokenizer tokenizer) {
        float[] scores = new float[tokenizer.vocabSize()];
        for (int id = 0; id < scores.length; id++) {
            scores[id] = tokenizer.score(id);
        }
        List<Merge> merges = scoreMerges(tokenizer.pieces(), scores, id -> true);
        for (Merge m : merges) {
            if (m.result() < HF_SPECIALS.size() || m.left() < HF_SPECIALS.size() || m.right() < HF_SPECIALS.size()) {
                // HF requires name(result) == name(left) + name(right), which renaming <s>/</s> breaks
                throw new IllegalArgumentException("special token in merge " + quote(tokenizer.piece(m.left()))
                        + " + " + quote(tokenizer.piece(m.right())) + " -> " + quote(tokenizer.piece(m.result())));
            }
        }
        return merges;
    }

    /**
     * The merges of a scored (SentencePiece-style) vocabulary, as {@link #merges(Llama2cTokenizer)} ranks them: every
     * split of a piece whose score is above -1e10 into two pieces of the vocabulary, highest score of the made piece
     * first. This is what transformers' LlamaConverter does too (merges ordered by the made piece's score).
     *
     * @param pieces    the vocabulary, index = token id
     * @param scores    one score per piece
     * @param mergeable which ids may take part in a merge (as result or part); others are skipped
     */
    public static List<Merge> scoreMerges(List<String> pieces, float[] scores, IntPredicate mergeable) {
        Map<String, Integer> ids = new HashMap<>();
        for (int id = 0; id < pieces.size(); id++) {
            ids.put(pieces.get(id), id);
        }
        List<Merge> merges = new ArrayList<>();
        for (int id = 0; id < pieces.size(); id++) {
            if (!(scores[id] > NEVER_MERGED) || !mergeable.test(id)) {
                continue;
            }
            String piece = pieces.get(id);
            // llama2.c joins byte strings, but pieces are valid UTF-8, so only code point boundaries can match
            for (int k = piece.isEmpty() ? 0 : piece.offsetByCodePoints(0, 1); k < piece.length(); k = piece.offsetByCodePoints(k, 1)) {
                Integer left = ids.get(piece.substring(0, k));
                Integer right = ids.get(piece.substring(k));
                if (left != null && right != null && mergeable.test(left) && mergeable.test(right)) {
                    merges.add(new Merge(left, right, id));
                }
            }
        }
        merges.sort((a, b) -> {
            float sa = scores[a.result()];
            float sb = scores[b.result()];
            if (sa != sb) {
                return sa > sb ? -1 : 1;
            }
            if (a.result() != b.result()) {
                return Integer.compare(a.result(), b.result());
            }
            return a.left() != b.left() ? Integer.compare(a.left(), b.left()) : Integer.compare(a.right(), b.right());
        });
        return merges;
    }

    /**
     * Why HF's fixed ranks could merge a different pair than llama2.c; an empty list means they never do.
     *
     * <p>Why two checks suffice: a token's pieces only ever come from merges inside its own span, taken in the order
     * llama2.c would take them on that text alone. So while no byte token takes part in a merge, every pair that
     * makes piece P at the same moment splits P the same way (same text, same history), and its one rank copies
     * llama2.c's leftmost choice. What is left is different pieces with the same score: llama2.c picks the leftmost
     * pair, a fixed rank always picks the same piece.
     */
    public static List<String> tieRisks(Llama2cTokenizer tokenizer, List<Merge> merges) {
        List<String> risks = new ArrayList<>();
        Map<Float, Integer> pieceWithScore = new HashMap<>();
        Set<Integer> results = new HashSet<>();
        for (Merge m : merges) {
            // + 0.0f turns -0.0 into 0.0: llama2.c's > treats them as equal, Float keys would not
            Integer other = pieceWithScore.putIfAbsent(tokenizer.score(m.result()) + 0.0f, m.result());
            if (other != null && other != m.result() && results.add(m.result())) {
                risks.add("tokens " + other + " " + quote(tokenizer.piece(other)) + " and " + m.result() + " "
                        + quote(tokenizer.piece(m.result())) + " share score " + tokenizer.score(m.result()));
            }
            for (int part : new int[] {m.left(), m.right()}) {
                // a byte token spells "<0xHH>", the same text as six characters with a different history
                if (part >= FIRST_BYTE_TOKEN && part < FIRST_BYTE_TOKEN + 256) {
                    risks.add("byte token " + part + " " + quote(tokenizer.piece(part)) + " merges into "
                            + quote(tokenizer.piece(m.result())));
                }
            }
        }
        return risks;
    }

    static ObjectNode tokenizerJson(List<String> names, List<Merge> merges) {
        List<AddedToken> added = new ArrayList<>();
        for (int id = 0; id < HF_SPECIALS.size(); id++) {
            added.add(new AddedToken(id, HF_SPECIALS.get(id), true));
        }
        return sentencePieceJson(names, mergePairs(names, merges), added, UNK, BOS, 1);
    }

    /**
     * tokenizer.json in Llama 2's layout (transformers' LlamaConverter, "legacy"): '▁' prepended to non-empty text and
     * written for spaces, BPE with byte fallback, a decoder that undoes both, and a post-processor that adds BOS.
     *
     * @param merges pairs of piece names, best first
     * @param unk    the unknown token's name, or null
     * @param bos    BOS's name for the post-processor, or null for none
     */
    static ObjectNode sentencePieceJson(List<String> names, List<String[]> merges, List<AddedToken> added, String unk,
            String bos, int bosId) {
        ObjectNode root = header(added);
        // Prepend leaves empty text alone, like llama2.c, which adds its dummy prefix only to non-empty text
        ArrayNode normalizers = root.putObject("normalizer").put("type", "Sequence").putArray("normalizers");
        normalizers.addObject().put("type", "Prepend").put("prepend", SPACE_MARK);
        normalizers.add(replace(" ", SPACE_MARK));
        root.putNull("pre_tokenizer");
        if (bos == null) {
            root.putNull("post_processor");
        } else {
            root.set("post_processor", bosTemplate(bos, bosId));
        }
        ArrayNode decoders = root.putObject("decoder").put("type", "Sequence").putArray("decoders");
        decoders.add(replace(SPACE_MARK, " "));
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        decoders.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        root.set("model", bpeModel(names, merges, unk, true, false));
        return root;
    }

    /** tokenizer.json's opening: version, no truncation or padding, the added tokens. */
    static ObjectNode header(List<AddedToken> added) {
        ObjectNode root = NODES.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode list = root.putArray("added_tokens");
        for (AddedToken token : added) {
            // normalized=false: matched in the raw text, so "<s>" is not first rewritten to "▁<s>"
            list.addObject().put("id", token.id()).put("content", token.content()).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", token.special());
        }
        return root;
    }

    /**
     * The BPE model node.
     *
     * @param unk           the unknown token's name, or null for none (byte-level vocabularies cover every byte)
     * @param ignoreMerges  take a pre-token that is itself in the vocabulary whole, before any merge (Llama 3)
     */
    static ObjectNode bpeModel(List<String> names, List<String[]> merges, String unk, boolean byteFallback,
            boolean ignoreMerges) {
        ObjectNode model = NODES.objectNode();
        model.put("type", "BPE").putNull("dropout");
        if (unk == null) {
            model.putNull("unk_token");
        } else {
            model.put("unk_token", unk);
        }
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", unk != null).put("byte_fallback", byteFallback).put("ignore_merges", ignoreMerges);
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < names.size(); id++) {
            vocab.put(names.get(id), id);
        }
        // pairs, not "left right" strings, so no piece can be misread at a space
        ArrayNode mergeList = model.putArray("merges");
        for (String[] pair : merges) {
            mergeList.addArray().add(pair[0]).add(pair[1]);
        }
        return model;
    }

    static List<String[]> mergePairs(List<String> names, List<Merge> merges) {
        List<String[]> pairs = new ArrayList<>(merges.size());
        for (Merge m : merges) {
            pairs.add(new String[] {names.get(m.left()), names.get(m.right())});
        }
        return pairs;
    }

    static ObjectNode replace(String from, String to) {
        ObjectNode node = NODES.objectNode().put("type", "Replace");
        node.putObject("pattern").put("String", from);
        return node.put("content", to);
    }

    /** A post-processor that puts BOS (named {@code bos}, id {@code bosId}) before each sequence. */
    static ObjectNode bosTemplate(String bos, int bosId) {
        ObjectNode node = NODES.objectNode().put("type", "TemplateProcessing");
        ArrayNode single = node.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = node.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode special = node.putObject("special_tokens").putObject(bos).put("id", bos);
        special.putArray("ids").add(bosId);
        special.putArray("tokens").add(bos);
        return node;
    }

    static ObjectNode tokenizerConfig(int modelMaxLength) {
        ObjectNode config = NODES.objectNode();
        config.put("add_bos_token", true).put("add_eos_token", false);
        config.put("bos_token", BOS).put("eos_token", EOS).put("unk_token", UNK).putNull("pad_token");
        // DJL applies this flag when it reads the config, and its clean-up would turn " ." into "." on decode
        config.put("clean_up_tokenization_spaces", false);
        // Prepend + Replace normalizer is transformers' "legacy" Llama layout
        config.put("legacy", true);
        config.put("model_max_length", modelMaxLength);
        config.put("tokenizer_class", "LlamaTokenizer");
        return config;
    }

    static ObjectNode specialTokensMap() {
        return NODES.objectNode().put("bos_token", BOS).put("eos_token", EOS).put("unk_token", UNK);
    }

    private static String quote(String piece) {
        return "\"" + piece.replace("\n", "\\n") + "\"";
    }
}
