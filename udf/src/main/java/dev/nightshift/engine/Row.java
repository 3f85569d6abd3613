package dev.nightshift.engine;

import java.util.Arrays;

/** One prompt's state through a batch: its ids, how much of them a shared prefix covers, what it generated. */
final class Row implements BatchPlanner.Planned {

    final int index;
    final int[] prompt;
    final GenerationOptions options;
    final String prefixKey;
    final int[] prefixIds;
    final boolean truncated;
    final int maxNewTokens;
    final Sampler sampler;
    /** The generated text as it grows, for stop strings; null until the loop needs it (rows with stop strings). */
    IncrementalDetokenizer detokenizer;

    int[] generated = new int[16];
    /** Per generated token, its log-probability as sampled ({@link Sampler#lastLogProbability()}). */
    double[] logprobs = new double[16];
    int count;
    String text = "";
    FinishReason finish;
    String error;
    /** Non-fatal notes for the result (truncation, room for fewer tokens than asked, a dropped incomplete character). */
    String warning;
    /** The prompt's token count as reported (the real count of a prompt that could not run), or -1 for prompt.length. */
    int reportedPromptTokens = -1;
    /** When the row's prefill began, if it joined a running batch (a continuous refill); 0 for a batch's first rows. */
    long startNanos;
    long firstTokenNanos;
    long finishedNanos;

    Row(int index, int[] prompt, GenerationOptions options, String prefixKey, int[] prefixIds, boolean truncated,
        int contextLength) {
        this(index, prompt, options, prefixKey, prefixIds, truncated, contextLength, null);
    }

    /** @param constraint the grammar the output must follow ({@link GenerationOptions#jsonSchema()}), or null */
    Row(int index, int[] prompt, GenerationOptions options, String prefixKey, int[] prefixIds, boolean truncated,
        int contextLength, TokenConstraint constraint) {
        this.index = index;
        this.prompt = prompt;
        this.options = options;
        this.prefixKey = prefixKey;
        this.prefixIds = prefixIds;
        this.truncated = truncated;
        this.maxNewTokens = Math.max(1, Math.min(options.maxNewTokens(), contextLength - prompt.length));
        this.sampler = new Sampler(options, prompt, constraint);
    }

    @Override
    public int index() {
        return index;
    }

    @Override
    public String prefixKey() {
        return prefixKey;
    }

    @Override
    public int promptLength() {
        return prompt.length;
    }

    @Override
    public int positions() {
        return prompt.length + maxNewTokens;
    }

    @Override
    public int cacheRows() {
        return 1;
    }

    /** Positions of the shared prefix this row can reuse: its common prefix with the prefix ids, leaving one token to prefill. */
    int sharedPositions() {
        if (prefixIds == null) {
            return 0;
        }
        int limit = Math.min(prefixIds.length, prompt.length - 1);
        int shared = 0;
        while (shared < limit && prefixIds[shared] == prompt[shared]) {
            shared++;
        }
        return shared;
    }

    void warn(String note) {
        warning = warning == null ? note : warning + "; " + note;
    }

    void add(int token, double logprob) {
        if (count == generated.length) {
            generated = Arrays.copyOf(generated, count * 2);
            logprobs = Arrays.copyOf(logprobs, count * 2);
        }
        logprobs[count] = logprob;
        generated[count++] = token;
    }

    int[] tokens() {
        return Arrays.copyOf(generated, count);
    }

    boolean done() {
        return finish != null;
    }

    /**
     * Per generated token, where its text ends in {@link #text} (characters): the tokens fed one by one to an
     * {@link IncrementalDetokenizer}; a token that completes no character ends where the previous one did.
     */
    int[] tokenTextEnds(TextTokenizer tokenizer) {
        int[] ends = new int[count];
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer);
        int end = 0;
        for (int i = 0; i < count; i++) {
            end += detokenizer.add(generated[i]).length();
            ends[i] = Math.min(end, text.length());
        }
        return ends;
    }

    /** The result without token offsets (rows that failed or whose caller needs none). */
    GenerationResult result(long batchStart) {
        return result(batchStart, null);
    }

    /**
     * @param batchStart when the row's batch started: the start of its time to first token, unless it joined the batch
     *                   later ({@link #startNanos})
     * @param tokenizer  to find where each token's text ends ({@link GenerationResult#tokenTextEnds()}), or null
     */
    GenerationResult result(long batchStart, TextTokenizer tokenizer) {
        int promptTokens = reportedPromptTokens >= 0 ? reportedPromptTokens : prompt.length;
        if (error != null) {
            return new GenerationResult("", tokens(), promptTokens, count, FinishReason.ERROR, error, truncated, 0, 0,
                    warning);
        }
        long first = firstTokenNanos == 0 ? 0 : firstTokenNanos - (startNanos != 0 ? startNanos : batchStart);
        long decode = firstTokenNanos == 0 ? 0 : finishedNanos - firstTokenNanos;
        return new GenerationResult(text, tokens(), promptTokens, count, finish, null, truncated, first, decode, warning,
                Arrays.copyOf(logprobs, count), tokenizer == null ? new int[0] : tokenTextEnds(tokenizer));
    }
}
