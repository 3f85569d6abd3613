package dev.nightshift.engine;

import java.util.Locale;

/** What to do with a prompt longer than the model's context allows. */
public enum OverflowPolicy {
    /** The row fails with a clear error (the default: nothing is silently dropped). */
    ERROR,
    /** Keep the beginning of the prompt. */
    TRUNCATE_HEAD,
    /** Keep the beginning and the end, cut the middle (instructions often sit at both ends). */
    TRUNCATE_MIDDLE,
    /**
     * Summarize tasks only: a document too long for the context is split into overlapping chunks, each chunk is
     * summarized, and the joined summaries are summarized again until they fit (the task layer's
     * {@code MapReduceSummary}). The engine itself treats a prompt that does not fit as {@link #ERROR}: the
     * splitting happens before the engine sees the rows.
     */
    MAP_REDUCE;

    public static OverflowPolicy parse(String text) {
        String key = text.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        if (key.equals("TRUNCATE")) {
            return TRUNCATE_HEAD;
        }
        for (OverflowPolicy policy : values()) {
            if (policy.name().equals(key)) {
                return policy;
            }
        }
        throw new IllegalArgumentException("unknown overflow policy '" + text + "'; use error, truncate_head, truncate_middle or map_reduce (summarize tasks)");
    }
}
