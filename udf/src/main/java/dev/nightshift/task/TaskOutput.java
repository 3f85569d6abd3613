package dev.nightshift.task;

import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
 * @param details      what a kind adds beyond these columns ({@link Details#NONE} when nothing)
 */
public record TaskOutput(String output, String label, Double score, String fields, int promptTokens,
                         int outputTokens, String finishReason, String error, String warning, long engineNanos,
                         Details details) implements Serializable {

    public TaskOutput {
        details = details == null ? Details.NONE : details;
    }

    /** An output without details. */
    public TaskOutput(String output, String label, Double score, String fields, int promptTokens, int outputTokens,
                      String finishReason, String error, String warning, long engineNanos) {
        this(output, label, score, fields, promptTokens, outputTokens, finishReason, error, warning, engineNanos,
                Details.NONE);
    }

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
                join(warning, note), engineNanos, details);
    }

    /** This output with other details. */
    public TaskOutput withDetails(Details other) {
        return new TaskOutput(output, label, score, fields, promptTokens, outputTokens, finishReason, error, warning,
                engineNanos, other);
    }

    static String join(String a, String b) {
        return a == null ? b : b == null ? a : a + "; " + b;
    }

    /**
     * The result columns one task kind adds; each is null where the kind does not fill it.
     *
     * @param scores          classify: every label's probability (they sum to 1), in the configured order
     * @param labels          classify: the chosen labels (multi-label: every label that passed; else the one label)
     * @param fieldConfidence extract: per top-level field, the lowest probability the model gave any token of the
     *                        field's value (1.0 for a value the schema forced)
     * @param evidence        extract: per string field (nested ones as {@code parent.child}) whose value occurs
     *                        verbatim in the document text, where: see {@link Span}
     * @param summaryChunks   summarize: how many chunks the document was split into (1 when it fit the context)
     * @param summaryDepth    summarize: how many rounds of summarizing it took (1 when it fit the context)
     */
    public record Details(Map<String, Double> scores, List<String> labels, Map<String, Double> fieldConfidence,
                          Map<String, Span> evidence, Integer summaryChunks, Integer summaryDepth)
            implements Serializable {

        public static final Details NONE = new Details(null, null, null, null, null, null);

        public static Details classify(Map<String, Double> scores, List<String> labels) {
            return new Details(Collections.unmodifiableMap(new LinkedHashMap<>(scores)), List.copyOf(labels), null, null,
                    null, null);
        }

        public static Details extract(Map<String, Double> fieldConfidence, Map<String, Span> evidence) {
            return new Details(null, null, fieldConfidence, evidence, null, null);
        }

        public static Details summary(int chunks, int depth) {
            return new Details(null, null, null, null, chunks, depth);
        }
    }

    /**
     * Where a value occurs in the document text: code points {@code [start, end)}, counted from 0, so Spark SQL's
     * {@code substring(text, start + 1, end - start)} returns the value.
     */
    public record Span(int start, int end) implements Serializable {
    }
}
