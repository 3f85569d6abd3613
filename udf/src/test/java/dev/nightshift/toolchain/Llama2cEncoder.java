package dev.nightshift.toolchain;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Plain port of llama2.c's {@code encode} and {@code decode} (run.c, karpathy/llama2.c 350e04f), the reference the
 * Hugging Face conversion is tested against. Works on UTF-8 bytes like the C code; strings stand for byte strings
 * one char per byte (ISO-8859-1), so lookups compare exactly what {@code strcmp} compares.
 */
final class Llama2cEncoder {

    /** sscanf(piece, "<0x%02hhX>") counts a match once the digits convert, whatever follows them. */
    private static final Pattern BYTE_PIECE = Pattern.compile("<0x([0-9A-Fa-f]{1,2})");

    private final Llama2cTokenizer tokenizer;
    private final String[] vocab;
    private final Map<String, Integer> ids = new HashMap<>();

    Llama2cEncoder(Llama2cTokenizer tokenizer) {
        this.tokenizer = tokenizer;
        vocab = new String[tokenizer.vocabSize()];
        for (int id = 0; id < vocab.length; id++) {
            vocab[id] = bytesAsString(tokenizer.piece(id).getBytes(StandardCharsets.UTF_8));
            ids.put(vocab[id], id);
        }
    }

    private static String bytesAsString(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    private int lookup(String bytes) {
        return ids.getOrDefault(bytes, -1);
    }

    int[] encode(String text, boolean bos, boolean eos) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        int end = 0;
        while (end < utf8.length && utf8[end] != 0) {
            end++; // a C string ends at NUL
        }
        List<Integer> tokens = new ArrayList<>();
        if (bos) {
            tokens.add(1);
        }
        if (end > 0) {
            tokens.add(lookup(" "));
        }
        StringBuilder buffer = new StringBuilder();
        for (int c = 0; c < end; c++) {
            if ((utf8[c] & 0xC0) != 0x80) {
                buffer.setLength(0);
            }
            buffer.append((char) (utf8[c] & 0xFF));
            if (c + 1 < end && (utf8[c + 1] & 0xC0) == 0x80 && buffer.length() < 4) {
                continue;
            }
            int id = lookup(buffer.toString());
            if (id != -1) {
                tokens.add(id);
            } else {
                for (int i = 0; i < buffer.length(); i++) {
                    tokens.add(buffer.charAt(i) + 3);
                }
            }
            buffer.setLength(0);
        }
        while (true) {
            float bestScore = -1e10f;
            int bestId = -1;
            int bestIdx = -1;
            for (int i = 0; i < tokens.size() - 1; i++) {
                int id = lookup(vocab[tokens.get(i)] + vocab[tokens.get(i + 1)]);
                if (id != -1 && tokenizer.score(id) > bestScore) {
                    bestScore = tokenizer.score(id);
                    bestId = id;
                    bestIdx = i;
                }
            }
            if (bestIdx == -1) {
                break;
            }
            tokens.set(bestIdx, bestId);
            tokens.remove(bestIdx + 1);
        }
        if (eos) {
            tokens.add(2);
        }
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    /** run.c's decode(prev, token): the piece's bytes, without its leading space right after BOS, byte tokens as raw bytes. */
    byte[] decode(int prev, int token) {
        String piece = vocab[token];
        if (prev == 1 && piece.startsWith(" ")) {
            piece = piece.substring(1);
        }
        Matcher hex = BYTE_PIECE.matcher(piece);
        if (hex.lookingAt()) {
            return new byte[] {(byte) Integer.parseInt(hex.group(1), 16)};
        }
        return piece.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** The text that ids following a BOS stand for: run.c's decode pieces joined, with nothing skipped. */
    String decode(int[] ids) {
        return join(ids, false);
    }

    /** What run.c's generate loop prints for ids following a BOS, before its final newline (safe_printf skips some pieces). */
    String print(int[] ids) {
        return join(ids, true);
    }

    private String join(int[] ids, boolean safePrintf) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int prev = 1;
        for (int id : ids) {
            byte[] piece = decode(prev, id);
            prev = id;
            // safe_printf drops single bytes that are neither printable nor whitespace, so also bytes >= 0x80
            boolean skipped = piece.length == 0 || (piece.length == 1 && !isPrintOrSpace(piece[0] & 0xFF));
            if (!safePrintf || !skipped) {
                out.writeBytes(piece);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static boolean isPrintOrSpace(int b) {
        return (b >= 0x20 && b < 0x7F) || (b >= 0x09 && b <= 0x0D);
    }
}
