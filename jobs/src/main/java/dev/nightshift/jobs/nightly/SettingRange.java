package dev.nightshift.jobs.nightly;

import java.math.BigDecimal;

/**
 * The values a numeric job setting accepts, checked when the config is loaded. Every numeric setting has one, so a
 * value such as {@code model.threads: 100000} stops at load with its line instead of hanging the engine later.
 * Bounds are fixed rather than derived from this machine: the config is checked on the driver, whose core count and
 * memory say nothing about the executors'.
 *
 * @param min     the smallest value
 * @param openMin whether {@code min} itself is excluded ({@code top_p > 0})
 * @param max     the largest value
 * @param note    what the ends mean, shown in the error ("0 = all cores of the executor")
 */
public record SettingRange(double min, boolean openMin, double max, String note) {

    public static final SettingRange THREADS = closed(0, 1024, "0 = all cores of the executor");
    public static final SettingRange BATCH_BUDGET_MB = closed(1, 1 << 20, "megabytes of KV cache per engine batch; 1048576 = 1 TiB");
    public static final SettingRange MAX_BATCH_ROWS = closed(1, 4096, "rows per engine batch");
    public static final SettingRange CHUNK_ROWS = closed(1, 10_000_000, "rows per MERGE");
    public static final SettingRange PARTITIONS = closed(0, 100_000, "0 = spark.default.parallelism");
    public static final SettingRange FAILURE_RATE = closed(0, 1, "a fraction of the processed rows: 0.05 = 5%");
    public static final SettingRange MAX_WORDS = closed(0, 100_000, "0 = no limit");
    public static final SettingRange MAX_NEW_TOKENS = closed(1, 131_072, "tokens; no model's context is longer");
    public static final SettingRange TEMPERATURE = closed(0, 10, "0 = greedy");
    public static final SettingRange TOP_K = closed(0, 1_000_000, "0 = off");
    public static final SettingRange TOP_P = new SettingRange(0, true, 1, "1 = off");
    public static final SettingRange REPETITION_PENALTY = new SettingRange(0, true, 10, "1 = off");
    public static final SettingRange PRICE = closed(0, 1_000_000, "US dollars");
    public static final SettingRange MAX_COST_USD = new SettingRange(0, true, 1_000_000, "US dollars of this run's cost here");
    public static final SettingRange MAX_WALL_MINUTES = new SettingRange(0, true, 525_600, "minutes since the run started; 525600 = a year");

    static SettingRange closed(double min, double max, String note) {
        return new SettingRange(min, false, max, note);
    }

    /** Command-line flags share the config's ranges: {@code --threads 100000} fails as {@code model.threads} would. */
    public void require(String flag, double value) {
        if (!contains(value)) {
            throw new IllegalArgumentException(flag + " " + problem(BigDecimal.valueOf(value).stripTrailingZeros().toPlainString()));
        }
    }

    boolean contains(double value) {
        return (openMin ? value > min : value >= min) && value <= max;
    }

    /** "must be between 0 and 1 (a fraction ...), got 2". */
    String problem(String written) {
        String bounds = openMin ? "greater than " + text(min) + " and at most " + text(max)
                : "between " + text(min) + " and " + text(max);
        return "must be " + bounds + " (" + note + "), got " + written;
    }

    private static String text(double value) {
        return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    }
}
