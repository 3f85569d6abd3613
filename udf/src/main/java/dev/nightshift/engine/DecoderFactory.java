package dev.nightshift.engine;

/** A model as decoding sees it: new {@link Decoder}s for batches, and the special tokens the loop acts on. */
interface DecoderFactory {

    /** A decoder of {@code rows} empty rows, each with room for {@code maxLength} positions. */
    Decoder open(int rows, int maxLength);

    /** The id fed for finished rows (its logits are ignored). */
    int padId();

    /** Whether {@code token} ends a row (any of the model's end-of-sequence ids). */
    boolean isEos(int token);
}
