package dev.nightshift.jobs.nightly;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * A run's budget ({@code run.max_cost_usd}, {@code run.max_wall_minutes}), asked after each committed chunk. The cost
 * is the cost report's ({@link RunCosts#cluster}: executors × hours so far × {@code prices.executor_hour_usd}), so the
 * budget and the runs table's {@code cluster_cost_usd} agree. A chunk is never interrupted: the run stops between
 * chunks, so every committed row is whole and the next run's anti-join picks up exactly the rows left.
 */
final class RunBudget {

    private final JobConfig config;
    private final Instant started;

    RunBudget(JobConfig config, Instant started) {
        this.config = config;
        this.started = started;
    }

    /**
     * Why the run must stop now, or null while it is within budget.
     *
     * @param executors executors the cost counts (as {@link RunCosts#executors})
     * @return e.g. "run.max_cost_usd 0.05 reached: $0.0512 spent in 8.8 min"
     */
    String exceeded(int executors, Instant now) {
        JobConfig.Run run = config.run();
        double seconds = Duration.between(started, now).toNanos() / 1e9;
        double cost = RunCosts.cluster(config.prices(), executors, seconds);
        if (run.maxCostUsd() != null && cost >= run.maxCostUsd()) {
            return String.format(Locale.ROOT, "run.max_cost_usd %s reached: $%.4f spent in %s", number(run.maxCostUsd()),
                    cost, duration(seconds));
        }
        if (run.maxWallMinutes() != null && seconds >= run.maxWallMinutes() * 60) {
            return String.format(Locale.ROOT, "run.max_wall_minutes %s reached: %s spent ($%.4f)",
                    number(run.maxWallMinutes()), duration(seconds), cost);
        }
        return null;
    }

    private static String duration(double seconds) {
        return seconds < 120 ? String.format(Locale.ROOT, "%.1f s", seconds)
                : String.format(Locale.ROOT, "%.1f min", seconds / 60);
    }

    private static String number(double value) {
        return java.math.BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    }
}
