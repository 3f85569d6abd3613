package dev.nightshift.engine;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.nightshift.model.HalfPrecision;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.util.Map;

/**
 * The decoding state of one batch of rows over a {@link DecoderModel}: prompts in, then one token per
 * row per step, each call returning the logits that follow every row's last token. Implementations
 * differ in how they keep the KV cache; the generation loop does not care which it has.
 */
abstract class BatchRun implements AutoCloseable {

    final DecoderModel model;
    final int rows;
    final int[] lengths;

    BatchRun(DecoderModel model, int rows) {
        this.model = model;
        this.rows = rows;
        this.lengths = new int[rows];
    }

    /** A run suited to the model: an in-place shared cache for GQA graphs, a growing past otherwise. */
    static BatchRun create(DecoderModel model, int rows, int maxLength) {
        return model.sharedBuffer ? new SharedCacheRun(model, rows, maxLength) : new GrowingCacheRun(model, rows);
    }

    /** Feeds every row's prompt (rows may differ in length only where the implementation allows) and returns the logits after each. */
    abstract float[][] prefill(int[][] prompts) throws OrtException;

    /** Feeds one token per row; rows with {@code advance[b]} false are finished and keep their length. */
    abstract float[][] step(int[] tokens, boolean[] advance) throws OrtException;

    /** Whether rows of different prompt lengths can share one prefill. */
    abstract boolean mixedLengths();

    /** A new run of {@code copies} rows, each starting with row {@code row}'s cache (prefix reuse, label scoring). */
    abstract BatchRun fork(int row, int copies, int maxLength) throws OrtException;

    @Override
    public abstract void close();

    int length(int row) {
        return lengths[row];
    }

    /** Reads logits [B, S, V] (or [B, 1, V]) at one position per row into float arrays. */
    float[][] logitsAt(OnnxTensor logits, int[] positions) {
        long[] shape = logits.getInfo().getShape();
        int sequence = (int) shape[1];
        int vocab = (int) shape[2];
        float[][] out = new float[positions.length][vocab];
        boolean half = logits.getInfo().type == OnnxJavaType.FLOAT16;
        ByteBuffer bytes = logits.getByteBuffer().order(ByteOrder.nativeOrder());
        for (int b = 0; b < positions.length; b++) {
            long base = ((long) b * sequence + positions[b]) * vocab;
            if (half) {
                ShortBuffer shorts = bytes.asShortBuffer();
                for (int v = 0; v < vocab; v++) {
                    out[b][v] = HalfPrecision.f16ToFloat(shorts.get((int) (base + v)));
                }
            } else {
                FloatBuffer floats = bytes.asFloatBuffer();
                floats.position((int) base);
                floats.get(out[b]);
            }
        }
        return out;
    }

    OnnxTensor longs(long[] values, long... shape) throws OrtException {
        return OnnxTensor.createTensor(model.env, LongBuffer.wrap(values), shape);
    }

    static void closeAll(Iterable<? extends OnnxValue> values) {
        for (OnnxValue value : values) {
            value.close();
        }
    }

    static OrtSession.Result run(DecoderModel model, Map<String, OnnxTensor> inputs, java.util.Set<String> requested,
                                 Map<String, OnnxValue> pinned) throws OrtException {
        return model.session.run(inputs, requested, pinned);
    }
}
