package dev.nightshift.sql;

/**
 * The {@code llm_*} functions cannot run because of the session's setup (no model configured, a model folder that is
 * not one, an API without a price), found when a query is planned; the message names the conf key and the fix.
 */
public final class LlmSetupException extends IllegalStateException {

    public LlmSetupException(String message, Throwable cause) {
        super(message, cause);
    }
}
