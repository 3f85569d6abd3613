package dev.nightshift.jobs.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Single-label classification metrics over (gold, prediction) pairs, pure Java.
 *
 * <ul>
 *   <li><b>accuracy</b>: correct rows / all rows; a failed or missing row counts as wrong.</li>
 *   <li><b>per-class precision, recall, F1</b>: over the task's labels; a class never predicted has precision 0
 *   (and F1 0), a class absent from gold has recall 0.</li>
 *   <li><b>macro-F1</b>: the mean F1 of the labels that occur in gold or among the predictions (scikit-learn's
 *   default label set), so a configured label nobody used does not drag it down.</li>
 *   <li><b>confusion matrix</b>: rows are gold labels, columns the predicted labels plus a last column
 *   {@code (error)} for rows without a prediction.</li>
 *   <li><b>expected calibration error</b>: rows with a score, in {@code bins} equal-width bins of the chosen
 *   label's score ([0, 0.1), [0.1, 0.2), ... [0.9, 1.0]); ECE = Σ (rows in bin / scored rows) × |accuracy of
 *   the bin − mean score of the bin|. NaN when no row has a score.</li>
 * </ul>
 */
public final class ClassifyMetrics {

    /** One calibration bin: [lower, upper), its rows, their accuracy and mean score. */
    public record Bin(double lower, double upper, int rows, double accuracy, double meanScore) {
    }

    /**
     * Everything the report draws.
     *
     * @param labels    the matrix's labels, in the task's order
     * @param confusion [gold][predicted], with one extra last column for errors
     */
    public record Result(List<String> labels, int[][] confusion, double accuracy, double macroF1,
                         Map<String, double[]> perClass, double ece, List<Bin> bins, List<Metric> metrics) {
    }

    private ClassifyMetrics() {
    }

    /**
     * @param labels      the task's labels (gold values outside them were refused earlier)
     * @param gold        one gold label per row
     * @param predictions the candidate's prediction per row, same order (null label or error = no prediction)
     * @param bins        calibration bins (10 by default)
     */
    public static Result compute(List<String> labels, List<String> gold, List<Prediction> predictions, int bins) {
        int n = gold.size();
        int k = labels.size();
        int[][] confusion = new int[k][k + 1];
        int correct = 0;
        for (int i = 0; i < n; i++) {
            int g = labels.indexOf(gold.get(i));
            Prediction p = predictions.get(i);
            int predicted = p.failed() || p.label() == null ? -1 : labels.indexOf(p.label());
            confusion[g][predicted < 0 ? k : predicted]++;
            if (predicted == g) {
                correct++;
            }
        }
        Map<String, double[]> perClass = new java.util.LinkedHashMap<>();
        List<Metric> metrics = new ArrayList<>();
        double f1Sum = 0;
        int used = 0;
        for (int c = 0; c < k; c++) {
            int tp = confusion[c][c];
            int goldCount = 0;
            int predictedCount = 0;
            for (int j = 0; j <= k; j++) {
                goldCount += confusion[c][j];
            }
            for (int[] row : confusion) {
                predictedCount += row[c];
            }
            double precision = predictedCount == 0 ? 0 : (double) tp / predictedCount;
            double recall = goldCount == 0 ? 0 : (double) tp / goldCount;
            double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            perClass.put(labels.get(c), new double[]{precision, recall, f1, goldCount});
            if (goldCount > 0 || predictedCount > 0) {
                f1Sum += f1;
                used++;
            }
        }
        double accuracy = n == 0 ? Double.NaN : (double) correct / n;
        double macroF1 = used == 0 ? Double.NaN : f1Sum / used;
        List<Bin> calibration = calibration(labels, gold, predictions, bins);
        double ece = ece(calibration);
        metrics.add(Metric.of("accuracy", accuracy));
        metrics.add(Metric.of("macro_f1", macroF1));
        metrics.add(new Metric("ece", ece, bins + " equal-width bins of the chosen label's score"));
        perClass.forEach((label, v) -> {
            metrics.add(Metric.of("precision[" + label + "]", v[0]));
            metrics.add(Metric.of("recall[" + label + "]", v[1]));
            metrics.add(Metric.of("f1[" + label + "]", v[2]));
        });
        for (int g = 0; g < k; g++) {
            for (int p = 0; p <= k; p++) {
                if (confusion[g][p] > 0) {
                    metrics.add(Metric.of("confusion[" + labels.get(g) + " -> " + (p == k ? "(error)" : labels.get(p)) + "]",
                            confusion[g][p]));
                }
            }
        }
        return new Result(List.copyOf(labels), confusion, accuracy, macroF1, perClass, ece, calibration, metrics);
    }

    static List<Bin> calibration(List<String> labels, List<String> gold, List<Prediction> predictions, int bins) {
        int[] rows = new int[bins];
        int[] right = new int[bins];
        double[] scoreSum = new double[bins];
        for (int i = 0; i < gold.size(); i++) {
            Prediction p = predictions.get(i);
            if (p.failed() || p.label() == null || p.score() == null || p.score().isNaN()) {
                continue;
            }
            double score = Math.max(0, Math.min(1, p.score()));
            int b = Math.min(bins - 1, (int) Math.floor(score * bins));
            rows[b]++;
            scoreSum[b] += score;
            if (p.label().equals(gold.get(i))) {
                right[b]++;
            }
        }
        List<Bin> result = new ArrayList<>();
        for (int b = 0; b < bins; b++) {
            result.add(new Bin((double) b / bins, (double) (b + 1) / bins, rows[b],
                    rows[b] == 0 ? Double.NaN : (double) right[b] / rows[b], rows[b] == 0 ? Double.NaN : scoreSum[b] / rows[b]));
        }
        return result;
    }

    static double ece(List<Bin> bins) {
        int total = bins.stream().mapToInt(Bin::rows).sum();
        if (total == 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (Bin bin : bins) {
            if (bin.rows() > 0) {
                sum += (double) bin.rows() / total * Math.abs(bin.accuracy() - bin.meanScore());
            }
        }
        return sum;
    }
}
