package dev.nightshift.jobs.eval;

import java.util.ArrayList;
import java.util.List;

/**
 * Summary metrics: the mean ROUGE-1/2/L F-measure over rows ({@link Rouge}, with stemming), a failed row scoring 0,
 * and length statistics in words (white-space separated) of the outputs and of the references.
 */
public final class SummarizeMetrics {

    private static final Rouge ROUGE = new Rouge(true);

    private SummarizeMetrics() {
    }

    /** The row's ROUGE scores (all 0 for a failed row). */
    public static Rouge.Scores row(String reference, Prediction p) {
        return ROUGE.score(reference, p.failed() || p.output() == null ? "" : p.output());
    }

    public static List<Metric> compute(List<String> references, List<Prediction> predictions) {
        double r1 = 0;
        double r2 = 0;
        double rl = 0;
        List<Double> outputWords = new ArrayList<>();
        List<Double> referenceWords = new ArrayList<>();
        for (int i = 0; i < references.size(); i++) {
            Rouge.Scores s = row(references.get(i), predictions.get(i));
            r1 += s.rouge1().fmeasure();
            r2 += s.rouge2().fmeasure();
            rl += s.rougeL().fmeasure();
            Prediction p = predictions.get(i);
            if (!p.failed() && p.output() != null) {
                outputWords.add((double) words(p.output()));
            }
            referenceWords.add((double) words(references.get(i)));
        }
        int n = references.size();
        List<Metric> metrics = new ArrayList<>();
        String note = "mean over rows, rouge-score tokenization with Porter stemming; failed rows score 0";
        metrics.add(new Metric("rouge1_f", n == 0 ? Double.NaN : r1 / n, note));
        metrics.add(new Metric("rouge2_f", n == 0 ? Double.NaN : r2 / n, note));
        metrics.add(new Metric("rougeL_f", n == 0 ? Double.NaN : rl / n, note));
        metrics.add(Metric.of("output_words_mean", Stats.mean(outputWords)));
        metrics.add(Metric.of("output_words_p50", Stats.percentile(outputWords, 0.5)));
        metrics.add(Metric.of("output_words_p95", Stats.percentile(outputWords, 0.95)));
        metrics.add(Metric.of("reference_words_mean", Stats.mean(referenceWords)));
        return metrics;
    }

    static int words(String text) {
        String stripped = text.strip();
        return stripped.isEmpty() ? 0 : stripped.split("\\s+").length;
    }
}
