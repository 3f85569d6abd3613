package dev.nightshift.toolchain;

import dev.nightshift.engine.ModelFolder;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.TensorInfo;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The smallest possible batch-1 loop over a converted model, independent of the engine: each call
 * feeds new tokens on top of the growing past (non-shared buffers) and returns the last position's
 * logits. Tests use it to check the toolchain alone.
 */
public final class OnnxLlama implements AutoCloseable {

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final int layers;
    private final int kvHeads;
    private final int headDim;
    private final boolean half;
    private Map<String, OnnxTensor> past = new HashMap<>();
    private int length;

    public OnnxLlama(Path folder, int layers, int kvHeads, int headDim) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(1);
        this.session = env.createSession(folder.resolve(ModelFolder.MODEL).toString(), options);
        this.layers = layers;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.half = ((TensorInfo) session.getInputInfo().get("past_key_values.0.key").getInfo()).type == OnnxJavaType.FLOAT16;
        for (int l = 0; l < layers; l++) {
            past.put("past_key_values." + l + ".key", emptyPast());
            past.put("past_key_values." + l + ".value", emptyPast());
        }
    }

    private OnnxTensor emptyPast() throws OrtException {
        long[] shape = {1, kvHeads, 0, headDim};
        return half ? OnnxTensor.createTensor(env, ByteBuffer.allocateDirect(0), shape, OnnxJavaType.FLOAT16)
                : OnnxTensor.createTensor(env, FloatBuffer.allocate(0), shape);
    }

    /** Runs {@code tokens} after everything fed so far and returns the logits that follow the last one. */
    public float[] forward(int... tokens) throws OrtException {
        long[] ids = new long[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            ids[i] = tokens[i];
        }
        length += tokens.length;
        long[] mask = new long[length];
        java.util.Arrays.fill(mask, 1);
        Map<String, OnnxTensor> inputs = new HashMap<>(past);
        try (OnnxTensor idTensor = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[]{1, ids.length});
             OnnxTensor maskTensor = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[]{1, length})) {
            inputs.put("input_ids", idTensor);
            inputs.put("attention_mask", maskTensor);
            OrtSession.Result result = session.run(inputs);
            float[][][] logits = (float[][][]) result.get("logits").get().getValue();
            Map<String, OnnxTensor> next = new HashMap<>();
            for (int l = 0; l < layers; l++) {
                next.put("past_key_values." + l + ".key", copy(result, "present." + l + ".key"));
                next.put("past_key_values." + l + ".value", copy(result, "present." + l + ".value"));
            }
            result.close();
            closePast();
            past = next;
            return logits[0][logits[0].length - 1];
        }
    }

    private OnnxTensor copy(OrtSession.Result result, String name) throws OrtException {
        OnnxTensor tensor = (OnnxTensor) result.get(name).get();
        ByteBuffer data = tensor.getByteBuffer();
        ByteBuffer owned = ByteBuffer.allocateDirect(data.remaining()).order(ByteOrder.nativeOrder());
        owned.put(data).flip();
        return OnnxTensor.createTensor(env, owned, tensor.getInfo().getShape(), tensor.getInfo().type);
    }

    public static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    private void closePast() {
        past.values().forEach(OnnxTensor::close);
    }

    @Override
    public void close() throws OrtException {
        closePast();
        session.close();
    }
}
