package dev.nightshift.engine;

/**
 * Softmax, argmax and log-sum-exp over scores: the engine's one copy (sampling, label scoring) and the converter's
 * (distillation). Every form subtracts the maximum first, so large logits never overflow {@code exp} and a very
 * unlikely token keeps a finite log-probability instead of underflowing to minus infinity.
 */
public final class Softmax {

    private Softmax() {
    }

    /** The index of the first maximum (ties go to the lower id, as llama2.c's greedy decoding). */
    public static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    /** log softmax(logits)[token]. */
    public static double logProbability(float[] logits, int token) {
        return logProbability(logits, new int[]{token});
    }

    /**
     * log of the summed softmax probability of {@code tokens}: log-sum-exp over the chosen tokens minus log-sum-exp over
     * all, each around its own maximum, so that a very unlikely answer keeps a finite score.
     */
    public static double logProbability(float[] logits, int[] tokens) {
        double max = Double.NEGATIVE_INFINITY;
        for (float logit : logits) {
            max = Math.max(max, logit);
        }
        double sum = 0;
        for (float logit : logits) {
            sum += Math.exp(logit - max);
        }
        double chosenMax = Double.NEGATIVE_INFINITY;
        for (int token : tokens) {
            chosenMax = Math.max(chosenMax, logits[token]);
        }
        double chosen = 0;
        for (int token : tokens) {
            chosen += Math.exp(logits[token] - chosenMax);
        }
        return chosenMax - max + Math.log(chosen) - Math.log(sum);
    }

    /** The softmax of {@code values} (label scores to label probabilities), summing to 1. */
    public static double[] softmax(double[] values) {
        double max = Double.NEGATIVE_INFINITY;
        for (double value : values) {
            max = Math.max(max, value);
        }
        double sum = 0;
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Math.exp(values[i] - max);
            sum += out[i];
        }
        for (int i = 0; i < values.length; i++) {
            out[i] /= sum;
        }
        return out;
    }

    /**
     * The softmax of {@code values[offset .. offset + n)} into {@code out[0 .. n)}, in float (one position of a
     * [positions, vocab] logits array, as the converter's distillation reads them); the sum is kept in double.
     */
    public static void softmax(float[] values, int offset, int n, float[] out) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, values[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            out[i] = (float) Math.exp(values[offset + i] - max);
            sum += out[i];
        }
        float inverse = (float) (1 / sum);
        for (int i = 0; i < n; i++) {
            out[i] *= inverse;
        }
    }
}
