package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.EngineOptions;

import java.io.Serializable;

/**
 * How executors open the model: the folder and the engine options, in a form that travels with tasks.
 *
 * @param path          the model folder as executors see it
 * @param provider      cpu or cuda
 * @param threads       ONNX Runtime threads; 0 = all cores
 * @param kvBudgetBytes KV-cache bytes per engine batch
 * @param maxBatchRows  most rows per engine batch
 */
public record ModelSettings(String path, String provider, int threads, long kvBudgetBytes, int maxBatchRows)
        implements Serializable {

    public ModelSettings {
        options(provider, threads, kvBudgetBytes, maxBatchRows);
    }

    public EngineOptions engineOptions() {
        return options(provider, threads, kvBudgetBytes, maxBatchRows);
    }

    private static EngineOptions options(String provider, int threads, long kvBudgetBytes, int maxBatchRows) {
        return EngineOptions.defaults().withProvider(provider).withThreads(threads).withKvBudget(kvBudgetBytes)
                .withMaxBatchSize(maxBatchRows);
    }
}
