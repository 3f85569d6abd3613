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
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * One run of the decoder graph over a {@link KvCache}: binds {@code input_ids} [B, S], {@code attention_mask}
 * [B, T], {@code position_ids} [B, S] where the graph has them, and the cache's past (and, for an in-place cache, its
 * present) tensors; runs the session; reads the logits [B, S or 1, vocab] (fp32 or fp16) at each row's last new token.
 * The only class that calls {@link OrtSession#run} while decoding. Holds the pinned logits buffers of in-place runs,
 * one per batch size, so a step allocates nothing of vocabulary size; close it with the batch.
 */
final class DecoderStep implements AutoCloseable {

    private final DecoderModel model;
    private final Map<Integer, OnnxTensor> pinnedLogits = new HashMap<>();

    DecoderStep(DecoderModel model) {
        this.model = model;
    }

    /**
     * Feeds {@code tokens[b]} (one or more ids) to row b on top of its cache and returns, per row, the logits that follow
     * its last new token. A row with {@code counts[b]} false is finished: it is fed (its tokens are padding, as a batch's
     * shape needs every row) but its cache length stays.
     */
    float[][] run(KvCache cache, int[][] tokens, boolean[] counts) throws OrtException {
        int batch = cache.rows();
        int sequence = 0;
        int total = 0;
        for (int b = 0; b < batch; b++) {
            sequence = Math.max(sequence, tokens[b].length);
            total = Math.max(total, cache.length(b) + tokens[b].length);
        }
        long[] ids = new long[batch * sequence];
        long[] mask = new long[batch * total];
        long[] positions = null;
        if (model.positionIds()) {
            // Positions are explicit and the mask is all ones, so every row must be at the same place (GrowingKvCache).
            for (int b = 0; b < batch; b++) {
                if (tokens[b].length != sequence || cache.length(b) != cache.length(0)) {
                    throw new IllegalArgumentException("rows of one run of this model must have equal lengths");
                }
            }
            positions = new long[batch * sequence];
            for (int b = 0; b < batch; b++) {
                for (int s = 0; s < sequence; s++) {
                    positions[b * sequence + s] = cache.length(b) + s;
                }
            }
        }
        for (int b = 0; b < batch; b++) {
            // Right padding: GQA reads only each row's mask sum (its length after these tokens) and the column count.
            java.util.Arrays.fill(ids, b * sequence, (b + 1) * sequence, model.padId);
            for (int s = 0; s < tokens[b].length; s++) {
                ids[b * sequence + s] = tokens[b][s];
            }
            java.util.Arrays.fill(mask, b * total, b * total + cache.length(b) + tokens[b].length, 1);
        }
        Map<String, OnnxTensor> inputs = new HashMap<>();
        Map<String, OnnxValue> pinned = new HashMap<>();
        try (OnnxTensor idTensor = longs(ids, batch, sequence); OnnxTensor maskTensor = longs(mask, batch, total);
             OnnxTensor positionTensor = positions == null ? null : longs(positions, batch, sequence)) {
            inputs.put("input_ids", idTensor);
            inputs.put("attention_mask", maskTensor);
            if (positionTensor != null) {
                inputs.put("position_ids", positionTensor);
            }
            cache.bind(inputs, pinned);
            int[] added = new int[batch];
            for (int b = 0; b < batch; b++) {
                added[b] = counts[b] ? tokens[b].length : 0;
            }
            if (!cache.presentsInPlace()) {
                OrtSession.Result result = model.session.run(inputs);
                try {
                    float[][] logits = logitsAt((OnnxTensor) result.get("logits").get(), tokens);
                    if (cache.advance(added, result)) {
                        result = null;
                    }
                    return logits;
                } finally {
                    if (result != null) {
                        result.close();
                    }
                }
            }
            float[][] logits;
            if (model.lastLogitsOnly) {
                OnnxTensor buffer = pinnedLogits(batch);
                pinned.put("logits", buffer);
                try (OrtSession.Result result = model.session.run(inputs, Set.of(), pinned)) {
                    logits = logitsAt(buffer, tokens);
                    cache.advance(added, result);
                }
            } else {
                try (OrtSession.Result result = model.session.run(inputs, Set.of("logits"), pinned)) {
                    logits = logitsAt((OnnxTensor) result.get("logits").get(), tokens);
                    cache.advance(added, result);
                }
            }
            return logits;
        }
    }

    /** [batch, 1, vocab] fp32 logits written in place by the graph (last-position graphs). */
    private OnnxTensor pinnedLogits(int batch) throws OrtException {
        OnnxTensor tensor = pinnedLogits.get(batch);
        if (tensor == null) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(batch * model.vocabSize * 4).order(ByteOrder.nativeOrder());
            tensor = OnnxTensor.createTensor(model.env, buffer.asFloatBuffer(), new long[]{batch, 1, model.vocabSize});
            pinnedLogits.put(batch, tensor);
        }
        return tensor;
    }

    /**
     * Reads logits [B, S, V] at each row's last new token (S - padding), or [B, 1, V] (last-position graphs) at 0, into
     * float arrays; fp16 logits are widened.
     */
    static float[][] logitsAt(OnnxTensor logits, int[][] tokens) {
        long[] shape = logits.getInfo().getShape();
        int sequence = (int) shape[1];
        int vocab = (int) shape[2];
        float[][] out = new float[tokens.length][vocab];
        boolean half = logits.getInfo().type == OnnxJavaType.FLOAT16;
        ByteBuffer bytes = logits.getByteBuffer().order(ByteOrder.nativeOrder());
        for (int b = 0; b < tokens.length; b++) {
            int position = sequence == 1 ? 0 : tokens[b].length - 1;
            long base = ((long) b * sequence + position) * vocab;
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

    private OnnxTensor longs(long[] values, long... shape) throws OrtException {
        return OnnxTensor.createTensor(model.env, LongBuffer.wrap(values), shape);
    }

    @Override
    public void close() {
        pinnedLogits.values().forEach(OnnxTensor::close);
        pinnedLogits.clear();
    }
}
