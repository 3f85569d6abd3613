package dev.nightshift.engine;

import ai.onnxruntime.OnnxJavaType;
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

/**
 * The KV cache of a graph that takes {@code position_ids} and returns a grown past each run (plain attention,
 * MultiHeadAttention, Hugging Face Optimum exports): per layer [B, kv_heads, length, head_dim], the presents of one
 * run being the past of the next. All rows have the same length: padding would change the length of each row's
 * attention sums and with it their rounding, and batched output must equal unbatched output. Finished rows keep being
 * fed (the past grows for every row alike); their tokens are ignored.
 */
final class GrowingKvCache implements KvCache {

    private final DecoderModel model;
    private final int rows;
    private int length;
    /** The run whose presents are the current past (its tensors are ORT's), or null before the first run. */
    private OrtSession.Result last;
    private Map<String, OnnxTensor> past = new HashMap<>();
    /** Past tensors this cache made itself (empty at the start, gathered rows after a fork or compaction). */
    private final List<OnnxTensor> owned = new ArrayList<>();

    GrowingKvCache(DecoderModel model, int rows) {
        this.model = model;
        this.rows = rows;
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int length(int row) {
        return length;
    }

    @Override
    public int maxLength() {
        return length;
    }

    @Override
    public boolean mixedLengths() {
        return false;
    }

    @Override
    public boolean extendsOneRow() {
        return false;
    }

    @Override
    public void copyPrefix(KvCache source, int from, int to, int positions) {
        throw new UnsupportedOperationException("a growing KV cache keeps every row at one length; it cannot take a prefix into one row");
    }

    @Override
    public void clear(int row) {
        throw new UnsupportedOperationException("a growing KV cache keeps every row at one length; one row cannot be emptied "
                + "for another prompt (continuous batching runs GroupQueryAttention graphs only)");
    }

    @Override
    public KvCache row(int row) {
        throw new UnsupportedOperationException("a graph with position_ids is fed all rows of a batch together");
    }

    @Override
    public KvCache fork(int row, int copies, int maxLength) throws OrtException {
        int[] rowsToCopy = new int[copies];
        java.util.Arrays.fill(rowsToCopy, row);
        return gather(rowsToCopy);
    }

    @Override
    public KvCache compact(int[] live) throws OrtException {
        GrowingKvCache smaller = gather(live);
        close();
        return smaller;
    }

    /** A new cache whose row i is this cache's row {@code selected[i]}. */
    private GrowingKvCache gather(int[] selected) throws OrtException {
        GrowingKvCache gathered = new GrowingKvCache(model, selected.length);
        try {
            bindEmptyIfNew();
            for (Map.Entry<String, OnnxTensor> entry : past.entrySet()) {
                gathered.past.put(entry.getKey(), gathered.own(gather(entry.getValue(), selected)));
            }
        } catch (OrtException | RuntimeException e) {
            gathered.close();
            throw e;
        }
        gathered.length = length;
        return gathered;
    }

    /** Rows {@code selected} of a [B, H, P, D] tensor, as a new [selected.length, H, P, D] tensor. */
    private OnnxTensor gather(OnnxTensor tensor, int[] selected) throws OrtException {
        long[] shape = tensor.getInfo().getShape();
        int rowBytes = (int) (shape[1] * shape[2] * shape[3] * model.kvElementBytes());
        ByteBuffer source = tensor.getByteBuffer();
        ByteBuffer target = ByteBuffer.allocateDirect(rowBytes * selected.length).order(ByteOrder.nativeOrder());
        for (int row : selected) {
            target.put(source.duplicate().position(row * rowBytes).limit((row + 1) * rowBytes));
        }
        target.flip();
        return OnnxTensor.createTensor(model.env, target, new long[]{selected.length, shape[1], shape[2], shape[3]}, model.kvType);
    }

    private void bindEmptyIfNew() throws OrtException {
        if (!past.isEmpty()) {
            return;
        }
        long[] shape = {rows, model.kvHeads, 0, model.headDim};
        for (int l = 0; l < model.layers; l++) {
            past.put(DecoderModel.pastKey(l), own(empty(shape)));
            past.put(DecoderModel.pastValue(l), own(empty(shape)));
        }
    }

    private OnnxTensor empty(long[] shape) throws OrtException {
        return OnnxTensor.createTensor(model.env, ByteBuffer.allocateDirect(0), shape,
                model.kvType == OnnxJavaType.FLOAT16 ? OnnxJavaType.FLOAT16 : OnnxJavaType.FLOAT);
    }

    private OnnxTensor own(OnnxTensor tensor) {
        owned.add(tensor);
        return tensor;
    }

    @Override
    public boolean presentsInPlace() {
        return false;
    }

    @Override
    public void bind(Map<String, OnnxTensor> inputs, Map<String, OnnxValue> pinned) throws OrtException {
        bindEmptyIfNew();
        inputs.putAll(past);
    }

    @Override
    public boolean advance(int[] added, OrtSession.Result result) {
        Map<String, OnnxTensor> next = new HashMap<>();
        for (int l = 0; l < model.layers; l++) {
            next.put(DecoderModel.pastKey(l), (OnnxTensor) result.get(DecoderModel.presentKey(l)).get());
            next.put(DecoderModel.pastValue(l), (OnnxTensor) result.get(DecoderModel.presentValue(l)).get());
        }
        release();
        last = result;
        past = next;
        // Every row is fed every run, finished or not: the past is one length for all.
        length = (int) next.get(DecoderModel.pastKey(0)).getInfo().getShape()[2];
        return true;
    }

    private void release() {
        if (last != null) {
            last.close();
            last = null;
        }
        for (OnnxTensor tensor : owned) {
            tensor.close();
        }
        owned.clear();
    }

    @Override
    public void close() {
        release();
    }
}
