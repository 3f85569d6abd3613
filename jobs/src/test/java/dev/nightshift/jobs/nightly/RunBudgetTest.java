package dev.nightshift.jobs.nightly;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** When a budget says stop, and what it says; the run's side is DryRunAndBudgetTest's. No Spark. */
class RunBudgetTest {

    private static JobConfig config(Double maxCostUsd, Double maxWallMinutes, double executorHourUsd) {
        JobBuilder job = Nightshift.job("budget").source(TableRef.delta("/data/docs"), "id", "text").summarize("tldr")
                .model("/models/m").mergeInto("/out/results").runsTable("/out/runs").executorHourUsd(executorHourUsd);
        if (maxCostUsd != null) {
            job.maxCostUsd(maxCostUsd);
        }
        if (maxWallMinutes != null) {
            job.maxWallMinutes(maxWallMinutes);
        }
        return job.build();
    }

    @Test
    void theCostBudgetCountsExecutorHoursAtTheExecutorPrice() {
        Instant started = Instant.parse("2026-11-30T01:00:00Z");
        // 2 executors at $0.60 an hour: $0.02 a minute together
        RunBudget budget = new RunBudget(config(0.05, null, 0.60), started);
        assertNull(budget.exceeded(2, started.plus(Duration.ofSeconds(149))));
        assertEquals("run.max_cost_usd 0.05 reached: $0.0503 spent in 2.5 min",
                budget.exceeded(2, started.plus(Duration.ofSeconds(151))));
        assertNull(budget.exceeded(1, started.plus(Duration.ofSeconds(299))), "one executor costs half as much");
    }

    @Test
    void theWallBudgetCountsMinutesSinceTheStart() {
        Instant started = Instant.parse("2026-11-30T01:00:00Z");
        RunBudget budget = new RunBudget(config(null, 90.0, 0), started);
        assertNull(budget.exceeded(4, started.plus(Duration.ofMinutes(89))));
        assertEquals("run.max_wall_minutes 90 reached: 90.0 min spent ($0.0000)",
                budget.exceeded(4, started.plus(Duration.ofMinutes(90))));
        assertNull(new RunBudget(config(null, null, 1), started).exceeded(4, started.plus(Duration.ofDays(3))),
                "no budget, no stop");
    }
}
