package dev.nightshift.engine;

import java.util.Locale;

/** What to do with a prompt longer than the model's context allows. */
public enum OverflowPolicy {
    /** The row fails with a clear error (the default: nothing is silently dropped). */
    ERROR,
    /** Keep the beginning of the prompt. */
    TRUNCATE_HEAD,
    /** Keep the beginning and the end, cut the middle (instructions often sit at both ends). */
    TRUNCATE_MIDDLE;

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
        throw new IllegalArgumentException("unknown overflow policy '" + text + "'; use error, truncate_head or truncate_middle");
    }
}
