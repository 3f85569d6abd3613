package dev.nightshift.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The KV cache of a GroupQueryAttention graph: per layer one direct buffer of keys and one of values,
 * [rows, kvHeads, maxLength, headDim], passed to ONNX Runtime as the past input and as the pinned
 * present output, so every step writes the new positions in place and nothing is copied per token.
 * Rows are right-padded; a row's length is the number of positions its cache holds.
 *
 * <p>A row's part of each buffer is contiguous (rows are the outer dimension), so a one-row view is a
 * zero-copy slice: prefix reuse prefills a row's remainder through such a view at batch size 1, the
 * only size at which GQA accepts several new tokens on top of a past.
 */
final class SharedCacheRun extends BatchRun {

    private final int maxLength;
    private final long rowBytes;
    private final ByteBuffer[] keys;
    private final ByteBuffer[] values;
    private final OnnxTensor[] keyTensors;
    private final OnnxTensor[] valueTensors;
    private final OnnxTensor logits;
    private final ByteBuffer logitsBuffer;
    private final List<OnnxTensor> owned = new ArrayList<>();

    SharedCacheRun(DecoderModel model, int rows, int maxLength) {
        super(model, rows);
        this.maxLength = maxLength;
        this.rowBytes = (long) model.kvHeads * maxLength * model.headDim * model.kvElementBytes();
        if (rowBytes * rows > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("one layer's KV cache for " + rows + " rows of " + maxLength
                    + " positions exceeds 2 GiB; lower the batch budget or max_new_tokens");
        }
        this.keys = new ByteBuffer[model.layers];
        this.values = new ByteBuffer[model.layers];
        this.keyTensors = new OnnxTensor[model.layers];
        this.valueTensors = new OnnxTensor[model.layers];
        long[] shape = {rows, model.kvHeads, maxLength, model.headDim};
        try {
            for (int l = 0; l < model.layers; l++) {
                keys[l] = ByteBuffer.allocateDirect((int) (rowBytes * rows)).order(ByteOrder.nativeOrder());
                values[l] = ByteBuffer.allocateDirect((int) (rowBytes * rows)).order(ByteOrder.nativeOrder());
                keyTensors[l] = own(OnnxTensor.createTensor(model.env, keys[l], shape, model.kvType));
                valueTensors[l] = own(OnnxTensor.createTensor(model.env, values[l], shape, model.kvType));
            }
            if (model.lastLogitsOnly) {
                logitsBuffer = ByteBuffer.allocateDirect(rows * model.vocabSize * 4).order(ByteOrder.nativeOrder());
                logits = own(OnnxTensor.createTensor(model.env, logitsBuffer.asFloatBuffer(), new long[]{rows, 1, model.vocabSize}));
            } else {
                logitsBuffer = null;
                logits = null;
            }
        } catch (OrtException e) {
            close();
            throw new IllegalStateException("cannot allocate the KV cache: " + e.getMessage(), e);
        }
    }

    private OnnxTensor own(OnnxTensor tensor) {
        owned.add(tensor);
        return tensor;
    }

    @Override
    boolean mixedLengths() {
        return true;
    }

    @Override
    float[][] prefill(int[][] prompts) throws OrtException {
        int sequence = 0;
        for (int[] prompt : prompts) {
            sequence = Math.max(sequence, prompt.length);
        }
        long[] ids = new long[rows * sequence];
        long[] mask = new long[rows * sequence];
        int[] last = new int[rows];
        for (int b = 0; b < rows; b++) {
            java.util.Arrays.fill(ids, b * sequence, (b + 1) * sequence, model.padId);
            for (int s = 0; s < prompts[b].length; s++) {
                ids[b * sequence + s] = prompts[b][s];
                mask[b * sequence + s] = 1;
            }
            lengths[b] = prompts[b].length;
            last[b] = prompts[b].length - 1;
        }
        return run(ids, mask, sequence, sequence, keyTensors, valueTensors, logits, rows, last);
    }

    @Override
    float[][] step(int[] tokens, boolean[] advance) throws OrtException {
        int total = 0;
        for (int b = 0; b < rows; b++) {
            total = Math.max(total, lengths[b] + 1);
        }
        long[] ids = new long[rows];
        long[] mask = new long[rows * total];
        for (int b = 0; b < rows; b++) {
            ids[b] = tokens[b];
            // GQA reads only each row's mask sum (its length after this token) and the column count.
            java.util.Arrays.fill(mask, b * total, b * total + lengths[b] + 1, 1);
        }
        float[][] out = run(ids, mask, 1, total, keyTensors, valueTensors, logits, rows, new int[rows]);
        for (int b = 0; b < rows; b++) {
            if (advance[b]) {
                lengths[b]++;
            }
        }
        return out;
    }

    /** Feeds several tokens to one row on top of its cache (batch size 1) and returns the logits after the last. */
    float[] extend(int row, int[] tokens) throws OrtException {
        long[] shape = {1, model.kvHeads, maxLength, model.headDim};
        OnnxTensor[] rowKeys = new OnnxTensor[model.layers];
        OnnxTensor[] rowValues = new OnnxTensor[model.layers];
        List<OnnxTensor> views = new ArrayList<>();
        OnnxTensor rowLogits = null;
        try {
            for (int l = 0; l < model.layers; l++) {
                rowKeys[l] = OnnxTensor.createTensor(model.env, slice(keys[l], row), shape, model.kvType);
                rowValues[l] = OnnxTensor.createTensor(model.env, slice(values[l], row), shape, model.kvType);
                views.add(rowKeys[l]);
                views.add(rowValues[l]);
            }
            if (model.lastLogitsOnly) {
                rowLogits = OnnxTensor.createTensor(model.env,
                        ByteBuffer.allocateDirect(model.vocabSize * 4).order(ByteOrder.nativeOrder()).asFloatBuffer(),
                        new long[]{1, 1, model.vocabSize});
                views.add(rowLogits);
            }
            long[] ids = new long[tokens.length];
            for (int i = 0; i < tokens.length; i++) {
                ids[i] = tokens[i];
            }
            int total = lengths[row] + tokens.length;
            long[] mask = new long[total];
            java.util.Arrays.fill(mask, 1);
            float[][] out = run(ids, mask, tokens.length, total, rowKeys, rowValues, rowLogits, 1, new int[]{tokens.length - 1});
            lengths[row] = total;
            return out[0];
        } finally {
            closeAll(views);
        }
    }

    private ByteBuffer slice(ByteBuffer buffer, int row) {
        return buffer.duplicate().position((int) (row * rowBytes)).limit((int) ((row + 1) * rowBytes))
                .slice().order(ByteOrder.nativeOrder());
    }

    private float[][] run(long[] ids, long[] mask, int sequence, int total, OnnxTensor[] pastKeys, OnnxTensor[] pastValues,
                          OnnxTensor pinnedLogits, int batch, int[] lastPositions) throws OrtException {
        Map<String, OnnxTensor> inputs = new HashMap<>();
        Map<String, OnnxValue> pinned = new HashMap<>();
        try (OnnxTensor idTensor = longs(ids, batch, sequence); OnnxTensor maskTensor = longs(mask, batch, total)) {
            inputs.put("input_ids", idTensor);
            inputs.put("attention_mask", maskTensor);
            for (int l = 0; l < model.layers; l++) {
                inputs.put(DecoderModel.pastKey(l), pastKeys[l]);
                inputs.put(DecoderModel.pastValue(l), pastValues[l]);
                pinned.put(DecoderModel.presentKey(l), pastKeys[l]);
                pinned.put(DecoderModel.presentValue(l), pastValues[l]);
            }
            if (pinnedLogits != null) {
                pinned.put("logits", pinnedLogits);
                try (OrtSession.Result ignored = run(model, inputs, Set.of(), pinned)) {
                    return logitsAt(pinnedLogits, new int[batch]);
                }
            }
            try (OrtSession.Result result = run(model, inputs, Set.of("logits"), pinned)) {
                return logitsAt((OnnxTensor) result.get("logits").get(), lastPositions);
            }
        }
    }

    @Override
    BatchRun fork(int row, int copies, int newMaxLength) {
        SharedCacheRun fork = new SharedCacheRun(model, copies, newMaxLength);
        for (int c = 0; c < copies; c++) {
            fork.copyPrefix(this, row, c, lengths[row]);
        }
        return fork;
    }

    /** Copies the first {@code positions} cache positions of {@code source}'s row {@code from} into row {@code to}. */
    void copyPrefix(SharedCacheRun source, int from, int to, int positions) {
        long positionBytes = (long) model.headDim * model.kvElementBytes();
        for (int l = 0; l < model.layers; l++) {
            for (ByteBuffer[] pair : new ByteBuffer[][]{{source.keys[l], keys[l]}, {source.values[l], values[l]}}) {
                for (int h = 0; h < model.kvHeads; h++) {
                    long src = ((long) from * model.kvHeads + h) * source.maxLength * positionBytes;
                    long dst = ((long) to * model.kvHeads + h) * maxLength * positionBytes;
                    ByteBuffer slice = pair[0].duplicate().position((int) src).limit((int) (src + positions * positionBytes));
                    pair[1].duplicate().position((int) dst).put(slice);
                }
            }
        }
        lengths[to] = positions;
    }

    int maxLength() {
        return maxLength;
    }

    @Override
    public void close() {
        closeAll(owned);
        owned.clear();
    }
}
