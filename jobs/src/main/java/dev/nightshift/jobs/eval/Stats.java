package dev.nightshift.jobs.eval;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Means and nearest-rank percentiles (the smallest value with at least p of the values at or below it). */
final class Stats {

    private Stats() {
    }

    static double mean(List<Double> values) {
        return values.isEmpty() ? Double.NaN : values.stream().mapToDouble(Double::doubleValue).sum() / values.size();
    }

    static double percentile(List<Double> values, double p) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int rank = (int) Math.ceil(p * sorted.size());
        return sorted.get(Math.max(0, rank - 1));
    }
}
