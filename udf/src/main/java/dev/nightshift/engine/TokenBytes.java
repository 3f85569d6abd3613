package dev.nightshift.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The bytes each token id stands for in generated text, read from a model folder's {@code tokenizer.json}: what a
 * token-level constraint steps through (a JSON grammar checks bytes, because a byte-level token can carry part of a
 * UTF-8 character). Special tokens ({@code <s>}, {@code <|eot_id|>}) have no bytes: they are never text.
 *
 * <p>Two vocabulary conventions cover the Llama family, taken from the decoder section of tokenizer.json:
 * <ul>
 *   <li>{@code ByteLevel} (GPT-2, Llama 3): every byte is one printable character of the GPT-2 byte alphabet
 *       ({@code bytes_to_unicode} in openai/gpt-2's encoder.py), so a token's bytes are its characters mapped back;</li>
 *   <li>a {@code Sequence} of {@code Replace} (U+2581 '▁' → space), {@code ByteFallback} ({@code <0xNN>} → byte NN),
 *       {@code Fuse} and {@code Strip} (SentencePiece, Llama 2), or a {@code Metaspace} decoder: a token's bytes are its
 *       UTF-8 text with the replacements applied. {@code Strip} removes the space before the first token of a whole
 *       output only; a constraint that allows leading whitespace needs no special case for it.</li>
 * </ul>
 * Any other decoder is refused with a message naming it.
 */
public final class TokenBytes {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern BYTE_PIECE = Pattern.compile("<0x([0-9A-Fa-f]{2})>");

    private final byte[][] bytes;

    private TokenBytes(byte[][] bytes) {
        this.bytes = bytes;
    }

    /**
     * Reads the vocabulary of the folder's tokenizer.json.
     *
     * @param vocabSize the model's vocabulary size (the logits' last dimension); ids the tokenizer does not name have
     *                  no bytes
     * @throws IllegalArgumentException when the tokenizer's decoder is not one of the conventions above
     */
    public static TokenBytes of(Path modelDir, int vocabSize) throws IOException {
        Path file = ModelFolder.of(modelDir).requireTokenizer();
        JsonNode root = JSON.readTree(file.toFile());
        Decoder decoder = decoder(root.path("decoder"), file);
        byte[][] bytes = new byte[vocabSize][];
        for (Iterator<Map.Entry<String, JsonNode>> it = root.path("model").path("vocab").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            int id = entry.getValue().asInt(-1);
            if (id >= 0 && id < vocabSize) {
                bytes[id] = decoder.bytes(entry.getKey());
            }
        }
        for (JsonNode added : root.path("added_tokens")) {
            int id = added.path("id").asInt(-1);
            if (id >= 0 && id < vocabSize) {
                bytes[id] = added.path("special").asBoolean(false) ? null
                        : added.path("content").asText().getBytes(StandardCharsets.UTF_8);
            }
        }
        return new TokenBytes(bytes);
    }

    /** The vocabulary size this was read for. */
    public int size() {
        return bytes.length;
    }

    /** The bytes of token {@code id}, or null for a special token or an id the tokenizer does not name. Do not modify. */
    public byte[] bytes(int id) {
        return bytes[id];
    }

    /** The text of a sequence of ids (special tokens left out), decoded as UTF-8; for tests and messages. */
    public String text(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int id : ids) {
            if (bytes[id] != null) {
                out.writeBytes(bytes[id]);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private interface Decoder {
        byte[] bytes(String token);
    }

    private static Decoder decoder(JsonNode node, Path file) {
        String type = node.path("type").asText("");
        if (type.equals("ByteLevel")) {
            Map<Integer, Integer> byteOf = byteLevelAlphabet();
            return token -> {
                byte[] out = new byte[token.codePointCount(0, token.length())];
                int i = 0;
                for (int at = 0; at < token.length(); at = token.offsetByCodePoints(at, 1)) {
                    Integer b = byteOf.get(token.codePointAt(at));
                    if (b == null) {
                        // not a byte-level token (an added word): its UTF-8 text
                        return token.getBytes(StandardCharsets.UTF_8);
                    }
                    out[i++] = (byte) (int) b;
                }
                return out;
            };
        }
        List<String[]> replacements = new ArrayList<>();
        boolean byteFallback = false;
        List<JsonNode> steps = new ArrayList<>();
        if (type.equals("Sequence")) {
            node.path("decoders").forEach(steps::add);
        } else {
            steps.add(node);
        }
        for (JsonNode step : steps) {
            switch (step.path("type").asText("")) {
                case "Replace" -> replacements.add(new String[]{step.path("pattern").path("String").asText(),
                        step.path("content").asText()});
                case "Metaspace" -> replacements.add(new String[]{step.path("replacement").asText("\u2581"), " "});
                case "ByteFallback" -> byteFallback = true;
                case "Fuse", "Strip" -> {
                    // whole-output effects: Fuse joins pieces, Strip drops the first output's leading space
                }
                default -> throw new IllegalArgumentException(file + " has a tokenizer decoder of type '"
                        + step.path("type").asText(type) + "', which constrained decoding does not know how to turn into "
                        + "bytes (supported: ByteLevel, or Replace/ByteFallback/Fuse/Strip/Metaspace as in Llama 2)");
            }
        }
        boolean fallback = byteFallback;
        return token -> {
            if (fallback) {
                Matcher m = BYTE_PIECE.matcher(token);
                if (m.matches()) {
                    return new byte[]{(byte) Integer.parseInt(m.group(1), 16)};
                }
            }
            String text = token;
            for (String[] r : replacements) {
                if (!r[0].isEmpty()) {
                    text = text.replace(r[0], r[1]);
                }
            }
            return text.getBytes(StandardCharsets.UTF_8);
        };
    }

    /**
     * GPT-2's byte alphabet, from code point back to byte: printable Latin-1 bytes stand for themselves, the other 68
     * bytes for U+0100 upwards in byte order (openai/gpt-2 encoder.py {@code bytes_to_unicode}).
     */
    static Map<Integer, Integer> byteLevelAlphabet() {
        Map<Integer, Integer> byteOf = new HashMap<>();
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            byteOf.put(printable ? b : next++, b);
        }
        return byteOf;
    }
}
