package dev.nightshift.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.util.Map;

/**
 * The keys and values the decoder has computed for each row of a batch: per layer one key and one value tensor of
 * [B, kv_heads, positions, head_dim], B = {@link #rows()}. A row's {@link #length} is the number of positions it holds
 * (prompt plus tokens fed so far). Two implementations, chosen by the graph ({@link DecoderModel#open(int, int)}):
 * {@link SharedKvCache} (GroupQueryAttention graphs: one preallocated buffer written in place, rows right-padded) and
 * {@link GrowingKvCache} (graphs with {@code position_ids}: each run returns a longer past, all rows of equal length).
 * A device-resident cache (CUDA) is meant to be a third; nothing here names host memory.
 *
 * <p>The first group of methods is what decoding needs of a cache; the second is how {@link DecoderStep}, the one class
 * that runs the session, binds it to a run.
 */
interface KvCache extends AutoCloseable {

    /** B: the rows this cache holds. */
    int rows();

    /** Positions row {@code row} holds. */
    int length(int row);

    /** Positions a row can hold (the shared buffer's size; the growing cache has no fixed size and returns its batch's). */
    int maxLength();

    /**
     * Whether rows may hold different lengths: prompts of different lengths in one prefill, finished rows left behind
     * while others advance, a prefix copied into one row. The growing cache keeps every row at one length, since
     * padding would change the length of each row's attention sums and with it their rounding.
     */
    boolean mixedLengths();

    /** Whether several new tokens may be fed to one row on top of its past (GQA accepts that at batch size 1 only). */
    boolean extendsOneRow();

    /**
     * Copies the first {@code positions} positions of {@code source}'s row {@code from} into this cache's row {@code to}
     * (which then holds exactly those): shared-prefix reuse. Needs {@link #mixedLengths()} and a source of the same kind.
     */
    void copyPrefix(KvCache source, int from, int to, int positions);

    /**
     * Empties row {@code row} (it then holds 0 positions) so that another prompt can be fed to it through {@link #row}
     * while the other rows keep theirs: continuous batching's refill of a finished row's slot. Needs
     * {@link #mixedLengths()}; what the row held stays in memory but is never read again (attention reads a row's length).
     */
    void clear(int row);

    /** A new cache of {@code copies} rows, each a copy of row {@code row}, room for {@code maxLength} positions (label scoring). */
    KvCache fork(int row, int copies, int maxLength) throws OrtException;

    /**
     * A cache holding only rows {@code live} (in that order, row i of the result is row live[i] of this one): finished rows
     * stop costing work. This cache is closed; the caller uses only the returned one (which may be this one, compacted).
     */
    KvCache compact(int[] live) throws OrtException;

    /** A one-row view of row {@code row} sharing its memory, for {@link #extendsOneRow()}; closing it keeps the row. */
    KvCache row(int row) throws OrtException;

    @Override
    void close();

    // ---- for DecoderStep ----

    /**
     * Whether the presents are written into the past's memory (bound by {@link #bind} as pinned outputs), as opposed to
     * returned by the run as new tensors that {@link #advance} adopts.
     */
    boolean presentsInPlace();

    /** Puts this cache's past tensors into {@code inputs} and, when written in place, its present tensors into {@code pinned}. */
    void bind(Map<String, OnnxTensor> inputs, Map<String, OnnxValue> pinned) throws OrtException;

    /**
     * Records a finished run: row b fed {@code added[b]} new positions that count (0 for a finished row fed padding).
     * A growing cache adopts the run's presents as its next past, keeps {@code result} open and returns true: the caller
     * must not close it then.
     */
    boolean advance(int[] added, OrtSession.Result result);
}
