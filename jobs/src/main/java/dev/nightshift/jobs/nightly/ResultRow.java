package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.ErrorCode;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

import java.sql.Timestamp;

/**
 * One row of the results table as executors produce it (one attempt at one (document, task)), built by name and
 * written in {@link ResultsTable#SCHEMA}'s order by {@link #toRow()}: no code reads or writes result columns by
 * position. The columns are documented in the README ("Results table").
 */
record ResultRow(String docId, String task, String output, String label, Double score, String fields,
                 Integer promptTokens, Integer outputTokens, String finishReason, String error, String warning,
                 Long latencyMs, String modelId, String modelFingerprint, String promptHash, String inputHash,
                 String runId, Timestamp processedAt, String errorCode, Integer attempts, Timestamp outputAt) {

    /** A successful attempt. */
    static ResultRow succeeded(Lineage item, String output, String label, Double score, String fields, int promptTokens,
                               int outputTokens, String finishReason, String warning, long latencyMs) {
        Timestamp now = new Timestamp(System.currentTimeMillis());
        return new ResultRow(item.docId(), item.task(), output, label, score, fields, promptTokens, outputTokens,
                finishReason, null, warning, latencyMs, item.modelId(), item.modelFingerprint(), item.promptHash(),
                item.inputHash(), item.runId(), now, null, 1, now);
    }

    /**
     * A failed attempt.
     *
     * @param error        {@code "[CODE] message"} (see {@link ErrorCode}), or a message without a code
     * @param promptTokens the prompt's token count when known (the model may not have run it), else 0
     * @param output       text the model produced anyway (an unusable answer kept for inspection), or null
     */
    static ResultRow failed(Lineage item, String error, int promptTokens, int outputTokens, String output,
                            String warning, long latencyMs) {
        ErrorCode.Coded coded = ErrorCode.split(error == null ? "unknown error" : error);
        return new ResultRow(item.docId(), item.task(), output, null, null, null, promptTokens, outputTokens, "error",
                coded.message(), warning, latencyMs, item.modelId(), item.modelFingerprint(), item.promptHash(),
                item.inputHash(), item.runId(), new Timestamp(System.currentTimeMillis()), coded.code().name(), 1, null);
    }

    boolean isFailed() {
        return error != null;
    }

    Row toRow() {
        return RowFactory.create(docId, task, output, label, score, fields, promptTokens, outputTokens, finishReason,
                error, warning, latencyMs, modelId, modelFingerprint, promptHash, inputHash, runId, processedAt,
                errorCode, attempts, outputAt);
    }

    /**
     * What identifies the attempt's input in its result row.
     *
     * @param docId            the document id
     * @param task             the task name
     * @param inputHash        the incremental key (see README)
     * @param promptHash       the task version
     * @param modelId          the model folder's name
     * @param modelFingerprint the model folder's fingerprint
     * @param runId            the run making the attempt
     */
    record Lineage(String docId, String task, String inputHash, String promptHash, String modelId,
                    String modelFingerprint, String runId) {
    }
}
