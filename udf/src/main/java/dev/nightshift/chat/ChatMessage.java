package dev.nightshift.chat;

import java.util.Objects;

/**
 * One turn of a conversation, as a Hugging Face chat template sees it ({@code {"role": ..., "content": ...}}).
 *
 * @param role    "system", "user", "assistant", ... (templates decide which roles they accept)
 * @param content the text of the turn; may be null (a template then sees {@code none})
 */
public record ChatMessage(String role, String content) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
