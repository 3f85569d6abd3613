package dev.nightshift.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The KV cache of a GroupQueryAttention graph: per layer one block of keys and one of values,
 * [B, kv_heads, maxLength, head_dim], in the model's {@link KvMemory} (host direct buffers, or the session's device),
 * passed to ONNX Runtime as the past input and as the pinned present output, so
 * every run writes the new positions in place and nothing is copied per token. Rows are right-padded; GQA reads each
 * row's length from its attention mask, so rows of different lengths share one run without changing each other's
 * arithmetic.
 *
 * <p>A row's part of each block is contiguous (rows are the outer dimension), so a one-row view ({@link #row}) is a
 * zero-copy slice: prefix reuse feeds a row's remainder through such a view at batch size 1, the only size at which
 * GQA accepts several new tokens on top of a past.
 */
final class SharedKvCache implements KvCache {

    private final DecoderModel model;
    private final int rows;
    private final int maxLength;
    private final long rowBytes;
    /** Per layer; a one-row view shares its parent's blocks, starting {@link #base} bytes in. */
    private final KvMemory.Block[] keys;
    private final KvMemory.Block[] values;
    private final long base;
    private final boolean ownsBlocks;
    private final OnnxTensor[] keyTensors;
    private final OnnxTensor[] valueTensors;
    /** Per row; a one-row view shares its parent's array, at {@link #first}. */
    private final int[] lengths;
    private final int first;
    private final List<OnnxTensor> owned = new ArrayList<>();

    SharedKvCache(DecoderModel model, int rows, int maxLength) {
        this.model = model;
        this.rows = rows;
        this.maxLength = maxLength;
        this.rowBytes = (long) model.kvHeads * maxLength * model.headDim * model.kvElementBytes();
        if (rowBytes * rows > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("one layer's KV cache for " + rows + " rows of " + maxLength
                    + " positions exceeds 2 GiB; lower the batch budget or max_new_tokens");
        }
        this.keys = new KvMemory.Block[model.layers];
        this.values = new KvMemory.Block[model.layers];
        this.base = 0;
        this.ownsBlocks = true;
        this.keyTensors = new OnnxTensor[model.layers];
        this.valueTensors = new OnnxTensor[model.layers];
        this.lengths = new int[rows];
        this.first = 0;
        try {
            for (int l = 0; l < model.layers; l++) {
                keys[l] = model.kvMemory().allocate(rowBytes * rows);
                values[l] = model.kvMemory().allocate(rowBytes * rows);
            }
            bindTensors();
        } catch (OrtException | RuntimeException e) {
            close();
            throw new IllegalStateException("cannot allocate the KV cache: " + e.getMessage(), e);
        }
    }

    /** A one-row view of {@code parent}'s row {@code row}: its blocks from that row on, its length kept in the parent. */
    private SharedKvCache(SharedKvCache parent, int row) throws OrtException {
        this.model = parent.model;
        this.rows = 1;
        this.maxLength = parent.maxLength;
        this.rowBytes = parent.rowBytes;
        this.keys = parent.keys;
        this.values = parent.values;
        this.base = parent.base + row * rowBytes;
        this.ownsBlocks = false;
        this.keyTensors = new OnnxTensor[model.layers];
        this.valueTensors = new OnnxTensor[model.layers];
        this.lengths = parent.lengths;
        this.first = parent.first + row;
        try {
            bindTensors();
        } catch (OrtException e) {
            close();
            throw e;
        }
    }

    private void bindTensors() throws OrtException {
        long[] shape = {rows, model.kvHeads, maxLength, model.headDim};
        for (int l = 0; l < model.layers; l++) {
            keyTensors[l] = own(keys[l].tensor(base, shape, model.kvType));
            valueTensors[l] = own(values[l].tensor(base, shape, model.kvType));
        }
    }

    private OnnxTensor own(OnnxTensor tensor) {
        owned.add(tensor);
        return tensor;
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int length(int row) {
        return lengths[first + row];
    }

    @Override
    public int maxLength() {
        return maxLength;
    }

    @Override
    public boolean mixedLengths() {
        return true;
    }

    @Override
    public boolean extendsOneRow() {
        return true;
    }

    @Override
    public void copyPrefix(KvCache source, int from, int to, int positions) {
        if (!(source instanceof SharedKvCache shared)) {
            throw new IllegalArgumentException("a shared KV cache copies prefixes only from another shared KV cache");
        }
        long positionBytes = (long) model.headDim * model.kvElementBytes();
        for (int l = 0; l < model.layers; l++) {
            for (int h = 0; h < model.kvHeads; h++) {
                long src = shared.base + ((long) from * model.kvHeads + h) * shared.maxLength * positionBytes;
                long dst = base + ((long) to * model.kvHeads + h) * maxLength * positionBytes;
                shared.keys[l].copyTo(src, keys[l], dst, positions * positionBytes);
                shared.values[l].copyTo(src, values[l], dst, positions * positionBytes);
            }
        }
        lengths[first + to] = positions;
    }

    @Override
    public void clear(int row) {
        lengths[first + row] = 0;
    }

    @Override
    public KvCache fork(int row, int copies, int newMaxLength) {
        SharedKvCache fork = new SharedKvCache(model, copies, newMaxLength);
        for (int c = 0; c < copies; c++) {
            fork.copyPrefix(this, row, c, length(row));
        }
        return fork;
    }

    @Override
    public KvCache compact(int[] live) {
        SharedKvCache smaller = new SharedKvCache(model, live.length, maxLength);
        for (int i = 0; i < live.length; i++) {
            smaller.copyPrefix(this, live[i], i, length(live[i]));
        }
        close();
        return smaller;
    }

    @Override
    public KvCache row(int row) throws OrtException {
        return new SharedKvCache(this, row);
    }

    @Override
    public boolean presentsInPlace() {
        return true;
    }

    @Override
    public void bind(Map<String, OnnxTensor> inputs, Map<String, OnnxValue> pinned) {
        for (int l = 0; l < model.layers; l++) {
            inputs.put(DecoderModel.pastKey(l), keyTensors[l]);
            inputs.put(DecoderModel.pastValue(l), valueTensors[l]);
            pinned.put(DecoderModel.presentKey(l), keyTensors[l]);
            pinned.put(DecoderModel.presentValue(l), valueTensors[l]);
        }
    }

    @Override
    public boolean advance(int[] added, OrtSession.Result result) {
        for (int b = 0; b < rows; b++) {
            lengths[first + b] += added[b];
        }
        return false;
    }

    @Override
    public void close() {
        for (OnnxTensor tensor : owned) {
            tensor.close();
        }
        owned.clear();
        if (ownsBlocks) {
            for (int l = 0; l < model.layers; l++) {
                for (KvMemory.Block block : new KvMemory.Block[]{keys[l], values[l]}) {
                    if (block != null) {
                        block.close();
                    }
                }
                keys[l] = null;
                values[l] = null;
            }
        }
    }
}
