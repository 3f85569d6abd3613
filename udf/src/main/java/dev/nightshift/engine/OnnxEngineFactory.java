package dev.nightshift.engine;

import java.io.IOException;
import java.nio.file.Path;

/** The one place that opens {@link LlmEngine}. A record, so every deserialized copy finds the same engine. */
public record OnnxEngineFactory() implements EngineFactory {

    @Override
    public TextGenerator open(ModelSettings model) throws IOException {
        return LlmEngine.open(Path.of(model.path()), model.engineOptions());
    }
}
