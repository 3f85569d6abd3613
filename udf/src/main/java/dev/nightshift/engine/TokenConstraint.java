package dev.nightshift.engine;

import org.apache.lucene.util.automaton.Automaton;
import org.apache.lucene.util.automaton.ByteRunAutomaton;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A grammar over a model's vocabulary: which tokens may come next so that the output stays a prefix of a word of
 * the grammar. The grammar is a Unicode automaton ({@link JsonSchemaGrammar}); Lucene turns it into a DFA over UTF-8
 * bytes, and a token is allowed in a state when its bytes ({@link TokenBytes}) all step without leaving the DFA.
 * Since every DFA state can still reach an accepting one (dead states are removed), a constrained output can always
 * be completed.
 *
 * <p>The allowed set of a state is computed the first time a row reaches it, by walking the DFA over the
 * vocabulary sorted by bytes (tokens sharing a prefix share the steps, and a dead prefix cuts off every token that
 * starts with it), then kept for the life of this object: one per schema per engine, shared by every row and thread.
 * The end-of-sequence ids are allowed exactly in accepting states, where nothing else is.
 */
public final class TokenConstraint {

    private final ByteRunAutomaton dfa;
    private final TokenBytes vocabulary;
    private final int[] sorted; // token ids with bytes, sorted by their bytes (unsigned, shorter first)
    private final int[] endIds;
    private final ConcurrentHashMap<Integer, long[]> allowed = new ConcurrentHashMap<>();

    /**
     * @param grammar    the outputs to allow (code points)
     * @param vocabulary the bytes of each token id
     * @param endIds     the ids that end generation (allowed only once the output is complete)
     */
    public TokenConstraint(Automaton grammar, TokenBytes vocabulary, int[] endIds) {
        this.dfa = new ByteRunAutomaton(grammar);
        this.vocabulary = vocabulary;
        this.endIds = endIds.clone();
        this.sorted = java.util.stream.IntStream.range(0, vocabulary.size())
                .filter(id -> vocabulary.bytes(id) != null && vocabulary.bytes(id).length > 0)
                // an end token whose text is in the vocabulary (not marked special) still only ends the output
                .filter(id -> !isEnd(id))
                .boxed()
                .sorted((a, b) -> Arrays.compareUnsigned(vocabulary.bytes(a), vocabulary.bytes(b)))
                .mapToInt(Integer::intValue)
                .toArray();
    }

    /** The state before any output. */
    public int start() {
        return 0;
    }

    /** The state after {@code token}, or -1 when the token leaves the grammar. */
    public int advance(int state, int token) {
        byte[] bytes = vocabulary.bytes(token);
        if (bytes == null) {
            return -1;
        }
        int s = state;
        for (int i = 0; i < bytes.length && s >= 0; i++) {
            s = dfa.step(s, bytes[i] & 0xFF);
        }
        return s;
    }

    /** Whether the output so far is a complete word of the grammar. */
    public boolean complete(int state) {
        return dfa.isAccept(state);
    }

    /** Whether {@code token} ends generation. */
    public boolean isEnd(int token) {
        for (int id : endIds) {
            if (id == token) {
                return true;
            }
        }
        return false;
    }

    /**
     * Sets the logits of every token not allowed in {@code state} to negative infinity.
     *
     * @param logits [vocab] of one row, changed in place
     * @return how many tokens stay allowed (0 means the vocabulary cannot continue the grammar here)
     */
    public int mask(int state, float[] logits) {
        long[] bits = allowed(state);
        int kept = 0;
        int covered = Math.min(logits.length, vocabulary.size());
        // a word at a time: most words of a state's set are all allowed (inside a string) or all masked (a literal)
        for (int w = 0; w < bits.length && (w << 6) < covered; w++) {
            long word = bits[w];
            int from = w << 6;
            int to = Math.min(from + 64, covered);
            if (word == -1L && to - from == 64) {
                kept += 64;
            } else if (word == 0) {
                java.util.Arrays.fill(logits, from, to, Float.NEGATIVE_INFINITY);
            } else {
                kept += Long.bitCount(to - from == 64 ? word : word & ((1L << (to - from)) - 1));
                for (int v = from; v < to; v++) {
                    if ((word & (1L << v)) == 0) {
                        logits[v] = Float.NEGATIVE_INFINITY;
                    }
                }
            }
        }
        // logits beyond the tokenizer's vocabulary (padded embedding rows) are never text
        if (covered < logits.length) {
            java.util.Arrays.fill(logits, covered, logits.length, Float.NEGATIVE_INFINITY);
        }
        return kept;
    }

    /** Lets the end tokens through (logit 0) whatever the state: the way out of a state the vocabulary cannot continue. */
    public void allowEnd(float[] logits) {
        for (int id : endIds) {
            if (id >= 0 && id < logits.length) {
                logits[id] = 0f;
            }
        }
    }

    /** How many DFA states have their allowed set computed (for tests and benchmarks). */
    public int cachedStates() {
        return allowed.size();
    }

    /** The allowed tokens of a state as a bit set over the vocabulary. */
    long[] allowed(int state) {
        return allowed.computeIfAbsent(state, this::compute);
    }

    private long[] compute(int state) {
        long[] bits = new long[(vocabulary.size() + 63) >>> 6];
        walk(0, sorted.length, 0, state, bits);
        if (dfa.isAccept(state)) {
            for (int id : endIds) {
                if (id >= 0 && id < vocabulary.size()) {
                    bits[id >>> 6] |= 1L << id;
                }
            }
        }
        return bits;
    }

    /** Tokens sorted[from..to) share their first {@code depth} bytes, which lead the DFA to {@code state}. */
    private void walk(int from, int to, int depth, int state, long[] bits) {
        int i = from;
        // the tokens that end here sort first
        while (i < to && vocabulary.bytes(sorted[i]).length == depth) {
            if (depth > 0) {
                bits[sorted[i] >>> 6] |= 1L << sorted[i];
            }
            i++;
        }
        while (i < to) {
            int b = vocabulary.bytes(sorted[i])[depth] & 0xFF;
            int end = i + 1;
            while (end < to && (vocabulary.bytes(sorted[end])[depth] & 0xFF) == b) {
                end++;
            }
            int next = dfa.step(state, b);
            if (next >= 0) {
                walk(i, end, depth + 1, next, bits);
            }
            i = end;
        }
    }
}
