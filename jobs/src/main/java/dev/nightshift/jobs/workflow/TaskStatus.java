package dev.nightshift.jobs.workflow;

/** Where a task of a local workflow run ended. */
public enum TaskStatus {
    /** Exit code 0. */
    SUCCEEDED,
    /** Its last attempt exited with another code. */
    FAILED,
    /** Its last attempt ran past {@code timeout_seconds}. */
    TIMED_OUT,
    /** Not run: a task it depends on did not succeed. */
    UPSTREAM_FAILED;

    /** The status as the table prints it (Databricks' words, in lower case). */
    public String word() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
