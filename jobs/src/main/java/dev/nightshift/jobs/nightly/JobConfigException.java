package dev.nightshift.jobs.nightly;

/**
 * A problem with the job's configuration or its input data, found before any inference runs: the command line
 * exits with code 2 and prints the message, which names the config file and line (when known), the offending
 * value, and the fix.
 */
public class JobConfigException extends IllegalArgumentException {

    public JobConfigException(String message) {
        super(message);
    }

    public JobConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
