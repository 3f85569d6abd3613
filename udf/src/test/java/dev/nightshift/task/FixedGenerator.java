package dev.nightshift.task;

import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.LabelScores;
import dev.nightshift.engine.ModelInfo;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A fixed fake engine: each prompt's answer is looked up by the prompt's text. It records what it was asked, so a
 * test can tell which engine call a task made and with which labels and options.
 */
final class FixedGenerator implements TextGenerator {

    private final Map<String, GenerationResult> generated;
    private final Map<String, LabelScores> scored;
    final List<Prompt> prompts = new ArrayList<>();
    final List<String> calls = new ArrayList<>();
    List<String> labelsAsked;

    private FixedGenerator(Map<String, GenerationResult> generated, Map<String, LabelScores> scored) {
        this.generated = generated;
        this.scored = scored;
    }

    static FixedGenerator generating(Map<String, GenerationResult> answers) {
        return new FixedGenerator(answers, Map.of());
    }

    static FixedGenerator scoring(Map<String, LabelScores> answers) {
        return new FixedGenerator(Map.of(), answers);
    }

    @Override
    public List<GenerationResult> generate(List<Prompt> batch) {
        calls.add("generate");
        prompts.addAll(batch);
        return batch.stream().map(p -> answer(generated, p)).toList();
    }

    @Override
    public List<LabelScores> classify(List<Prompt> batch, List<String> labels) {
        calls.add("classify");
        labelsAsked = labels;
        prompts.addAll(batch);
        return batch.stream().map(p -> answer(scored, p)).toList();
    }

    private static <T> T answer(Map<String, T> answers, Prompt prompt) {
        T answer = answers.get(prompt.text());
        if (answer == null) {
            throw new AssertionError("no fixed answer for prompt: " + prompt.text());
        }
        return answer;
    }

    @Override
    public ModelInfo model() {
        return new ModelInfo("fixed", "fixed-fingerprint", 512, "fp32", "cpu");
    }

    @Override
    public int countTokens(String text) {
        return text.isBlank() ? 0 : text.strip().split("\\s+").length;
    }

    @Override
    public void close() {
    }
}
