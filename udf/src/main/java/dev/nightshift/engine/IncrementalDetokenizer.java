package dev.nightshift.engine;

import java.util.Arrays;
import java.util.function.Function;

/**
 * One row's text, built as its tokens arrive: each {@link #add} returns only the newly completed text. It decodes a
 * short window of the last tokens, never the whole row, and holds back a character whose bytes are still arriving.
 *
 * <p>The approach of Hugging Face TGI and vLLM: the window starts at {@code prefixOffset}; the tokens up to
 * {@code readOffset} were already emitted. Decoding the window with and without the tokens after {@code readOffset}
 * and emitting the difference keeps whatever a decoder does at the start of a run (SentencePiece's dropped leading
 * space, a byte-level run starting inside a character) out of the text, since both decodes see the same start. When the
 * window's text ends in U+FFFD the last character is incomplete and nothing is emitted until a later token completes it.
 */
final class IncrementalDetokenizer {

    private final Function<int[], String> decoder;
    private final StringBuilder text = new StringBuilder();
    private int[] ids = new int[16];
    private int count;
    private int prefixOffset;
    private int readOffset;

    IncrementalDetokenizer(TextTokenizer tokenizer) {
        this(tokenizer::decode);
    }

    /** @param decoder text for token ids, as {@link TextTokenizer#decode(int[])} */
    IncrementalDetokenizer(Function<int[], String> decoder) {
        this.decoder = decoder;
    }

    /** Feeds the next token; returns the text it completes (empty while a character is incomplete). */
    String add(int token) {
        if (count == ids.length) {
            ids = Arrays.copyOf(ids, count * 2);
        }
        ids[count++] = token;
        String prefix = readOffset > prefixOffset ? decoder.apply(Arrays.copyOfRange(ids, prefixOffset, readOffset)) : "";
        String window = decoder.apply(Arrays.copyOfRange(ids, prefixOffset, count));
        if (window.length() > prefix.length() && !window.endsWith("\uFFFD")) {
            String added = window.substring(prefix.length());
            prefixOffset = readOffset;
            readOffset = count;
            text.append(added);
            return added;
        }
        return "";
    }

    /** The text emitted so far: every complete character of the tokens fed. */
    CharSequence text() {
        return text;
    }

    /** Tokens fed so far. */
    int tokens() {
        return count;
    }
}
