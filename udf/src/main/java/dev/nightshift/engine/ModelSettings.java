package dev.nightshift.engine;

import java.io.Serializable;
import java.util.Objects;

/**
 * How executors open the model: the folder and the engine's own {@link EngineOptions}, travelling with the tasks.
 *
 * <p>{@link EngineOptions} says how to run a model but not which one, and an executor needs both. This pair is also
 * the key under which {@link EngineHolder} shares one engine per JVM, so two jobs (or a job and a SQL query) with
 * different folders or options never share an engine.
 *
 * @param path          the model folder as executors see it
 * @param engineOptions provider, threads, KV-cache budget and batch size, as the engine takes them
 */
public record ModelSettings(String path, EngineOptions engineOptions) implements Serializable {

    public ModelSettings {
        Objects.requireNonNull(path, "model path");
        Objects.requireNonNull(engineOptions, "engine options");
    }

    /** Most rows per engine batch: how many work items of one task a partition hands the engine at once. */
    public int maxBatchRows() {
        return engineOptions.maxBatchSize();
    }
}
