package dev.nightshift.task;

import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.LabelScores;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One of the configured labels with its probability: the engine scores every label as the prompt's continuation
 * ({@link TextGenerator#classify}) and the most likely one is the answer. Nothing is generated, so an answer is always
 * one of the labels.
 */
public final class ClassifyTask extends Task {

    /** Config key of the candidate labels. */
    public static final String LABELS = "labels";
    static final List<String> OPTION_KEYS = List.of(LABELS);
    static final String DEFAULT_PROMPT = "Classify the following text as one of: {labels}.\n\n{text}\n\nAnswer:";
    static final int DEFAULT_MAX_NEW_TOKENS = 1;

    private final List<String> labels;

    /** @throws TaskOptionException for unusable labels (key "labels") or prompt (key "prompt") */
    public ClassifyTask(String prompt, List<String> labels, GenerationOptions generation) {
        super(prompt, generation, constants(checkLabels(labels)));
        this.labels = List.copyOf(labels);
    }

    /** Labels must be at least two, distinct, non-blank, and still distinct once white space is trimmed. */
    static List<String> checkLabels(List<String> labels) {
        if (labels.size() < 2 || new HashSet<>(labels).size() != labels.size()
                || labels.stream().anyMatch(String::isBlank)) {
            throw new TaskOptionException(LABELS, "classify needs at least two distinct, non-empty labels, got " + labels);
        }
        // Scored after the same separator, ' Sports' and 'Sports' are one answer: the results could not tell them apart.
        Map<String, String> trimmed = new LinkedHashMap<>();
        for (String label : labels) {
            String other = trimmed.putIfAbsent(label.strip(), label);
            if (other != null) {
                throw new TaskOptionException(LABELS, "labels '" + other + "' and '" + label + "' are the same answer "
                        + "once white space is trimmed; remove one of them");
            }
        }
        return labels;
    }

    private static Map<String, String> constants(List<String> labels) {
        return Map.of("labels", String.join(", ", labels));
    }

    @Override
    public TaskType type() {
        return TaskType.CLASSIFY;
    }

    @Override
    public Map<String, String> constants() {
        return constants(labels);
    }

    @Override
    public List<String> labels() {
        return labels;
    }

    @Override
    public List<TaskOutput> run(TextGenerator engine, List<Prompt> prompts) {
        List<LabelScores> scores = engine.classify(prompts, labels);
        List<TaskOutput> out = new ArrayList<>(scores.size());
        for (LabelScores score : scores) {
            out.add(output(score));
        }
        return out;
    }

    /** The best label, its probability and its answer tokens; a failed row keeps the engine's error and warning. */
    public TaskOutput output(LabelScores scores) {
        if (scores.failed()) {
            return TaskOutput.failed(scores.error(), scores.promptTokens(), 0, null, scores.warning(), 0);
        }
        String label = scores.bestLabel();
        double score = scores.probabilities()[scores.best()];
        return new TaskOutput(label, label, score, null, scores.promptTokens(), scores.bestAnswerTokens(), "stop",
                null, scores.warning(), 0);
    }
}
