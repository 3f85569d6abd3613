package dev.nightshift.engine;

/**
 * The outcome of one row. Failed rows are results too ({@link FinishReason#ERROR} with {@code error}
 * set): one bad row never fails its batch.
 *
 * @param text            the generated text (stop text removed)
 * @param tokenIds        the generated token ids
 * @param promptTokens    tokens in the prompt as fed to the model (after any truncation)
 * @param generatedTokens tokens generated
 * @param finishReason    why generation stopped
 * @param error           what went wrong and how to fix it, or null
 *                        (on error: the prompt's real token count, although the model may not have run it)
 * @param truncated       the prompt was cut to fit the context (overflow policy truncate_*)
 * @param firstTokenNanos time from the start of the row's batch to its first token (for a row that took a finished
 *                        row's place in a running batch, from the start of its own prefill)
 * @param decodeNanos     time spent generating the row's later tokens
 * @param warning         what was changed to get a result (prompt truncated from N to M tokens, less room than
 *                        max_new_tokens, an incomplete last character dropped), or null
 * @param tokenLogprobs   per generated token, the natural log of its probability after the logits processors (a
 *                        constraint's mask included) and before temperature / top-k / top-p; empty when not known
 * @param tokenTextEnds   per generated token, the character offset in {@code text} where its text ends (tokens that
 *                        complete no character end where the previous one did; offsets past a stop string are
 *                        clipped to the text); empty when not known
 */
public record GenerationResult(String text, int[] tokenIds, int promptTokens, int generatedTokens,
                               FinishReason finishReason, String error, boolean truncated,
                               long firstTokenNanos, long decodeNanos, String warning, double[] tokenLogprobs,
                               int[] tokenTextEnds) {

    public GenerationResult {
        tokenLogprobs = tokenLogprobs == null ? new double[0] : tokenLogprobs;
        tokenTextEnds = tokenTextEnds == null ? new int[0] : tokenTextEnds;
    }

    public GenerationResult(String text, int[] tokenIds, int promptTokens, int generatedTokens,
                            FinishReason finishReason, String error, boolean truncated,
                            long firstTokenNanos, long decodeNanos, String warning) {
        this(text, tokenIds, promptTokens, generatedTokens, finishReason, error, truncated, firstTokenNanos, decodeNanos,
                warning, null, null);
    }

    public GenerationResult(String text, int[] tokenIds, int promptTokens, int generatedTokens,
                            FinishReason finishReason, String error, boolean truncated,
                            long firstTokenNanos, long decodeNanos) {
        this(text, tokenIds, promptTokens, generatedTokens, finishReason, error, truncated, firstTokenNanos, decodeNanos,
                null);
    }

    public static GenerationResult failed(String error, int promptTokens) {
        return new GenerationResult("", new int[0], promptTokens, 0, FinishReason.ERROR, error, false, 0, 0, null);
    }

    public boolean failed() {
        return finishReason == FinishReason.ERROR;
    }
}
