package dev.nightshift.engine;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A label's token ids as they follow a prompt, computed once per task rather than once per row.
 *
 * <p>Exactly, a label's ids are the tail of {@code encode(prompt + separator + label)} after the prompt's own ids: a
 * tokenizer may merge across the boundary, so the label alone is not enough. Encoding every prompt again for every
 * label costs a full tokenization per (row, label). But what the answer adds can only change the tokens near the end of
 * the prompt: Llama 3's pre-tokenizer splits text into chunks left to right (appending text changes only the last
 * chunks), and Llama 2's SentencePiece vocabulary has no piece with a word boundary inside it (appending changes only
 * the last word). So the ids depend on the prompt's last {@value #TAIL} characters (with which of them are trusted,
 * since only trusted text may hold special tokens) and the answer; rows of one task end with the same instruction, so
 * the first row computes them exactly and the others reuse them. {@code LabelContinuationsTest} checks the cached ids
 * against the exact ones on the real Llama 2 and Llama 3 tokenizers.
 */
final class LabelContinuations {

    private static final int MAX_ENTRIES = 4096;

    private final TextTokenizer tokenizer;
    private final Map<String, int[]> cache = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, int[]> eldest) {
            return size() > MAX_ENTRIES;
        }
    };
    private final AtomicLong encoded = new AtomicLong();

    LabelContinuations(TextTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** The ids {@code answer} adds after the prompt (ids {@code promptIds}, given as {@code pieces}). */
    int[] after(int[] promptIds, List<TextTokenizer.Piece> pieces, String answer) {
        String key = key(pieces, answer);
        synchronized (cache) {
            int[] known = cache.get(key);
            if (known != null) {
                return known;
            }
        }
        int[] ids = exactly(promptIds, pieces, answer);
        synchronized (cache) {
            cache.put(key, ids);
        }
        return ids;
    }

    /** How many (prompt, answer) pairs were tokenized in full (the rest came from the cache). */
    long encoded() {
        return encoded.get();
    }

    /** The tail of encode(prompt + answer) when it extends the prompt's ids; else the answer's ids alone. */
    int[] exactly(int[] promptIds, List<TextTokenizer.Piece> pieces, String answer) {
        encoded.incrementAndGet();
        List<TextTokenizer.Piece> joined = new java.util.ArrayList<>(pieces);
        joined.add(new TextTokenizer.Piece(answer, false));
        int[] all = LlmEngine.toInts(tokenizer.encode(joined));
        boolean extendsPrompt = all.length > promptIds.length;
        for (int i = 0; extendsPrompt && i < promptIds.length; i++) {
            extendsPrompt = all[i] == promptIds[i];
        }
        if (extendsPrompt) {
            return Arrays.copyOfRange(all, promptIds.length, all.length);
        }
        return alone(answer);
    }

    /** A text's ids on their own, without BOS and with special-token text as plain text. */
    int[] alone(String text) {
        int[] ids = LlmEngine.toInts(tokenizer.encode(List.of(new TextTokenizer.Piece(text, false))));
        int skip = tokenizer.addsBos() && ids.length > 0 ? 1 : 0;
        return Arrays.copyOfRange(ids, skip, ids.length);
    }

    /**
     * What decides how an answer after the prompt is tokenized: the prompt's last word with the white space before and
     * after it (each character marked trusted or not), and the answer. Appending the answer can re-tokenize only that
     * last word and its surrounding white space (see the class comment); the word before it stays as it was. A prompt
     * that is one word is its whole text, so whether it starts the sequence is part of the key too.
     */
    static String key(List<TextTokenizer.Piece> pieces, String answer) {
        StringBuilder text = new StringBuilder();
        StringBuilder trust = new StringBuilder();
        for (TextTokenizer.Piece piece : pieces) {
            text.append(piece.text());
            trust.append(String.valueOf(piece.trusted() ? 'T' : 'U').repeat(piece.text().length()));
        }
        int start = text.length();
        while (start > 0 && Character.isWhitespace(text.charAt(start - 1))) {
            start--;
        }
        while (start > 0 && !Character.isWhitespace(text.charAt(start - 1))) {
            start--;
        }
        while (start > 0 && Character.isWhitespace(text.charAt(start - 1))) {
            start--;
        }
        return (start == 0 ? "whole\u0000" : "tail\u0000") + text.substring(start) + '\u0000' + trust.substring(start)
                + '\u0000' + answer;
    }
}
