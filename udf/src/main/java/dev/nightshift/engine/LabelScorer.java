package dev.nightshift.engine;

import ai.onnxruntime.OrtException;

import java.util.List;

/**
 * Scores labels as continuations of one prompt: the prompt is prefilled once, its cache forked into
 * one row per label, and the labels' tokens are fed in lock-step decode steps, summing each label's
 * token log-probabilities. The label probabilities are the softmax of those sums.
 */
final class LabelScorer {

    private final DecoderModel model;
    private final TextTokenizer tokenizer;

    LabelScorer(DecoderModel model, TextTokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
    }

    LabelScores score(Row row, String promptText, List<String> labels) throws OrtException {
        int[][] continuations = new int[labels.size()][];
        int longest = 0;
        for (int i = 0; i < labels.size(); i++) {
            continuations[i] = continuation(row.prompt, promptText, labels.get(i));
            if (continuations[i].length == 0) {
                return new LabelScores(labels, new double[0], row.prompt.length, "label '" + labels.get(i) + "' has no tokens");
            }
            longest = Math.max(longest, continuations[i].length);
        }
        if (row.prompt.length + longest > model.contextLength) {
            return new LabelScores(labels, new double[0], row.prompt.length, "prompt of " + row.prompt.length
                    + " tokens plus a label of " + longest + " tokens does not fit the context of " + model.contextLength);
        }
        double[] logProbability = new double[labels.size()];
        try (BatchRun prompt = BatchRun.create(model, 1, row.prompt.length + longest)) {
            float[] first = prompt.prefill(new int[][]{row.prompt})[0];
            for (int i = 0; i < labels.size(); i++) {
                logProbability[i] = logSoftmax(first, continuations[i][0]);
            }
            if (longest > 1) {
                try (BatchRun forked = prompt.fork(0, labels.size(), row.prompt.length + longest)) {
                    int[] tokens = new int[labels.size()];
                    boolean[] advance = new boolean[labels.size()];
                    for (int t = 0; t + 1 < longest; t++) {
                        for (int i = 0; i < labels.size(); i++) {
                            advance[i] = t + 1 < continuations[i].length;
                            tokens[i] = t < continuations[i].length ? continuations[i][t] : model.padId;
                        }
                        float[][] logits = forked.step(tokens, advance);
                        for (int i = 0; i < labels.size(); i++) {
                            if (advance[i]) {
                                logProbability[i] += logSoftmax(logits[i], continuations[i][t + 1]);
                            }
                        }
                    }
                }
            }
        }
        return new LabelScores(labels, softmax(logProbability), row.prompt.length, null);
    }

    /** The label's ids as they follow this prompt: the tail of encode(prompt + label) when it extends the prompt's ids. */
    private int[] continuation(int[] promptIds, String promptText, String label) {
        int[] joined = LlmEngine.toInts(tokenizer.encode(promptText + label));
        boolean extends_ = joined.length > promptIds.length;
        for (int i = 0; extends_ && i < promptIds.length; i++) {
            extends_ = joined[i] == promptIds[i];
        }
        if (extends_) {
            return java.util.Arrays.copyOfRange(joined, promptIds.length, joined.length);
        }
        int[] alone = LlmEngine.toInts(tokenizer.encode(label));
        int skip = tokenizer.addsBos() && alone.length > 0 ? 1 : 0;
        return java.util.Arrays.copyOfRange(alone, skip, alone.length);
    }

    static double logSoftmax(float[] logits, int token) {
        double max = Double.NEGATIVE_INFINITY;
        for (float logit : logits) {
            max = Math.max(max, logit);
        }
        double sum = 0;
        for (float logit : logits) {
            sum += Math.exp(logit - max);
        }
        return logits[token] - max - Math.log(sum);
    }

    static double[] softmax(double[] values) {
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
}
