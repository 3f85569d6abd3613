package dev.nightshift.engine;

import java.util.List;

/**
 * How likely each candidate label is as the continuation of one prompt: the softmax, over the labels,
 * of each label's total token log-probability.
 *
 * @param labels        the candidates, in the order asked
 * @param probabilities one per label, summing to 1 (empty when the row failed)
 * @param promptTokens  tokens in the prompt
 * @param error         what went wrong, or null
 */
public record LabelScores(List<String> labels, double[] probabilities, int promptTokens, String error) {

    public int best() {
        int best = 0;
        for (int i = 1; i < probabilities.length; i++) {
            if (probabilities[i] > probabilities[best]) {
                best = i;
            }
        }
        return best;
    }

    public String bestLabel() {
        return error != null ? null : labels.get(best());
    }

    public boolean failed() {
        return error != null;
    }
}
