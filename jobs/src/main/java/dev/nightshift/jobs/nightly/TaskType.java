package dev.nightshift.jobs.nightly;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** What a task asks of the model, and therefore which engine call and output parser it uses. */
public enum TaskType {
    /** Free text trimmed to {@code max_words}; engine {@code generate}. */
    SUMMARIZE,
    /** One of the configured labels with its probability; engine {@code classify}. */
    CLASSIFY,
    /** A JSON object with the configured fields; engine {@code generate}, then a lenient JSON parse. */
    EXTRACT,
    /** Free text; engine {@code generate}. */
    GENERATE;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static TaskType parse(String text) {
        for (TaskType type : values()) {
            if (type.id().equals(text.trim().toLowerCase(Locale.ROOT))) {
                return type;
            }
        }
        throw new IllegalArgumentException("unknown task type '" + text + "'; use one of "
                + Arrays.stream(values()).map(TaskType::id).collect(Collectors.joining(", ")));
    }
}
