package dev.nightshift.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Groups rows into batches under the KV-cache budget, for generation and label scoring alike: rows sorted by shared
 * prefix and prompt length (less padding), grouped while (KV rows in the batch) x (longest prompt + answer room) x
 * (KV bytes per position) stays within the budget, at most {@code maxBatchSize} rows, one shared prefix per batch, and
 * one prompt length per batch where the cache cannot mix lengths ({@link KvCache#mixedLengths()}).
 *
 * <p>For continuous batching ({@link #runs}) it plans runs instead: a queue of rows and a number of slots, each slot
 * with room for the run's longest row, (slots) x (longest positions) x (KV bytes per position) within the budget.
 */
final class BatchPlanner {

    /** What the planner needs of a row. */
    interface Planned {

        /** The row's place in the caller's input, the last sort key (a stable, reproducible plan). */
        int index();

        /** The shared prefix the row reuses, or null. */
        String prefixKey();

        int promptLength();

        /** Positions the row's cache needs: its prompt plus room for what follows (new tokens, the longest label). */
        int positions();

        /** KV-cache rows the row occupies while it runs: 1 for generation, one per label (and the prompt's) for scoring. */
        int cacheRows();
    }

    private final boolean mixedLengths;
    private final int maxBatchSize;
    private final long budgetBytes;
    private final long bytesPerPosition;

    /**
     * @param mixedLengths     whether rows of different prompt lengths may share a batch (the model's cache kind)
     * @param bytesPerPosition KV bytes one position of one row takes across all layers, keys and values
     */
    BatchPlanner(boolean mixedLengths, int maxBatchSize, long budgetBytes, long bytesPerPosition) {
        this.mixedLengths = mixedLengths;
        this.maxBatchSize = maxBatchSize;
        this.budgetBytes = budgetBytes;
        this.bytesPerPosition = bytesPerPosition;
    }

    /**
     * A continuous-batching run: {@code rows} in the order they enter the decoder, through {@code slots} rows of KV cache
     * (at most the run's row count) of {@code maxLength} positions each.
     */
    record Run<T extends Planned>(List<T> rows, int slots, int maxLength) {
    }

    /**
     * Continuous-batching runs of generation rows (one KV row each), in order; every row is in exactly one. Rows go
     * longest first (prompt plus max_new_tokens: the long ones start early instead of running alone at the end, and the
     * first row fixes the run's slot length). A run's slots are as many as the budget allows at its first row's length,
     * at most {@code maxBatchSize}; once a run has rows for all its slots, a new run starts where the shorter rows would allow
     * a quarter more slots (at least one), so a long row does not keep the whole queue narrow while each run still has a
     * queue to keep full. With
     * the budget not binding there is one run. Shared prefixes do not split runs: each slot copies its row's own.
     */
    <T extends Planned> List<Run<T>> runs(List<T> rows) {
        List<T> sorted = new ArrayList<>(rows);
        sorted.sort(Comparator.comparingInt((T r) -> -r.positions()).thenComparingInt(Planned::index));
        List<Run<T>> runs = new ArrayList<>();
        List<T> current = new ArrayList<>();
        int slots = 0;
        for (T row : sorted) {
            if (row.cacheRows() != 1) {
                throw new IllegalArgumentException("continuous batching runs generation rows (one KV row each), got a row of "
                        + row.cacheRows());
            }
            int fit = slots(row.positions());
            if (!current.isEmpty() && current.size() >= slots && fit >= slots + Math.max(1, slots / 4)) {
                runs.add(new Run<>(current, Math.min(slots, current.size()), current.get(0).positions()));
                current = new ArrayList<>();
            }
            if (current.isEmpty()) {
                slots = fit;
            }
            current.add(row);
        }
        if (!current.isEmpty()) {
            runs.add(new Run<>(current, Math.min(slots, current.size()), current.get(0).positions()));
        }
        return runs;
    }

    /** Rows of {@code positions} positions the budget holds at once, 1 to maxBatchSize (a row alone over it still runs). */
    private int slots(int positions) {
        long fit = budgetBytes / Math.max(1, (long) positions * bytesPerPosition);
        return (int) Math.max(1, Math.min(maxBatchSize, fit));
    }

    /** The batches, in order; every row is in exactly one. A row alone over the budget still gets a batch of its own. */
    <T extends Planned> List<List<T>> plan(List<T> rows) {
        List<T> sorted = new ArrayList<>(rows);
        sorted.sort(Comparator.comparing((T r) -> r.prefixKey() == null ? "" : r.prefixKey())
                .thenComparingInt(Planned::promptLength).thenComparingInt(Planned::index));
        List<List<T>> batches = new ArrayList<>();
        List<T> current = new ArrayList<>();
        int longest = 0;
        long cacheRows = 0;
        for (T row : sorted) {
            int length = row.positions();
            boolean fits = !current.isEmpty()
                    && current.size() < maxBatchSize
                    && Objects.equals(current.get(0).prefixKey(), row.prefixKey())
                    && (mixedLengths || current.get(0).promptLength() == row.promptLength())
                    && (cacheRows + row.cacheRows()) * Math.max(longest, length) * bytesPerPosition <= budgetBytes;
            if (!fits && !current.isEmpty()) {
                batches.add(current);
                current = new ArrayList<>();
                longest = 0;
                cacheRows = 0;
            }
            current.add(row);
            longest = Math.max(longest, length);
            cacheRows += row.cacheRows();
        }
        if (!current.isEmpty()) {
            batches.add(current);
        }
        return batches;
    }
}
