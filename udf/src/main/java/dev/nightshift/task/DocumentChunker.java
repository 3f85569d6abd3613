package dev.nightshift.task;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Splits a document into chunks of at most {@code maxTokens} tokens that overlap by {@code overlapTokens}, for the
 * map-reduce summary of documents longer than the context (issue 10).
 *
 * <p>It works on the token start offsets of the whole text ({@code TextGenerator.tokenStarts}), so chunk sizes are
 * counted in the model's own tokens and a cut always falls between two tokens. Each cut is moved back, within the
 * second half of the chunk, to the best boundary there: the last paragraph break, else the last line break or
 * sentence end, else the last word boundary, else any token boundary. The next chunk starts exactly
 * {@code overlapTokens} tokens before the cut, so consecutive chunks share that many tokens of context.
 *
 * <p>Coverage: chunk i+1 starts before chunk i ends and the last chunk ends at the text's end, so the chunks' character
 * ranges together cover every character, and every token lies whole inside some chunk.
 */
public final class DocumentChunker {

    /** A text before a cut that ends a sentence: . ! ? (or their full-width forms), maybe closed by quotes or brackets. */
    private static final Pattern SENTENCE_END = Pattern.compile("[.!?。！？…][\"'”’)\\]]*$");

    private final int maxTokens;
    private final int overlapTokens;

    /**
     * @param maxTokens     the most tokens of the text in one chunk (at least 2)
     * @param overlapTokens tokens each chunk repeats of the one before it: 0 to {@code maxTokens / 2}
     */
    public DocumentChunker(int maxTokens, int overlapTokens) {
        if (maxTokens < 2) {
            throw new IllegalArgumentException("maxTokens must be at least 2, got " + maxTokens);
        }
        if (overlapTokens < 0 || overlapTokens > maxTokens / 2) {
            throw new IllegalArgumentException("overlapTokens must be between 0 and maxTokens / 2 (" + maxTokens / 2
                    + "), got " + overlapTokens);
        }
        this.maxTokens = maxTokens;
        this.overlapTokens = overlapTokens;
    }

    /**
     * One chunk: tokens {@code [firstToken, endToken)} of the whole text, characters {@code [start, end)}.
     *
     * @param text the chunk's text, {@code document.substring(start, end)}
     */
    public record Chunk(int firstToken, int endToken, int start, int end, String text) {
        public int tokens() {
            return endToken - firstToken;
        }
    }

    /**
     * The chunks of {@code text}, in order; one chunk (the whole text) when it has at most {@code maxTokens} tokens.
     *
     * @param tokenStarts where each token starts in {@code text}, never decreasing
     */
    public List<Chunk> split(String text, int[] tokenStarts) {
        int n = tokenStarts.length;
        List<Chunk> chunks = new ArrayList<>();
        int first = 0;
        while (true) {
            // The first chunk also holds what precedes the first token (white space a tokenizer dropped).
            int start = first == 0 ? 0 : tokenStarts[first];
            if (n - first <= maxTokens) {
                chunks.add(new Chunk(first, n, start, text.length(), text.substring(start)));
                return chunks;
            }
            int cut = cut(text, tokenStarts, first);
            chunks.add(new Chunk(first, cut, start, tokenStarts[cut], text.substring(start, tokenStarts[cut])));
            // Always advance, even when the overlap would reach back to this chunk's own start.
            first = Math.max(first + 1, cut - overlapTokens);
        }
    }

    /** The token index at which a chunk starting at token {@code first} ends: the best boundary in its second half. */
    private int cut(String text, int[] starts, int first) {
        int best = -1;
        int bestRank = -1;
        int lowest = first + Math.max(overlapTokens + 1, maxTokens / 2);
        for (int at = first + maxTokens; at >= lowest && bestRank < 3; at--) {
            // Tokens that spell one character share its start: no cut between them.
            if (starts[at] == starts[at - 1]) {
                continue;
            }
            int rank = rank(text, starts[at]);
            if (rank > bestRank) {
                best = at;
                bestRank = rank;
            }
        }
        return best >= 0 ? best : first + maxTokens;
    }

    /** How good a cut before character {@code at} is: 3 paragraph break, 2 line break or sentence end, 1 word, 0 none. */
    static int rank(String text, int at) {
        int end = at;
        while (end > 0 && (text.charAt(end - 1) == ' ' || text.charAt(end - 1) == '\t')) {
            end--;
        }
        if (end > 0 && text.charAt(end - 1) == '\n') {
            int before = end - 1;
            while (before > 0 && Character.isWhitespace(text.charAt(before - 1)) && text.charAt(before - 1) != '\n') {
                before--;
            }
            return before > 0 && text.charAt(before - 1) == '\n' ? 3 : 2;
        }
        boolean space = end < at || (at < text.length() && Character.isWhitespace(text.charAt(at)));
        if (space && SENTENCE_END.matcher(text.substring(Math.max(0, end - 4), end)).find()) {
            return 2;
        }
        return space ? 1 : 0;
    }
}
