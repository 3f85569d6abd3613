package dev.nightshift.engine;

import ai.onnxruntime.OrtException;

/**
 * A batch of rows being decoded: what {@link GenerationLoop} and {@link LabelScorer} drive. Every call returns logits
 * as {@code float[rows][vocab]}: row b's scores for the token that follows its last fed token. The ONNX implementation
 * is {@link OnnxDecoder} (a {@link KvCache} and a {@link DecoderStep}); tests drive the loop with a fake that returns
 * fixed logits.
 *
 * <p>Rows keep their index until {@link #compact}; a row's length is the number of positions it has been fed.
 */
interface Decoder extends AutoCloseable {

    int rows();

    /** Positions row {@code row} has been fed (prompt plus tokens). */
    int length(int row);

    /** Whether rows may have different lengths (prompts of different lengths in one prefill, a prefix copied into one row). */
    boolean mixedLengths();

    /** Whether {@link #extend} can feed several tokens to one row on top of what it holds. */
    boolean extendsOneRow();

    /** Prefill: feeds every row's prompt (of one length unless {@link #mixedLengths()}); logits after each prompt. */
    float[][] prefill(int[][] prompts) throws OrtException;

    /**
     * Decode step: feeds one token per row. Rows with {@code advance[b]} false are finished: they are fed
     * {@code tokens[b]} (padding) so the batch keeps its shape, their length stays, and their logits mean nothing.
     */
    float[][] step(int[] tokens, boolean[] advance) throws OrtException;

    /** Feeds several tokens to row {@code row} alone (needs {@link #extendsOneRow()}); the logits after the last. */
    float[] extend(int row, int[] tokens) throws OrtException;

    /**
     * Puts the first {@code positions} positions of {@code source}'s row {@code from} into row {@code to} (shared-prefix
     * reuse; needs {@link #mixedLengths()} and a source from the same factory).
     */
    void copyPrefix(Decoder source, int from, int to, int positions);

    /**
     * Empties row {@code row} (length 0) so a waiting prompt can take its place, fed with {@link #extend} while the
     * other rows keep theirs (continuous batching; needs {@link #mixedLengths()} and {@link #extendsOneRow()}).
     */
    void clear(int row);

    /** A new decoder of {@code copies} rows, each continuing row {@code row}, room for {@code maxLength} positions each. */
    Decoder fork(int row, int copies, int maxLength) throws OrtException;

    /** Keeps only rows {@code live}, in that order (row i is old row live[i]): finished rows stop costing work. */
    void compact(int[] live) throws OrtException;

    @Override
    void close();
}
