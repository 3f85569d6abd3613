package dev.nightshift.jobs.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Quality gates on Nightshift's own candidate: {@code min_*} gates fail when the metric is below the threshold (or
 * could not be computed), {@code max_error_rate} when the error rate is above it. Recorded candidates are reported,
 * never gated.
 */
public final class QualityGates {

    /** Gate name → the metric it reads. */
    static final Map<String, String> METRICS = Map.of(
            "min_accuracy", "accuracy",
            "min_macro_f1", "macro_f1",
            "min_micro_f1", "micro_f1",
            "min_rouge_l", "rougeL_f",
            "min_schema_validity", "schema_validity",
            "max_error_rate", "error_rate");

    public static final List<String> KNOWN = List.of("min_accuracy", "min_macro_f1", "min_micro_f1", "min_rouge_l",
            "min_schema_validity", "max_error_rate");

    /** One gate's outcome. */
    public record Outcome(String gate, String metric, double threshold, double value, boolean passed) {
        public String describe() {
            return String.format(Locale.ROOT, "%s: %s %s %s %s", passed ? "passed" : "FAILED", metric,
                    Double.isNaN(value) ? "n/a" : String.format(Locale.ROOT, "%.4f", value),
                    gate.startsWith("max_") ? (passed ? "<=" : ">") : (passed ? ">=" : "<"),
                    String.format(Locale.ROOT, "%.4f", threshold));
        }
    }

    private QualityGates() {
    }

    /**
     * Checks that every gate applies to the task's metrics before anything runs.
     *
     * @throws IllegalArgumentException naming the gate and the metrics the task has
     */
    static void checkApplicable(Map<String, Double> gates, List<String> metricNames, String taskKind) {
        for (String gate : gates.keySet()) {
            String metric = METRICS.get(gate);
            if (metric == null) {
                throw new IllegalArgumentException("unknown gate '" + gate + "'; use one of " + String.join(", ", KNOWN));
            }
            if (!metricNames.contains(metric)) {
                throw new IllegalArgumentException("gate " + gate + " reads " + metric + ", which a " + taskKind
                        + " evaluation does not compute; remove it or use one of the gates on " + metricNames);
            }
        }
    }

    static List<Outcome> check(Map<String, Double> gates, List<Metric> metrics) {
        List<Outcome> outcomes = new ArrayList<>();
        for (Map.Entry<String, Double> gate : gates.entrySet()) {
            String metric = METRICS.get(gate.getKey());
            double value = metrics.stream().filter(m -> m.name().equals(metric)).mapToDouble(Metric::value)
                    .findFirst().orElse(Double.NaN);
            boolean passed = !Double.isNaN(value)
                    && (gate.getKey().startsWith("max_") ? value <= gate.getValue() : value >= gate.getValue());
            outcomes.add(new Outcome(gate.getKey(), metric, gate.getValue(), value, passed));
        }
        return outcomes;
    }
}
