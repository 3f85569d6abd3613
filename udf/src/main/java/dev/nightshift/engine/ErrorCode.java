package dev.nightshift.engine;

import java.util.Locale;

/**
 * Why a row failed, as a stable code a user can filter on ({@code WHERE error_code = 'CONTEXT_OVERFLOW'}); the
 * message beside it says the details and the fix. Row errors travel as {@code "[CODE] message"}, the convention of
 * Spark's own error classes, and are split into the results table's {@code error_code} and {@code error} columns.
 */
public enum ErrorCode {
    /** The prompt (with the room the task needs after it) does not fit the model's context. */
    CONTEXT_OVERFLOW,
    /** The source row is malformed (a CSV row with the wrong number of fields, under {@code source.bad_rows: error_rows}). */
    MALFORMED_ROW,
    /** The document text is null or blank. */
    EMPTY_TEXT,
    /** The row's own label set (classify {@code label_column}) is empty or names a label that is not configured. */
    BAD_LABELS,
    /** The prompt encodes to no tokens. */
    EMPTY_PROMPT,
    /** The prompt cannot be built: the chat template is missing or failed, a label has no tokens. */
    BAD_PROMPT,
    /** ONNX Runtime or the engine failed for this row's batch. */
    ENGINE_FAILURE,
    /** The output was cut by max_new_tokens before it was usable (an unterminated JSON object). */
    OUTPUT_TRUNCATED,
    /** The output cannot be read as what the task asked for (a JSON object that does not parse). */
    INVALID_OUTPUT,
    /** An error without a code (from an engine that does not give one). */
    UNKNOWN;

    /** {@code "[CODE] message"}. */
    public String message(String message) {
        return "[" + name() + "] " + message;
    }

    /** A row error split into its code and its message. */
    public record Coded(ErrorCode code, String message) {
    }

    /** Splits {@code "[CODE] message"}; a message without a known code gets {@link #UNKNOWN} and is kept whole. */
    public static Coded split(String error) {
        if (error == null) {
            return null;
        }
        if (error.startsWith("[")) {
            int end = error.indexOf("] ");
            if (end > 1) {
                String name = error.substring(1, end).toUpperCase(Locale.ROOT);
                for (ErrorCode code : values()) {
                    if (code.name().equals(name)) {
                        return new Coded(code, error.substring(end + 2));
                    }
                }
            }
        }
        return new Coded(UNKNOWN, error);
    }
}
