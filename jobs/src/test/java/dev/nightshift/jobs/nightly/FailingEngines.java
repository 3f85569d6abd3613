package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.EngineFactory;
import dev.nightshift.engine.ModelSettings;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.LabelScores;
import dev.nightshift.engine.ModelInfo;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The real engine with injected per-row failures: prompts whose hash is a multiple of {@code every} fail the way
 * the engine reports failures (a result with an error); the rest run through the real engine.
 */
record FailingEngines(EngineFactory delegate, int every) implements EngineFactory {

    static boolean fails(String prompt, int every) {
        return Math.floorMod(prompt.hashCode(), every) == 0;
    }

    @Override
    public TextGenerator open(ModelSettings model) throws IOException {
        TextGenerator engine = delegate.open(model);
        return new TextGenerator() {
            @Override
            public List<GenerationResult> generate(List<Prompt> prompts) {
                List<GenerationResult> real = engine.generate(prompts);
                List<GenerationResult> out = new ArrayList<>();
                for (int i = 0; i < prompts.size(); i++) {
                    out.add(fails(prompts.get(i).text(), every) ? GenerationResult.failed("injected failure", 0) : real.get(i));
                }
                return out;
            }

            @Override
            public List<LabelScores> classify(List<Prompt> prompts, List<String> labels) {
                List<LabelScores> real = engine.classify(prompts, labels);
                List<LabelScores> out = new ArrayList<>();
                for (int i = 0; i < prompts.size(); i++) {
                    out.add(fails(prompts.get(i).text(), every)
                            ? new LabelScores(labels, new double[0], 0, "injected failure") : real.get(i));
                }
                return out;
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
            public void close() {
                engine.close();
            }
        };
    }
}
