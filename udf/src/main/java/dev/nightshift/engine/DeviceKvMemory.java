package dev.nightshift.engine;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;

import java.util.ArrayList;
import java.util.List;

/**
 * KV-cache memory on the session's own device, allocated by ONNX Runtime ({@link OrtCApi}: {@code CreateMemoryInfo},
 * {@code CreateAllocator}, {@code AllocatorAlloc}) and wrapped as tensors over device pointers. With the CUDA provider
 * the cache is past input and pinned present output of every run in GPU memory, so a decode step moves only the new
 * token ids and mask to the device and the [B, 1, vocab] logits back, instead of the whole cache both ways
 * ({@code docs/gpu.md} has the bytes per step).
 *
 * <p>On the CPU provider the same calls give ONNX Runtime's CPU allocator: the path every test runs (the tensors, their
 * offsets and the C API slots are the same; only the copy between blocks differs: {@code memcpy} here,
 * {@code cudaMemcpy} on a GPU).
 */
final class DeviceKvMemory implements KvMemory {

    private static final int CUDA_MEMCPY_DEVICE_TO_DEVICE = 3;

    private final OrtCApi api;
    private final boolean cuda;
    private final Pointer memoryInfo;
    private final Pointer allocator;
    private final String where;

    /**
     * @param session  the session whose device allocator to use
     * @param provider "cpu" or "cuda": the provider the session actually runs on
     * @param deviceId the CUDA device (ignored on CPU)
     * @throws IllegalStateException when the C API cannot be reached or refuses (its message names the version)
     */
    DeviceKvMemory(OrtSession session, String provider, int deviceId) {
        this.api = OrtCApi.get();
        this.cuda = provider.equals("cuda");
        this.memoryInfo = api.memoryInfo(cuda ? "Cuda" : "Cpu", cuda ? deviceId : 0);
        Pointer created;
        try {
            created = api.allocator(session, memoryInfo);
        } catch (RuntimeException e) {
            api.releaseMemoryInfo(memoryInfo);
            throw e;
        }
        this.allocator = created;
        this.where = EngineOptions.KV_DEVICE + " " + (cuda ? "cuda:" + deviceId : "cpu:0");
    }

    @Override
    public String where() {
        return where;
    }

    @Override
    public Block allocate(long bytes) {
        return new DeviceBlock(api.allocate(allocator, bytes), bytes);
    }

    @Override
    public void close() {
        api.releaseAllocator(allocator);
        api.releaseMemoryInfo(memoryInfo);
    }

    private final class DeviceBlock implements Block {
        private Pointer data;
        private final long bytes;

        DeviceBlock(Pointer data, long bytes) {
            this.data = data;
            this.bytes = bytes;
        }

        @Override
        public OnnxTensor tensor(long offset, long[] shape, OnnxJavaType type) {
            return api.tensor(memoryInfo, data.share(offset), shape, type);
        }

        @Override
        public void copyTo(long from, Block target, long to, long count) {
            DeviceBlock other = (DeviceBlock) target;
            if (from + count > bytes || to + count > other.bytes) {
                throw new IndexOutOfBoundsException("KV copy of " + count + " bytes outside its blocks");
            }
            if (cuda) {
                Cuda.copy(other.data.share(to), data.share(from), count);
            } else {
                other.data.getByteBuffer(to, count).put(data.getByteBuffer(from, count));
            }
        }

        @Override
        public void close() {
            if (data != null) {
                api.free(allocator, data);
                data = null;
            }
        }
    }

    /** The CUDA runtime's device-to-device copy; loaded only when a CUDA cache copies (never in CPU-only tests). */
    private static final class Cuda {
        private static final Function MEMCPY = runtime().getFunction("cudaMemcpy");

        /** libcudart as installed: the unversioned link exists only with CUDA's development files. */
        private static NativeLibrary runtime() {
            List<String> tried = new ArrayList<>();
            for (String name : List.of("cudart", "libcudart.so.12", "libcudart.so.13", "libcudart.so.11.0")) {
                try {
                    return NativeLibrary.getInstance(name);
                } catch (UnsatisfiedLinkError e) {
                    tried.add(name);
                }
            }
            throw new IllegalStateException("the device KV cache copies with the CUDA runtime, but none of " + tried
                    + " loads; install the CUDA runtime ONNX Runtime's CUDA provider needs (docs/gpu.md) or use kv_cache host");
        }

        static void copy(Pointer target, Pointer source, long bytes) {
            int error = MEMCPY.invokeInt(new Object[]{target, source, new NativeLong(bytes), CUDA_MEMCPY_DEVICE_TO_DEVICE});
            if (error != 0) {
                throw new IllegalStateException("cudaMemcpy of the KV cache failed with CUDA error " + error);
            }
        }
    }
}
