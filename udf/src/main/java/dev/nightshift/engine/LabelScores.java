package dev.nightshift.engine;

import java.util.List;

/**
 * How likely each candidate label is as the continuation of one prompt: the softmax, over the labels,
 * of each label's total token log-probability.
 *
 * @param labels        the candidates, in the order asked
 * @param probabilities one per label, summing to 1 (empty when the row failed)
 * @param promptTokens  tokens in the prompt as the model saw it (on error: its real count)
 * @param error         what went wrong, or null
 * @param answerTokens  per label, the tokens scored for it: the label's tokens after the prompt plus the end of the
 *                      answer (empty when the row failed)
 * @param warning       what was changed to score the row (the prompt truncated from N to M tokens), or null
 */
public record LabelScores(List<String> labels, double[] probabilities, int promptTokens, String error,
                          int[] answerTokens, String warning) {

    public LabelScores(List<String> labels, double[] probabilities, int promptTokens, String error) {
        this(labels, probabilities, promptTokens, error, new int[0], null);
    }

    /** The tokens scored for the best label (0 when the row failed or the scorer did not count them). */
    /** The same scores with other probabilities over the same labels (contextual calibration). */
    public LabelScores withProbabilities(double[] values) {
        if (values.length != labels.size()) {
            throw new IllegalArgumentException(values.length + " probabilities for " + labels.size() + " labels");
        }
        return new LabelScores(labels, values.clone(), promptTokens, error, answerTokens, warning);
    }

    public int bestAnswerTokens() {
        return error != null || answerTokens.length == 0 ? 0 : answerTokens[best()];
    }

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
