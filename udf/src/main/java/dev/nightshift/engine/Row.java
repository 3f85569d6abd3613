package dev.nightshift.engine;

import java.util.Arrays;

/** One prompt's state through a batch: its ids, how much of them a shared prefix covers, what it generated. */
final class Row {

    final int index;
    final int[] prompt;
    final GenerationOptions options;
    final String prefixKey;
    final int[] prefixIds;
    final boolean truncated;
    final int maxNewTokens;
    final Sampler sampler;

    int[] generated = new int[16];
    int count;
    String text = "";
    FinishReason finish;
    String error;
    long firstTokenNanos;
    long finishedNanos;

    Row(int index, int[] prompt, GenerationOptions options, String prefixKey, int[] prefixIds, boolean truncated,
        int contextLength) {
        this.index = index;
        this.prompt = prompt;
        this.options = options;
        this.prefixKey = prefixKey;
        this.prefixIds = prefixIds;
        this.truncated = truncated;
        this.maxNewTokens = Math.max(1, Math.min(options.maxNewTokens(), contextLength - prompt.length));
        this.sampler = new Sampler(options, prompt);
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

    void add(int token) {
        if (count == generated.length) {
            generated = Arrays.copyOf(generated, count * 2);
        }
        generated[count++] = token;
    }

    int[] tokens() {
        return Arrays.copyOf(generated, count);
    }

    boolean done() {
        return finish != null;
    }

    GenerationResult result(long batchStart) {
        if (error != null) {
            return new GenerationResult("", tokens(), prompt.length, count, FinishReason.ERROR, error, truncated, 0, 0);
        }
        long first = firstTokenNanos == 0 ? 0 : firstTokenNanos - batchStart;
        long decode = firstTokenNanos == 0 ? 0 : finishedNanos - firstTokenNanos;
        return new GenerationResult(text, tokens(), prompt.length, count, finish, null, truncated, first, decode);
    }
}
