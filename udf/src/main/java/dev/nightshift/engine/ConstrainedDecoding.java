package dev.nightshift.engine;

/**
 * The logits processor of a row decoded under a grammar ({@link TokenConstraint}): before each token, every token
 * that would leave the grammar gets negative infinity, and once the output is complete only the end tokens remain,
 * so the row stops exactly when its JSON object closes. It runs last in the row's chain, after the repetition
 * penalty, so that nothing can raise a masked token again.
 *
 * <p>When the vocabulary cannot continue the grammar at all (a tiny made-up vocabulary without a needed byte), the
 * end tokens are let through instead of masking everything, so the row ends and its task fails it for the unfinished
 * output ({@code ExtractTask}: {@code INVALID_OUTPUT}), rather than sampling from nothing. The engine refuses a
 * constraint for a model that declares no end token.
 */
final class ConstrainedDecoding implements LogitsProcessor {

    private final TokenConstraint constraint;
    private int state;
    private int consumed;

    ConstrainedDecoding(TokenConstraint constraint) {
        this.constraint = constraint;
        this.state = constraint.start();
    }

    @Override
    public void process(int[] generated, int count, float[] logits) {
        for (; consumed < count; consumed++) {
            int token = generated[consumed];
            if (constraint.isEnd(token)) {
                continue; // kept only under ignore_eos; not text
            }
            int next = constraint.advance(state, token);
            if (next < 0) {
                throw new IllegalStateException("token " + token + " was generated outside the grammar: the constraint "
                        + "must be the last logits processor of the row");
            }
            state = next;
        }
        if (constraint.mask(state, logits) == 0) {
            constraint.allowEnd(logits);
        }
    }

    /** Whether the output so far is a complete word of the grammar. */
    boolean complete() {
        return constraint.complete(state);
    }
}
