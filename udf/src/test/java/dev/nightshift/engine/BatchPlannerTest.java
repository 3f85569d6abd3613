package dev.nightshift.engine;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Continuous-batching runs as {@link BatchPlanner#runs} plans them under a KV budget. */
class BatchPlannerTest {

    record Item(int index, String prefixKey, int promptLength, int positions, int cacheRows) implements BatchPlanner.Planned {
    }

    static Item item(int index, int positions) {
        return new Item(index, index % 2 == 0 ? null : "p" + index % 3, positions / 2, positions, 1);
    }

    @Test
    void withTheBudgetNotBindingAllRowsShareOneRunLongestFirstWhateverTheirPrefix() {
        BatchPlanner planner = new BatchPlanner(true, 4, 1L << 30, 100);
        List<Item> rows = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            rows.add(item(i, 20 + (i * 37) % 90));
        }
        List<BatchPlanner.Run<Item>> runs = planner.runs(rows);
        assertEquals(1, runs.size());
        BatchPlanner.Run<Item> run = runs.get(0);
        assertEquals(4, run.slots());
        assertEquals(24, run.rows().size());
        for (int i = 1; i < run.rows().size(); i++) {
            assertTrue(run.rows().get(i - 1).positions() >= run.rows().get(i).positions(), "longest first");
        }
        assertEquals(run.rows().get(0).positions(), run.maxLength());
    }

    @Test
    void aBindingBudgetSizesSlotsByTheRunsLongestRowAndStartsANewRunWhereShorterRowsAllowMoreSlots() {
        // 10,000 bytes: rows of 100 positions (x 10 bytes) fit 10 at once, rows of 1,000 positions one.
        BatchPlanner planner = new BatchPlanner(true, 8, 10_000, 10);
        List<Item> rows = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            rows.add(item(i, 1000));
        }
        for (int i = 3; i < 20; i++) {
            rows.add(item(i, 100));
        }
        List<BatchPlanner.Run<Item>> runs = planner.runs(rows);
        assertEquals(2, runs.size(), runs.toString());
        assertEquals(1, runs.get(0).slots());
        assertEquals(3, runs.get(0).rows().size());
        assertEquals(8, runs.get(1).slots(), "at most maxBatchSize");
        assertEquals(17, runs.get(1).rows().size());
        Set<Integer> seen = new HashSet<>();
        for (BatchPlanner.Run<Item> run : runs) {
            assertTrue(run.slots() * (long) run.maxLength() * 10 <= 10_000, "within the budget: " + run);
            run.rows().forEach(row -> assertTrue(seen.add(row.index())));
            run.rows().forEach(row -> assertTrue(row.positions() <= run.maxLength()));
        }
        assertEquals(20, seen.size(), "every row in exactly one run");
    }

    @Test
    void aFewRowsGetAsManySlotsAsRowsAndARowOverTheBudgetStillRunsAlone() {
        BatchPlanner planner = new BatchPlanner(true, 64, 1 << 20, 4096);
        List<BatchPlanner.Run<Item>> runs = planner.runs(List.of(item(0, 300), item(1, 20), item(2, 10)));
        assertEquals(1, runs.get(0).slots(), "300 positions x 4 KiB is over 1 MiB: one slot");
        assertEquals(List.of(0), runs.get(0).rows().stream().map(Item::index).toList());
        assertEquals(2, runs.get(1).slots());
        assertThrows(IllegalArgumentException.class, () -> planner.runs(List.of(new Item(0, null, 5, 10, 3))));
    }
}
