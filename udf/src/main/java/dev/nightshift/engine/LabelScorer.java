package dev.nightshift.engine;

import ai.onnxruntime.OrtException;

import java.util.List;

/**
 * Scores labels as complete answers to one prompt: the prompt is prefilled once, its cache forked into one row per
 * label, and each label's tokens are fed in lock-step decode steps. A label's score is the log-probability of its
 * tokens (after a natural separator: a space when the prompt ends in a word or punctuation, nothing after white space,
 * before a label that starts with white space, or after a chat template's assistant header) <b>followed by the end of
 * the answer</b>: any end-of-sequence id (end of turn in a chat model), the first token of any of the task's stop
 * strings, or, for plain completion prompts, a newline. Scoring the end is what makes a label that is a prefix
 * of another ({@code Sci} vs {@code Sci/Tech}) lose when the model goes on, and what keeps short labels from winning on
 * length alone. The label probabilities are the softmax of those scores over the labels.
 */
final class LabelScorer {

    private final DecoderModel model;
    private final TextTokenizer tokenizer;
    private final int[] endIds;
    private final java.util.Map<String, int[]> endIdsByOptions = new java.util.HashMap<>();

    LabelScorer(DecoderModel model, TextTokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.endIds = model.eosIds;
    }

    /**
     * Tokens the longest label's answer may take after a prompt (its tokens alone, plus the end of the answer and one
     * for a merge at the boundary): what an overflow policy keeps free after a prompt.
     */
    int longestAnswerBound(List<String> labels) {
        int longest = 0;
        for (String label : labels) {
            longest = Math.max(longest, alone(" " + label).length);
        }
        return longest + 2;
    }

    LabelScores score(PromptEncoder.Encoded prompt, boolean chat, List<String> stopStrings, List<String> labels)
            throws OrtException {
        int[] ids = prompt.ids();
        // The same for every row of a call: computed once (it encodes probe texts).
        int[] ends = endIdsByOptions.computeIfAbsent(chat + "\u0000" + String.join("\u0000", stopStrings),
                key -> endIds(chat, stopStrings));
        if (ends.length == 0) {
            return new LabelScores(labels, new double[0], ids.length, ErrorCode.BAD_PROMPT.message("the model declares no end-of-sequence token, so "
                    + "labels cannot be scored as complete answers; add eos_token_id to its config"));
        }
        String separator = separator(prompt.pieces(), chat);
        int[][] continuations = new int[labels.size()][];
        int longest = 0;
        for (int i = 0; i < labels.size(); i++) {
            String label = labels.get(i);
            boolean spaced = !label.isEmpty() && Character.isWhitespace(label.charAt(0));
            continuations[i] = continuation(ids, prompt.pieces(), (spaced ? "" : separator) + label);
            if (continuations[i].length == 0) {
                return new LabelScores(labels, new double[0], ids.length, ErrorCode.BAD_PROMPT.message("label '" + labels.get(i) + "' has no tokens"));
            }
            longest = Math.max(longest, continuations[i].length);
        }
        if (ids.length + longest > model.contextLength) {
            return new LabelScores(labels, new double[0], ids.length, ErrorCode.CONTEXT_OVERFLOW.message("prompt of "
                    + ids.length + " tokens plus a label of " + longest + " tokens does not fit the context of "
                    + model.contextLength + "; shorten the text, or set the overflow policy to truncate_head or "
                    + "truncate_middle"));
        }
        double[] logProbability = new double[labels.size()];
        int[] answerTokens = new int[labels.size()];
        try (BatchRun run = BatchRun.create(model, 1, ids.length + longest)) {
            float[] first = run.prefill(new int[][]{ids})[0];
            for (int i = 0; i < labels.size(); i++) {
                logProbability[i] = logSoftmax(first, continuations[i][0]);
                answerTokens[i] = continuations[i].length + 1;
            }
            try (BatchRun forked = run.fork(0, labels.size(), ids.length + longest)) {
                int[] tokens = new int[labels.size()];
                boolean[] advance = new boolean[labels.size()];
                // Step t feeds token t of every label still going; its logits score token t + 1, or the end after the last.
                for (int t = 0; t < longest; t++) {
                    for (int i = 0; i < labels.size(); i++) {
                        advance[i] = t < continuations[i].length;
                        tokens[i] = advance[i] ? continuations[i][t] : model.padId;
                    }
                    float[][] logits = forked.step(tokens, advance);
                    for (int i = 0; i < labels.size(); i++) {
                        if (!advance[i]) {
                            continue;
                        }
                        logProbability[i] += t + 1 < continuations[i].length
                                ? logSoftmax(logits[i], continuations[i][t + 1])
                                : logSoftmax(logits[i], ends);
                    }
                }
            }
        }
        return new LabelScores(labels, softmax(logProbability), ids.length, null, answerTokens, prompt.warning());
    }

    /**
     * Ids that end an answer: every end-of-sequence id, the first token of each stop string (the task's own terminators),
     * and for completion prompts the newline token. A terminator's token is the one it gets after a word, not alone (a
     * SentencePiece vocabulary spells "." alone with a prefix space).
     */
    private int[] endIds(boolean chat, List<String> stopStrings) {
        java.util.Set<Integer> ends = new java.util.LinkedHashSet<>();
        for (int id : endIds) {
            if (id >= 0 && id < model.vocabSize) {
                ends.add(id);
            }
        }
        List<String> terminators = new java.util.ArrayList<>(stopStrings);
        if (!chat) {
            terminators.add("\n");
        }
        int[] word = alone("a");
        for (String terminator : terminators) {
            int[] after = alone("a" + terminator);
            if (after.length > word.length && java.util.Arrays.equals(word, java.util.Arrays.copyOf(after, word.length))) {
                ends.add(after[word.length]);
            }
        }
        return ends.stream().mapToInt(Integer::intValue).toArray();
    }

    /** What goes between the prompt and a label: nothing after white space (or a chat header), else a space. */
    private static String separator(List<TextTokenizer.Piece> pieces, boolean chat) {
        if (chat) {
            return "";
        }
        for (int i = pieces.size() - 1; i >= 0; i--) {
            String text = pieces.get(i).text();
            if (!text.isEmpty()) {
                return Character.isWhitespace(text.charAt(text.length() - 1)) ? "" : " ";
            }
        }
        return "";
    }

    /** The answer's ids as they follow this prompt: the tail of encode(prompt + answer) when it extends the prompt's ids. */
    private int[] continuation(int[] promptIds, List<TextTokenizer.Piece> pieces, String answer) {
        List<TextTokenizer.Piece> joined = new java.util.ArrayList<>(pieces);
        joined.add(new TextTokenizer.Piece(answer, false));
        int[] all = LlmEngine.toInts(tokenizer.encode(joined));
        boolean extendsPrompt = all.length > promptIds.length;
        for (int i = 0; extendsPrompt && i < promptIds.length; i++) {
            extendsPrompt = all[i] == promptIds[i];
        }
        if (extendsPrompt) {
            return java.util.Arrays.copyOfRange(all, promptIds.length, all.length);
        }
        return alone(answer);
    }

    /** A text's ids on their own, without BOS and with special-token text as plain text. */
    private int[] alone(String text) {
        int[] ids = LlmEngine.toInts(tokenizer.encode(List.of(new TextTokenizer.Piece(text, false))));
        int skip = tokenizer.addsBos() && ids.length > 0 ? 1 : 0;
        return java.util.Arrays.copyOfRange(ids, skip, ids.length);
    }

    /** log softmax(logits)[token]. */
    static double logSoftmax(float[] logits, int token) {
        return logSoftmax(logits, new int[]{token});
    }

    /**
     * log of the summed softmax probability of {@code tokens}, computed as log-sum-exp on both sides so that a very
     * unlikely answer keeps a finite score instead of underflowing to minus infinity.
     */
    static double logSoftmax(float[] logits, int[] tokens) {
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
