package dev.nightshift.task;

/** A task option that cannot be used, with the config key it belongs to (labels, fields, max_words, prompt). */
public final class TaskOptionException extends IllegalArgumentException {

    private final String key;

    public TaskOptionException(String key, String message) {
        super(message);
        this.key = key;
    }

    /** The option's config key. */
    public String key() {
        return key;
    }
}
