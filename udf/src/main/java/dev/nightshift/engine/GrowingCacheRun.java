package dev.nightshift.engine;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The KV cache of a graph that takes {@code position_ids} and returns a grown past each step (plain
 * attention, MultiHeadAttention, Hugging Face Optimum exports): the presents of one run are the past
 * of the next. All rows of such a run have the same length: padding would change the length of each
 * row's attention sums and with it their rounding, and batched output must equal unbatched output.
 */
final class GrowingCacheRun extends BatchRun {

    private OrtSession.Result last;
    private Map<String, OnnxTensor> past = new HashMap<>();
    private final List<OnnxTensor> owned = new ArrayList<>();

    GrowingCacheRun(DecoderModel model, int rows) {
        super(model, rows);
    }

    @Override
    boolean mixedLengths() {
        return false;
    }

    @Override
    float[][] prefill(int[][] prompts) throws OrtException {
        int sequence = prompts[0].length;
        long[] ids = new long[rows * sequence];
        for (int b = 0; b < rows; b++) {
            if (prompts[b].length != sequence) {
                throw new IllegalArgumentException("rows of one run of this model must have equal lengths");
            }
            for (int s = 0; s < sequence; s++) {
                ids[b * sequence + s] = prompts[b][s];
            }
        }
        long[] shape = {rows, model.kvHeads, 0, model.headDim};
        for (int l = 0; l < model.layers; l++) {
            past.put(DecoderModel.pastKey(l), own(empty(shape)));
            past.put(DecoderModel.pastValue(l), own(empty(shape)));
        }
        return run(ids, sequence);
    }

    @Override
    float[][] step(int[] tokens, boolean[] advance) throws OrtException {
        long[] ids = new long[rows];
        for (int b = 0; b < rows; b++) {
            ids[b] = tokens[b];
        }
        // Finished rows keep being fed (the past grows for every row alike); their tokens are ignored.
        return run(ids, 1);
    }

    private float[][] run(long[] ids, int sequence) throws OrtException {
        int pastLength = lengths[0];
        int total = pastLength + sequence;
        long[] mask = new long[rows * total];
        java.util.Arrays.fill(mask, 1);
        long[] positions = new long[rows * sequence];
        for (int b = 0; b < rows; b++) {
            for (int s = 0; s < sequence; s++) {
                positions[b * sequence + s] = pastLength + s;
            }
        }
        Map<String, OnnxTensor> inputs = new HashMap<>(past);
        try (OnnxTensor idTensor = longs(ids, rows, sequence); OnnxTensor maskTensor = longs(mask, rows, total);
             OnnxTensor positionTensor = longs(positions, rows, sequence)) {
            inputs.put("input_ids", idTensor);
            inputs.put("attention_mask", maskTensor);
            inputs.put("position_ids", positionTensor);
            OrtSession.Result result = model.session.run(inputs);
            int[] lastPositions = new int[rows];
            OnnxTensor logits = (OnnxTensor) result.get("logits").get();
            java.util.Arrays.fill(lastPositions, (int) logits.getInfo().getShape()[1] - 1);
            float[][] out = logitsAt(logits, lastPositions);
            Map<String, OnnxTensor> next = new HashMap<>();
            for (int l = 0; l < model.layers; l++) {
                next.put(DecoderModel.pastKey(l), (OnnxTensor) result.get(DecoderModel.presentKey(l)).get());
                next.put(DecoderModel.pastValue(l), (OnnxTensor) result.get(DecoderModel.presentValue(l)).get());
            }
            releasePast();
            last = result;
            past = next;
            java.util.Arrays.fill(lengths, total);
            return out;
        }
    }

    @Override
    BatchRun fork(int row, int copies, int maxLength) throws OrtException {
        GrowingCacheRun fork = new GrowingCacheRun(model, copies);
        for (int l = 0; l < model.layers; l++) {
            fork.past.put(DecoderModel.pastKey(l), fork.own(tile(past.get(DecoderModel.pastKey(l)), row, copies)));
            fork.past.put(DecoderModel.pastValue(l), fork.own(tile(past.get(DecoderModel.pastValue(l)), row, copies)));
        }
        java.util.Arrays.fill(fork.lengths, lengths[row]);
        return fork;
    }

    /** copies x row {@code row} of a [B, H, P, D] tensor. */
    private OnnxTensor tile(OnnxTensor tensor, int row, int copies) throws OrtException {
        long[] shape = tensor.getInfo().getShape();
        int rowBytes = (int) (shape[1] * shape[2] * shape[3] * model.kvElementBytes());
        ByteBuffer source = tensor.getByteBuffer();
        ByteBuffer target = ByteBuffer.allocateDirect(rowBytes * copies).order(ByteOrder.nativeOrder());
        for (int c = 0; c < copies; c++) {
            target.put(source.duplicate().position(row * rowBytes).limit((row + 1) * rowBytes));
        }
        target.flip();
        return OnnxTensor.createTensor(model.env, target, new long[]{copies, shape[1], shape[2], shape[3]}, model.kvType);
    }

    private OnnxTensor empty(long[] shape) throws OrtException {
        return OnnxTensor.createTensor(model.env, ByteBuffer.allocateDirect(0), shape,
                model.kvType == OnnxJavaType.FLOAT16 ? OnnxJavaType.FLOAT16 : OnnxJavaType.FLOAT);
    }

    private OnnxTensor own(OnnxTensor tensor) {
        owned.add(tensor);
        return tensor;
    }

    private void releasePast() {
        if (last != null) {
            last.close();
            last = null;
        }
        closeAll(owned);
        owned.clear();
    }

    @Override
    public void close() {
        releasePast();
    }
}
