package dev.nightshift.jobs.eval;

import java.util.List;

/**
 * One candidate's evaluation: its figures, its rows, and what the report draws.
 *
 * @param name       {@code nightshift} for the job's own model, else the candidate's (= its API price) name
 * @param metrics    every figure, in report order
 * @param rows       one per sampled document
 * @param classify   the confusion matrix, per-class and calibration figures (single-label classify only), else null
 * @param quality    the headline quality metric's name (accuracy, micro_f1, rougeL_f, exact_mean)
 * @param missing    sampled documents the candidate had no answer for
 */
public record CandidateResult(String name, List<Metric> metrics, List<RowOutcome> rows, ClassifyMetrics.Result classify,
                              String quality, int missing) {

    public CandidateResult {
        metrics = List.copyOf(metrics);
        rows = List.copyOf(rows);
    }

    public double metric(String metricName) {
        return metrics.stream().filter(m -> m.name().equals(metricName)).mapToDouble(Metric::value).findFirst()
                .orElse(Double.NaN);
    }

    public double qualityValue() {
        return metric(quality);
    }

    /**
     * One document's outcome for one candidate (a row of {@code eval_rows}).
     *
     * @param quality the row's score: 1/0 correct (classify), ROUGE-L F (summarize), share of exact fields (extract)
     */
    public record RowOutcome(String docId, String gold, String predicted, Double score, double quality,
                             Integer promptTokens, Integer outputTokens, Long latencyMs, String error) {
    }
}
