package dev.nightshift.engine;

import java.io.Serializable;
import java.util.Locale;

/**
 * How the engine runs a model.
 *
 * @param provider         "cpu" or "cuda"
 * @param deviceId         CUDA device
 * @param requireGpu       fail instead of falling back to CPU when CUDA is unavailable
 * @param intraOpThreads   ONNX Runtime threads per run; 0 = the cores available to this JVM
 * @param kvBudgetBytes    KV-cache bytes one batch may use; batches are sized by it
 * @param maxBatchSize     upper bound on rows per batch (slots of a continuous batch)
 * @param continuousBatching generation keeps its batch full: a finished row's slot takes the next waiting row
 *                         (GroupQueryAttention graphs; graphs with position_ids always run shrinking batches, see
 *                         {@link GenerationLoop}). Off: each planned batch runs until its last row stops. Default on:
 *                         the same tokens, and faster whenever output lengths differ (docs/benchmarks.md)
 * @param kvCache          where a GroupQueryAttention graph's KV cache lives: {@code host} (direct buffers in the JVM,
 *                         the default) or {@code device} (memory of the provider's device, allocated through ONNX
 *                         Runtime's C API: on CUDA the cache then stays on the GPU instead of crossing PCIe twice per
 *                         generated token; on CPU it is ONNX Runtime's CPU allocator, with identical results)
 *
 * <p>Serializable so that a Spark job can ship it to executors inside its tasks as it is (no mirror record).
 */
public record EngineOptions(String provider, int deviceId, boolean requireGpu, int intraOpThreads,
                            long kvBudgetBytes, int maxBatchSize, boolean continuousBatching, String kvCache)
        implements Serializable {

    /** {@link #kvCache}: direct buffers in the JVM's process. */
    public static final String KV_HOST = "host";
    /** {@link #kvCache}: memory of the session's device. */
    public static final String KV_DEVICE = "device";

    /** Continuous batching on, KV cache in host memory. */
    public EngineOptions(String provider, int deviceId, boolean requireGpu, int intraOpThreads, long kvBudgetBytes, int maxBatchSize) {
        this(provider, deviceId, requireGpu, intraOpThreads, kvBudgetBytes, maxBatchSize, true);
    }

    /** KV cache in host memory. */
    public EngineOptions(String provider, int deviceId, boolean requireGpu, int intraOpThreads, long kvBudgetBytes,
                         int maxBatchSize, boolean continuousBatching) {
        this(provider, deviceId, requireGpu, intraOpThreads, kvBudgetBytes, maxBatchSize, continuousBatching, KV_HOST);
    }

    public EngineOptions {
        provider = provider == null ? "cpu" : provider.toLowerCase(Locale.ROOT);
        if (!provider.equals("cpu") && !provider.equals("cuda")) {
            throw new IllegalArgumentException("provider must be cpu or cuda, got '" + provider + "'");
        }
        if (deviceId < 0) {
            throw new IllegalArgumentException("device id must not be negative, got " + deviceId);
        }
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException("threads must be 0 (all cores) or positive, got " + intraOpThreads);
        }
        if (kvBudgetBytes < 1 << 20) {
            throw new IllegalArgumentException("KV budget must be at least 1 MiB, got " + kvBudgetBytes + " bytes");
        }
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("max batch size must be at least 1, got " + maxBatchSize);
        }
        kvCache = kvCache == null ? KV_HOST : kvCache.strip().toLowerCase(Locale.ROOT);
        if (!kvCache.equals(KV_HOST) && !kvCache.equals(KV_DEVICE)) {
            throw new IllegalArgumentException("kv_cache must be host or device, got '" + kvCache + "'");
        }
    }

    /** CPU, all cores, 1 GiB of KV cache per batch, at most 64 rows, continuous batching. */
    public static EngineOptions defaults() {
        return new EngineOptions("cpu", 0, false, 0, 1L << 30, 64, true);
    }

    public EngineOptions withProvider(String value) {
        return new EngineOptions(value, deviceId, requireGpu, intraOpThreads, kvBudgetBytes, maxBatchSize, continuousBatching, kvCache);
    }

    public EngineOptions withDevice(int id, boolean required) {
        return new EngineOptions(provider, id, required, intraOpThreads, kvBudgetBytes, maxBatchSize, continuousBatching, kvCache);
    }

    public EngineOptions withThreads(int threads) {
        return new EngineOptions(provider, deviceId, requireGpu, threads, kvBudgetBytes, maxBatchSize, continuousBatching, kvCache);
    }

    public EngineOptions withKvBudget(long bytes) {
        return new EngineOptions(provider, deviceId, requireGpu, intraOpThreads, bytes, maxBatchSize, continuousBatching, kvCache);
    }

    public EngineOptions withMaxBatchSize(int rows) {
        return new EngineOptions(provider, deviceId, requireGpu, intraOpThreads, kvBudgetBytes, rows, continuousBatching, kvCache);
    }

    public EngineOptions withContinuousBatching(boolean on) {
        return new EngineOptions(provider, deviceId, requireGpu, intraOpThreads, kvBudgetBytes, maxBatchSize, on, kvCache);
    }

    /** The same options with the KV cache in {@code where}: {@link #KV_HOST} or {@link #KV_DEVICE}. */
    public EngineOptions withKvCache(String where) {
        return new EngineOptions(provider, deviceId, requireGpu, intraOpThreads, kvBudgetBytes, maxBatchSize, continuousBatching, where);
    }

    public int threads() {
        return intraOpThreads > 0 ? intraOpThreads : Runtime.getRuntime().availableProcessors();
    }
}
