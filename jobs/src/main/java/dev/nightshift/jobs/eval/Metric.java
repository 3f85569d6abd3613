package dev.nightshift.jobs.eval;

/**
 * One figure of the report, as the {@code eval_summary} table stores it.
 *
 * @param name  e.g. {@code accuracy}, {@code f1[Sports]}, {@code rougeL_f}, {@code latency_p95_ms}
 * @param value the number (NaN when it cannot be computed, e.g. no scores for the calibration error)
 * @param note  how it was obtained when that is not obvious (e.g. tokens estimated from Nightshift's), or null
 */
public record Metric(String name, double value, String note) {

    public static Metric of(String name, double value) {
        return new Metric(name, value, null);
    }
}
