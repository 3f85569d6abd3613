package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.EngineFactory;
import dev.nightshift.engine.ModelSettings;
import dev.nightshift.engine.FinishReason;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.LabelScores;
import dev.nightshift.engine.ModelInfo;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;
import org.apache.spark.TaskContext;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A deterministic stand-in for the engine (the fixed-logits fake of STYLE.md 14). Summaries are the prompt's last
 * words; labels are picked by a hash of the prompt; tokens are words. Prompts containing {@code failMarker} fail
 * (a per-row error, as the real engine reports them).
 */
final class FakeEngine implements TextGenerator {

    /** Prompts seen by every fake in this JVM (local mode: the test's JVM), to prove inference runs once per row. */
    static final AtomicLong PROMPTS = new AtomicLong();

    /** Thrown once to kill a task on its first attempt (an Error, so the partition code does not absorb it). */
    static final class TaskKiller extends Error {
        TaskKiller() {
            super("simulated executor failure on the first attempt");
        }
    }

    /**
     * @param failMarker        prompts containing it fail; null = none
     * @param killFirstAttempts kill every task's first attempt after its first batch (Spark then retries it)
     * @param warning           what the engine reports from opening (as a CUDA fallback does), or null
     */
    record Factory(String failMarker, boolean killFirstAttempts, String warning) implements EngineFactory {
        Factory() {
            this(null, false, null);
        }

        Factory(String failMarker, boolean killFirstAttempts) {
            this(failMarker, killFirstAttempts, null);
        }

        @Override
        public TextGenerator open(ModelSettings model) {
            return new FakeEngine(this);
        }
    }

    private final Factory factory;

    private FakeEngine(Factory factory) {
        this.factory = factory;
    }

    @Override
    public List<GenerationResult> generate(List<Prompt> prompts) {
        List<GenerationResult> results = new ArrayList<>();
        for (Prompt prompt : prompts) {
            PROMPTS.incrementAndGet();
            int promptTokens = countTokens(prompt.text());
            if (fails(prompt)) {
                results.add(GenerationResult.failed("injected failure", promptTokens));
                continue;
            }
            String[] words = prompt.text().strip().split("\\s+");
            int take = Math.min(prompt.options().maxNewTokens(), Math.min(8, words.length));
            String text = String.join(" ", List.of(words).subList(words.length - take, words.length));
            results.add(new GenerationResult(text, new int[take], promptTokens, take,
                    take == prompt.options().maxNewTokens() ? FinishReason.LENGTH : FinishReason.STOP, null, false,
                    1_000_000, 1_000_000));
        }
        killIfFirstAttempt();
        return results;
    }

    @Override
    public List<LabelScores> classify(List<Prompt> prompts, List<String> labels) {
        List<LabelScores> results = new ArrayList<>();
        for (Prompt prompt : prompts) {
            PROMPTS.incrementAndGet();
            int promptTokens = countTokens(prompt.text());
            if (fails(prompt)) {
                results.add(new LabelScores(labels, new double[0], promptTokens, "injected failure"));
                continue;
            }
            double[] probabilities = new double[labels.size()];
            int best = Math.floorMod(prompt.text().hashCode(), labels.size());
            for (int i = 0; i < probabilities.length; i++) {
                probabilities[i] = i == best ? 0.7 : 0.3 / (labels.size() - 1);
            }
            results.add(new LabelScores(labels, probabilities, promptTokens, null));
        }
        killIfFirstAttempt();
        return results;
    }

    private boolean fails(Prompt prompt) {
        return factory.failMarker() != null && prompt.text().contains(factory.failMarker());
    }

    private void killIfFirstAttempt() {
        TaskContext task = TaskContext.get();
        if (factory.killFirstAttempts() && task != null && task.attemptNumber() == 0) {
            throw new TaskKiller();
        }
    }

    @Override
    public List<String> warnings() {
        return factory.warning() == null ? List.of() : List.of(factory.warning());
    }

    @Override
    public ModelInfo model() {
        return new ModelInfo("fake", "fake-fingerprint", 4096, "fp32", "cpu");
    }

    @Override
    public int countTokens(String text) {
        String stripped = text.strip();
        return stripped.isEmpty() ? 0 : stripped.split("\\s+").length;
    }

    @Override
    public void close() {
    }
}
