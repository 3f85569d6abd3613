package dev.nightshift.engine;

import ai.onnxruntime.OrtException;

import java.util.List;

/**
 * Scores labels as complete answers to one prompt: {@link #prepare} turns the prompt and labels into token ids (or a
 * row error), the engine plans the prepared rows into batches ({@link BatchPlanner}), and {@link #score} prefills each
 * prompt once, forks its cache into one row per label, and feeds each label's tokens in lock-step decode steps. A label's score is the log-probability of its
 * tokens (after a natural separator: a space when the prompt ends in a word or punctuation, nothing after white space,
 * before a label that starts with white space, or after a chat template's assistant header) <b>followed by the end of
 * the answer</b>: any end-of-sequence id (end of turn in a chat model), the first token of any of the task's stop
 * strings, or, for plain completion prompts, a newline. Scoring the end is what makes a label that is a prefix
 * of another ({@code Sci} vs {@code Sci/Tech}) lose when the model goes on, and what keeps short labels from winning on
 * length alone. The label probabilities are the softmax of those scores over the labels.
 */
final class LabelScorer {

    private final DecoderModel model;
    /** What runs the prompts: the model itself (an {@link OnnxDecoder} per prompt and one per fork). */
    private final DecoderFactory decoders;
    private final TextTokenizer tokenizer;
    private final LabelContinuations continuations;
    private final int[] endIds;
    private final java.util.Map<String, int[]> endIdsByOptions = new java.util.HashMap<>();

    /** @param continuations the engine's label ids after prompts, cached per prompt ending (so per task) */
    LabelScorer(DecoderModel model, TextTokenizer tokenizer, LabelContinuations continuations) {
        this.model = model;
        this.decoders = model;
        this.tokenizer = tokenizer;
        this.continuations = continuations;
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

    /**
     * One prompt ready to score: its ids, each label's tokens as they follow it, and the ids that end an answer. Planned
     * into batches like a generation row: its cache holds the prompt and, forked, one row per label, each with room for
     * the longest label.
     */
    record Candidates(int index, List<String> labels, int[] ids, int[][] continuations, int longest, int[] ends,
                      String warning) implements BatchPlanner.Planned {

        @Override
        public String prefixKey() {
            return null;
        }

        @Override
        public int promptLength() {
            return ids.length;
        }

        @Override
        public int positions() {
            return ids.length + longest;
        }

        @Override
        public int cacheRows() {
            return labels.size() + 1;
        }
    }

    /** A prompt's {@link Candidates}, or (candidates null) the scores that say why it cannot be scored. */
    record Prepared(Candidates candidates, LabelScores failure) {
    }

    /** Everything about row {@code index} that can fail before the model runs: end ids, label tokens, context room. */
    Prepared prepare(int index, PromptEncoder.Encoded prompt, boolean chat, List<String> stopStrings, List<String> labels) {
        int[] ids = prompt.ids();
        // The same for every row of a call: computed once (it encodes probe texts).
        int[] ends = endIdsByOptions.computeIfAbsent(chat + "\u0000" + String.join("\u0000", stopStrings),
                key -> endIds(chat, stopStrings));
        if (ends.length == 0) {
            return failed(new LabelScores(labels, new double[0], ids.length, ErrorCode.BAD_PROMPT.message("the model declares no end-of-sequence token, so "
                    + "labels cannot be scored as complete answers; add eos_token_id to its config")));
        }
        String separator = separator(prompt.pieces(), chat);
        int[][] continuations = new int[labels.size()][];
        int longest = 0;
        for (int i = 0; i < labels.size(); i++) {
            String label = labels.get(i);
            boolean spaced = !label.isEmpty() && Character.isWhitespace(label.charAt(0));
            continuations[i] = continuation(ids, prompt.pieces(), (spaced ? "" : separator) + label);
            if (continuations[i].length == 0) {
                return failed(new LabelScores(labels, new double[0], ids.length, ErrorCode.BAD_PROMPT.message("label '" + labels.get(i) + "' has no tokens")));
            }
            longest = Math.max(longest, continuations[i].length);
        }
        if (ids.length + longest > model.contextLength) {
            return failed(new LabelScores(labels, new double[0], ids.length, ErrorCode.CONTEXT_OVERFLOW.message("prompt of "
                    + ids.length + " tokens plus a label of " + longest + " tokens does not fit the context of "
                    + model.contextLength + "; shorten the text, or set the overflow policy to truncate_head or "
                    + "truncate_middle")));
        }
        return new Prepared(new Candidates(index, labels, ids, continuations, longest, ends, prompt.warning()), null);
    }

    private static Prepared failed(LabelScores scores) {
        return new Prepared(null, scores);
    }

    /**
     * Scores one prompt's labels: its prompt prefilled alone (batch size 1), the cache forked into one row per label,
     * and the labels fed in lock-step decode steps, exactly the runs the scores had before rows were planned into
     * batches. Rows of one batch are scored one after another, not in one prefill: several prompts in one run change
     * the matrix shapes ONNX Runtime's kernels see (rows x longest prompt), and a kernel may then sum in another
     * order. Greedy generation tolerates a last-bit difference that flips no argmax; label probabilities are reported
     * as numbers, and must not depend on which other rows shared the call.
     */
    LabelScores score(Candidates row) throws OrtException {
        List<String> labels = row.labels();
        int[] ids = row.ids();
        int[][] continuations = row.continuations();
        int longest = row.longest();
        double[] logProbability = new double[labels.size()];
        int[] answerTokens = new int[labels.size()];
        try (Decoder prompt = decoders.open(1, ids.length + longest)) {
            float[] first = prompt.prefill(new int[][]{ids})[0];
            for (int i = 0; i < labels.size(); i++) {
                logProbability[i] = Softmax.logProbability(first, continuations[i][0]);
                answerTokens[i] = continuations[i].length + 1;
            }
            try (Decoder forked = prompt.fork(0, labels.size(), ids.length + longest)) {
                int[] tokens = new int[labels.size()];
                boolean[] advance = new boolean[labels.size()];
                // Step t feeds token t of every label still going; its logits score token t + 1, or the end after the last.
                for (int t = 0; t < longest; t++) {
                    for (int i = 0; i < labels.size(); i++) {
                        advance[i] = t < continuations[i].length;
                        tokens[i] = advance[i] ? continuations[i][t] : decoders.padId();
                    }
                    float[][] logits = forked.step(tokens, advance);
                    for (int i = 0; i < labels.size(); i++) {
                        if (!advance[i]) {
                            continue;
                        }
                        logProbability[i] += t + 1 < continuations[i].length
                                ? Softmax.logProbability(logits[i], continuations[i][t + 1])
                                : Softmax.logProbability(logits[i], row.ends());
                    }
                }
            }
        }
        return new LabelScores(labels, Softmax.softmax(logProbability), ids.length, null, answerTokens, row.warning());
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

    /** The answer's ids as they follow this prompt ({@link LabelContinuations}: exact, computed once per task). */
    private int[] continuation(int[] promptIds, List<TextTokenizer.Piece> pieces, String answer) {
        return continuations.after(promptIds, pieces, answer);
    }

    /** A text's ids on their own, without BOS and with special-token text as plain text. */
    private int[] alone(String text) {
        return continuations.alone(text);
    }
}
