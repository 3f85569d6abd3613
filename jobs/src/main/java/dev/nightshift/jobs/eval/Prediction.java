package dev.nightshift.jobs.eval;

import java.util.List;

/**
 * One candidate's answer for one document, whoever produced it: the job's own results row, or a line of a
 * candidate's JSONL file.
 *
 * @param docId        the document id
 * @param output       the text output (classify: the label; extract: the raw answer), or null
 * @param label        classify: the chosen label, or null
 * @param labels       multi-label classify: the chosen labels (empty when not given)
 * @param score        classify: the chosen label's probability, or null
 * @param fields       extract: the JSON object, or null
 * @param promptTokens prompt tokens, or null when unknown
 * @param outputTokens output tokens, or null when unknown
 * @param latencyMs    the row's latency, or null when unknown
 * @param error        why the row failed (an error row, or missing from a candidate file), else null
 */
public record Prediction(String docId, String output, String label, List<String> labels, Double score, String fields,
                         Integer promptTokens, Integer outputTokens, Long latencyMs, String error) {

    public Prediction {
        // null: the answer carries no label set (single-label); empty: a multi-label answer where no label passed
        labels = labels == null ? null : List.copyOf(labels);
    }

    /** A document the candidate has no answer for: an error for that candidate. */
    public static Prediction missing(String docId, String why) {
        return new Prediction(docId, null, null, null, null, null, null, null, null, why);
    }

    public boolean failed() {
        return error != null;
    }
}
