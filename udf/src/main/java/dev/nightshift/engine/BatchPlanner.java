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
