package dev.nightshift.engine;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;

/**
 * Where a {@link SharedKvCache} keeps its keys and values, and how bytes move between them: {@link HostKvMemory} (direct
 * buffers in the JVM's process, the default) or {@link DeviceKvMemory} (memory of the session's own device, allocated
 * by ONNX Runtime, so that with CUDA the cache never crosses PCIe: only the logits come back per step).
 *
 * <p>The cache asks for one block per layer and per keys/values, views rows of a block as tensors without copying, and
 * copies position ranges between blocks (prefix reuse, label-scoring forks, compaction, continuous batching's refills).
 */
interface KvMemory extends AutoCloseable {

    /** Where the memory is, for people: {@code host}, {@code device cpu:0}, {@code device cuda:1}. */
    String where();

    /** A block of {@code bytes} bytes, contents undefined. */
    Block allocate(long bytes);

    /** Frees what this memory holds beyond its blocks (an allocator); blocks are closed by their owner first. */
    @Override
    void close();

    /** One allocation. */
    interface Block extends AutoCloseable {

        /**
         * A tensor of {@code shape} over bytes {@code [offset, offset + elements x element size)} of this block, sharing
         * its memory: ONNX Runtime reads and writes the block itself. The caller closes the tensor.
         */
        OnnxTensor tensor(long offset, long[] shape, OnnxJavaType type) throws OrtException;

        /** Copies {@code bytes} bytes at {@code from} in this block to {@code to} in {@code target}, a block of the same memory. */
        void copyTo(long from, Block target, long to, long bytes);

        /** Frees the block; its tensors must be closed and unused by then. */
        @Override
        void close();
    }
}
