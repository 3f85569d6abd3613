package dev.nightshift.jobs.nightly;

/**
 * A job setting with an unusable value, found by {@link JobBuilder#build()}: the one place job settings are checked.
 * The message names the setting as the YAML file spells it ({@code tasks[1].generation.temperature: must be ...});
 * {@link JobConfigLoader} puts the file and line in front, so the same value fails with the same words either way.
 */
public final class JobSettingException extends JobConfigException {

    private final String key;

    private JobSettingException(String key, String message) {
        super(message);
        this.key = key;
    }

    /** {@code key: problem}. */
    static JobSettingException of(String key, String problem) {
        return new JobSettingException(key, key + ": " + problem);
    }

    /** {@code key is required}. */
    static JobSettingException required(String key) {
        return new JobSettingException(key, key + " is required");
    }

    /** The setting, as the YAML file spells it ("model.threads", "tasks[0].labels"). */
    public String key() {
        return key;
    }
}
