package dev.nightshift.engine;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * KV-cache memory in the JVM's process: direct byte buffers, which ONNX Runtime's Java API wraps as tensors without
 * copying. A block is at most 2 GiB (a buffer's limit), which {@link SharedKvCache} checks per layer. With the CUDA
 * provider such tensors are copied to the device and back on every run; {@link DeviceKvMemory} avoids that.
 */
final class HostKvMemory implements KvMemory {

    private final OrtEnvironment env;

    HostKvMemory(OrtEnvironment env) {
        this.env = env;
    }

    @Override
    public String where() {
        return EngineOptions.KV_HOST;
    }

    @Override
    public Block allocate(long bytes) {
        return new HostBlock(ByteBuffer.allocateDirect(Math.toIntExact(bytes)).order(ByteOrder.nativeOrder()));
    }

    @Override
    public void close() {
        // direct buffers are freed by the garbage collector
    }

    private final class HostBlock implements Block {
        private final ByteBuffer buffer;

        HostBlock(ByteBuffer buffer) {
            this.buffer = buffer;
        }

        @Override
        public OnnxTensor tensor(long offset, long[] shape, OnnxJavaType type) throws OrtException {
            long bytes = type.size;
            for (long dim : shape) {
                bytes *= dim;
            }
            ByteBuffer view = slice(offset, bytes);
            return OnnxTensor.createTensor(env, view, shape, type);
        }

        @Override
        public void copyTo(long from, Block target, long to, long bytes) {
            ((HostBlock) target).slice(to, bytes).put(slice(from, bytes));
        }

        private ByteBuffer slice(long offset, long bytes) {
            return buffer.duplicate().position(Math.toIntExact(offset)).limit(Math.toIntExact(offset + bytes))
                    .slice().order(ByteOrder.nativeOrder());
        }

        @Override
        public void close() {
            // freed with the buffer
        }
    }
}
