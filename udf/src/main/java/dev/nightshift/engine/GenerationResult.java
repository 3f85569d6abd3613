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
 * @param firstTokenNanos time from the start of the row's batch to its first token
 * @param decodeNanos     time spent generating the row's later tokens
 * @param warning         what was changed to get a result (prompt truncated from N to M tokens, less room than
 *                        max_new_tokens, an incomplete last character dropped), or null
 */
public record GenerationResult(String text, int[] tokenIds, int promptTokens, int generatedTokens,
                               FinishReason finishReason, String error, boolean truncated,
                               long firstTokenNanos, long decodeNanos, String warning) {

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
