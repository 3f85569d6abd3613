package dev.nightshift.engine;

import java.io.IOException;
import java.io.Serializable;

/**
 * Opens the engine for a model folder. Travels to executors with the tasks, so it carries configuration only;
 * {@link EngineHolder} calls it at most once per JVM and model. Tests substitute a deterministic fake.
 */
@FunctionalInterface
public interface EngineFactory extends Serializable {

    /**
     * Opens an engine.
     *
     * @throws IllegalArgumentException or IOException with a clear message when the folder is not a usable model
     */
    TextGenerator open(ModelSettings model) throws IOException;

    /** The ONNX Runtime engine ({@code dev.nightshift.engine.LlmEngine}). */
    static EngineFactory onnx() {
        return new OnnxEngineFactory();
    }
}
