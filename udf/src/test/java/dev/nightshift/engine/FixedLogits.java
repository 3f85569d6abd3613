package dev.nightshift.engine;

import java.util.Arrays;

/**
 * Logits arrays written by hand, so sampling, logits processors and (through {@link FixedLogitsDecoder}) the generation
 * loop are tested without a model or ONNX Runtime.
 */
final class FixedLogits {

    private FixedLogits() {
    }

    /** A vocabulary of {@code size} tokens, every logit {@code base}. */
    static float[] uniform(int size, float base) {
        float[] logits = new float[size];
        Arrays.fill(logits, base);
        return logits;
    }

    /** Logits for tokens 0, 1, 2, ... in order. */
    static float[] of(float... values) {
        return values.clone();
    }

    /** A vocabulary of {@code size} tokens at {@code base}, with the given (token, logit) pairs set. */
    static float[] with(int size, float base, float... tokenLogitPairs) {
        float[] logits = uniform(size, base);
        for (int i = 0; i + 1 < tokenLogitPairs.length; i += 2) {
            logits[(int) tokenLogitPairs[i]] = tokenLogitPairs[i + 1];
        }
        return logits;
    }

    /** Logits whose softmax at temperature 1 is the given distribution (ln of each probability). */
    static float[] fromProbabilities(double... probabilities) {
        float[] logits = new float[probabilities.length];
        for (int i = 0; i < probabilities.length; i++) {
            logits[i] = probabilities[i] > 0 ? (float) Math.log(probabilities[i]) : -1000f;
        }
        return logits;
    }
}
