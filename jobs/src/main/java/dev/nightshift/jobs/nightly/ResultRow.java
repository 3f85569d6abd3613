package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.ErrorCode;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

import dev.nightshift.task.TaskOutput;
import scala.jdk.javaapi.CollectionConverters;

import java.sql.Timestamp;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One row of the results table as executors produce it (one attempt at one (document, task)), built by name and
 * written in {@link ResultsTable#SCHEMA}'s order by {@link #toRow()}: no code reads or writes result columns by
 * position. The columns are documented in the README ("Results table").
 */
record ResultRow(String docId, String task, String output, String label, Double score, String fields,
                 Integer promptTokens, Integer outputTokens, String finishReason, String error, String warning,
                 Long latencyMs, String modelId, String modelFingerprint, String promptHash, String inputHash,
                 String runId, Timestamp processedAt, String errorCode, Integer attempts, Timestamp outputAt,
                 TaskOutput.Details details) {

    /** A successful attempt. */
    static ResultRow succeeded(Lineage item, String output, String label, Double score, String fields, int promptTokens,
                               int outputTokens, String finishReason, String warning, long latencyMs,
                               TaskOutput.Details details) {
        Timestamp now = new Timestamp(System.currentTimeMillis());
        return new ResultRow(item.docId(), item.task(), output, label, score, fields, promptTokens, outputTokens,
                finishReason, null, warning, latencyMs, item.modelId(), item.modelFingerprint(), item.promptHash(),
                item.inputHash(), item.runId(), now, null, 1, now, details);
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
                item.inputHash(), item.runId(), new Timestamp(System.currentTimeMillis()), coded.code().name(), 1, null,
                TaskOutput.Details.NONE);
    }

    boolean isFailed() {
        return error != null;
    }

    Row toRow() {
        return RowFactory.create(docId, task, output, label, score, fields, promptTokens, outputTokens, finishReason,
                error, warning, latencyMs, modelId, modelFingerprint, promptHash, inputHash, runId, processedAt,
                errorCode, attempts, outputAt, scalaMap(details.scores()), scalaSeq(details.labels()),
                scalaMap(details.fieldConfidence()), evidence(details.evidence()), details.summaryChunks(),
                details.summaryDepth());
    }

    private static scala.collection.Map<String, ?> scalaMap(Map<String, ?> map) {
        return map == null ? null : CollectionConverters.asScala(map);
    }

    private static scala.collection.Seq<String> scalaSeq(List<String> list) {
        return list == null ? null : CollectionConverters.asScala(list).toSeq();
    }

    private static scala.collection.Map<String, Row> evidence(Map<String, TaskOutput.Span> spans) {
        if (spans == null) {
            return null;
        }
        Map<String, Row> rows = new LinkedHashMap<>();
        spans.forEach((field, span) -> rows.put(field, RowFactory.create(span.start(), span.end())));
        return CollectionConverters.asScala(rows);
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
