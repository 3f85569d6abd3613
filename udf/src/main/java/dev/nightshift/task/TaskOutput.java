package dev.nightshift.task;

/**
 * What a task made of one row: the typed columns of a result, whether it succeeded or failed.
 *
 * @param output       the answer text (summary, label, raw extract answer, generated text); on error the raw output
 *                     when there was one, else null
 * @param label        classify: the chosen label, else null
 * @param score        classify: the chosen label's probability, else null
 * @param fields       extract: a JSON object with exactly the task's fields, else null
 * @param promptTokens tokens in the prompt as the model saw it
 * @param outputTokens tokens of the answer (generated tokens; classify: the chosen label's answer tokens)
 * @param finishReason stop, length or error
 * @param error        {@code "[CODE] message"} when the row failed, else null
 * @param warning      what was changed or could not be read (the row may still succeed), or null
 * @param engineNanos  the engine's own time for this row (first token plus decode), 0 when it does not say
 */
public record TaskOutput(String output, String label, Double score, String fields, int promptTokens,
                         int outputTokens, String finishReason, String error, String warning, long engineNanos) {

    public boolean failed() {
        return error != null;
    }

    static TaskOutput failed(String error, int promptTokens, int outputTokens, String output, String warning,
                             long engineNanos) {
        return new TaskOutput(output, null, null, null, promptTokens, outputTokens, "error", error, warning,
                engineNanos);
    }

    /** This successful output with its text and fields replaced and a note added to its warning (a task's parsing). */
    TaskOutput parsed(String text, String fieldsJson, String note) {
        return new TaskOutput(text, label, score, fieldsJson, promptTokens, outputTokens, finishReason, error,
                join(warning, note), engineNanos);
    }

    static String join(String a, String b) {
        return a == null ? b : b == null ? a : a + "; " + b;
    }
}
