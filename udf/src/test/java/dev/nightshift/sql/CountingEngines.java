package dev.nightshift.sql;

import dev.nightshift.engine.EngineFactory;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.LabelScores;
import dev.nightshift.engine.LlmEngine;
import dev.nightshift.engine.ModelInfo;
import dev.nightshift.engine.ModelSettings;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The ONNX Runtime engine with a record of every batch the SQL functions hand it (local Spark: one JVM), named by
 * {@code spark.nightshift.engine.factory} in tests.
 */
public final class CountingEngines implements EngineFactory {

    /** Sizes of the batches given to {@code generate} and {@code classify}, in order. */
    static final List<Integer> GENERATE_BATCHES = Collections.synchronizedList(new ArrayList<>());
    static final List<Integer> CLASSIFY_BATCHES = Collections.synchronizedList(new ArrayList<>());

    static void reset() {
        GENERATE_BATCHES.clear();
        CLASSIFY_BATCHES.clear();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof CountingEngines;
    }

    @Override
    public int hashCode() {
        return 1;
    }

    @Override
    public TextGenerator open(ModelSettings model) throws IOException {
        LlmEngine engine = LlmEngine.open(Path.of(model.path()), model.engineOptions());
        return new TextGenerator() {
            @Override
            public List<GenerationResult> generate(List<Prompt> prompts) {
                GENERATE_BATCHES.add(prompts.size());
                return engine.generate(prompts);
            }

            @Override
            public List<LabelScores> classify(List<Prompt> prompts, List<String> labels) {
                CLASSIFY_BATCHES.add(prompts.size());
                return engine.classify(prompts, labels);
            }

            @Override
            public ModelInfo model() {
                return engine.model();
            }

            @Override
            public int countTokens(String text) {
                return engine.countTokens(text);
            }

            @Override
            public int[] tokenStarts(String text) {
                return engine.tokenStarts(text);
            }

            @Override
            public int promptTokens(Prompt prompt) {
                return engine.promptTokens(prompt);
            }

            @Override
            public void close() {
                engine.close();
            }
        };
    }
}
