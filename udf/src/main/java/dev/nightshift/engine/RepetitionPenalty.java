package dev.nightshift.engine;

import java.util.BitSet;

/**
 * CTRL-style repetition penalty: every token already in the row (prompt or generated) has a positive logit divided by
 * the penalty and a negative one multiplied by it. Each token counts once, however often it occurred.
 */
final class RepetitionPenalty implements LogitsProcessor {

    private final float penalty;
    private final BitSet seen = new BitSet();
    /** How many generated ids are already in {@link #seen}. */
    private int absorbed;

    RepetitionPenalty(float penalty, int[] prompt) {
        this.penalty = penalty;
        for (int token : prompt) {
            seen.set(token);
        }
    }

    @Override
    public void process(int[] generated, int count, float[] logits) {
        for (; absorbed < count; absorbed++) {
            seen.set(generated[absorbed]);
        }
        for (int token = seen.nextSetBit(0); token >= 0 && token < logits.length; token = seen.nextSetBit(token + 1)) {
            logits[token] = logits[token] > 0 ? logits[token] / penalty : logits[token] * penalty;
        }
    }
}
