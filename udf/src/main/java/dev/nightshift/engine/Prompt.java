package dev.nightshift.engine;

/**
 * One row to complete.
 *
 * @param text         the prompt text (the user message when {@code chat} is true)
 * @param sharedPrefix text that starts every prompt of a task (its instruction), or "" — prefilled once and
 *                     reused by every row; it must be a prefix of {@code text}
 * @param chat         wrap the text in the model's chat template as a user message
 * @param options      generation settings
 */
public record Prompt(String text, String sharedPrefix, boolean chat, GenerationOptions options) {

    public Prompt {
        text = text == null ? "" : text;
        sharedPrefix = sharedPrefix == null ? "" : sharedPrefix;
        if (!text.startsWith(sharedPrefix)) {
            throw new IllegalArgumentException("shared prefix is not a prefix of the prompt text");
        }
        if (options == null) {
            throw new IllegalArgumentException("generation options are required");
        }
    }

    public static Prompt of(String text, GenerationOptions options) {
        return new Prompt(text, "", false, options);
    }
}
