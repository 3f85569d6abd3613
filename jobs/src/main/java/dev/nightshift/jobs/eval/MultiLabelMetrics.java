package dev.nightshift.jobs.eval;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Multi-label classification metrics over gold label sets and predicted label sets, pure Java. A prediction's set is
 * its {@code labels} when given, else its single {@code label}; a failed row predicts the empty set.
 *
 * <ul>
 *   <li><b>micro-F1</b>: 2·TP / (2·TP + FP + FN) summed over every (row, label).</li>
 *   <li><b>macro-F1</b>: the mean per-label F1 over the labels occurring in gold or predictions.</li>
 *   <li><b>subset accuracy</b>: rows whose predicted set equals the gold set.</li>
 * </ul>
 */
public final class MultiLabelMetrics {

    private MultiLabelMetrics() {
    }

    public static Set<String> predicted(Prediction p) {
        if (p.failed()) {
            return Set.of();
        }
        if (p.labels() != null) {
            return new LinkedHashSet<>(p.labels());   // possibly empty: no label passed the threshold
        }
        return p.label() == null ? Set.of() : Set.of(p.label());
    }

    public static List<Metric> compute(List<String> labels, List<Set<String>> gold, List<Prediction> predictions) {
        int tp = 0;
        int fp = 0;
        int fn = 0;
        int exact = 0;
        int[][] perLabel = new int[labels.size()][3];
        for (int i = 0; i < gold.size(); i++) {
            Set<String> g = gold.get(i);
            Set<String> p = predicted(predictions.get(i));
            if (g.equals(p)) {
                exact++;
            }
            for (int c = 0; c < labels.size(); c++) {
                boolean inGold = g.contains(labels.get(c));
                boolean inPredicted = p.contains(labels.get(c));
                perLabel[c][0] += inGold && inPredicted ? 1 : 0;
                perLabel[c][1] += !inGold && inPredicted ? 1 : 0;
                perLabel[c][2] += inGold && !inPredicted ? 1 : 0;
            }
        }
        List<Metric> metrics = new ArrayList<>();
        double f1Sum = 0;
        int used = 0;
        List<Metric> perLabelMetrics = new ArrayList<>();
        for (int c = 0; c < labels.size(); c++) {
            int[] counts = perLabel[c];
            tp += counts[0];
            fp += counts[1];
            fn += counts[2];
            if (counts[0] + counts[1] + counts[2] > 0) {
                double f1 = f1(counts[0], counts[1], counts[2]);
                f1Sum += f1;
                used++;
                perLabelMetrics.add(Metric.of("f1[" + labels.get(c) + "]", f1));
            }
        }
        metrics.add(Metric.of("subset_accuracy", gold.isEmpty() ? Double.NaN : (double) exact / gold.size()));
        metrics.add(Metric.of("micro_f1", tp + fp + fn == 0 ? Double.NaN : f1(tp, fp, fn)));
        metrics.add(Metric.of("macro_f1", used == 0 ? Double.NaN : f1Sum / used));
        metrics.addAll(perLabelMetrics);
        return metrics;
    }

    private static double f1(int tp, int fp, int fn) {
        return 2.0 * tp / (2.0 * tp + fp + fn);
    }
}
