package dev.nightshift.engine;

/**
 * What an engine's generation loops have done since it was opened ({@link LlmEngine#decodeStats()}): counts, summed over
 * every call and thread. They show how full the batches were kept, which no timing can prove on its own.
 *
 * @param steps        decode steps run (one token fed to every row of a batch; prefills not counted)
 * @param slotRows     rows the decode steps ran, summed over steps: the batch's width each step, finished rows included
 * @param liveRows     of those, rows that were still generating (fed a token that counts), summed over steps
 * @param refills      waiting rows prefilled into the slot of a finished row (continuous batching; 0 on the shrinking path)
 * @param rowsFinished rows that ran to their end (stop, length), whichever path ran them
 */
public record DecodeStats(long steps, long slotRows, long liveRows, long refills, long rowsFinished) {

    /** Live rows per decode-step row, 0..1: 1 when no step carried a finished row; 0 before any step. */
    public double occupancy() {
        return slotRows == 0 ? 0 : (double) liveRows / slotRows;
    }

    /** The counts accumulated since {@code earlier} (a snapshot of the same engine). */
    public DecodeStats since(DecodeStats earlier) {
        return new DecodeStats(steps - earlier.steps, slotRows - earlier.slotRows, liveRows - earlier.liveRows,
                refills - earlier.refills, rowsFinished - earlier.rowsFinished);
    }
}
