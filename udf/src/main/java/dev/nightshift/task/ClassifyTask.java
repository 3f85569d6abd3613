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
    /** Config key of contextual calibration (off by default). */
    public static final String CALIBRATE = "calibrate";
    /** The content-free text whose label distribution is the prior that calibration divides out. */
    static final String CONTENT_FREE = "N/A";
    static final List<String> OPTION_KEYS = List.of(LABELS);
    static final String DEFAULT_PROMPT = "Classify the following text as one of: {labels}.\n\n{text}\n\nAnswer:";
    static final int DEFAULT_MAX_NEW_TOKENS = 1;

    private final List<String> labels;
    private final boolean calibrate;
    /** The measured prior per model fingerprint and chat flag; measured once per task object (per Spark partition). */
    private transient volatile Map<String, double[]> priors;

    /** @throws TaskOptionException for unusable labels (key "labels") or prompt (key "prompt") */
    public ClassifyTask(String prompt, List<String> labels, GenerationOptions generation) {
        this(prompt, labels, generation, false);
    }

    /**
     * @param calibrate contextual calibration (Zhao et al., "Calibrate Before Use", ICML 2021): the label
     *                  distribution the prompt gives a content-free document ({@code "N/A"} for every placeholder) is
     *                  measured once and divided out of every row's distribution, which is then renormalised. It
     *                  corrects a prompt's bias towards some labels (majority, recency, common tokens); off by
     *                  default, because it costs one extra scoring per partition and can hurt a prompt that is
     *                  already balanced
     * @throws TaskOptionException for unusable labels (key "labels") or prompt (key "prompt")
     */
    public ClassifyTask(String prompt, List<String> labels, GenerationOptions generation, boolean calibrate) {
        super(prompt, generation, constants(checkLabels(labels)));
        this.labels = List.copyOf(labels);
        this.calibrate = calibrate;
    }

    /** Whether scores are contextually calibrated. */
    public boolean calibrated() {
        return calibrate;
    }

    @Override
    List<String> hashedOptions() {
        // uncalibrated tasks hash as they did before the option existed
        return calibrate ? List.of(CALIBRATE) : List.of();
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
        double[] prior = calibrate && !prompts.isEmpty() ? prior(engine, prompts.get(0).chat()) : null;
        List<TaskOutput> out = new ArrayList<>(scores.size());
        for (LabelScores score : scores) {
            out.add(prior == null || score.failed() ? output(score) : output(calibrated(score, prior)));
        }
        return out;
    }

    /**
     * The label distribution of the content-free document under this task's prompt, for this engine's model.
     *
     * @throws IllegalStateException when the engine cannot score it (the rows' batch fails with the reason)
     */
    double[] prior(TextGenerator engine, boolean chat) {
        Map<String, double[]> known = priors;
        if (known == null) {
            synchronized (this) {
                if (priors == null) {
                    priors = new java.util.concurrent.ConcurrentHashMap<>();
                }
                known = priors;
            }
        }
        return known.computeIfAbsent(engine.model().fingerprint() + "|" + chat, key -> {
            Prompt contentFree = prompt(template().renderParts(name -> CONTENT_FREE), chat);
            LabelScores scores = engine.classify(List.of(contentFree), labels).get(0);
            if (scores.failed()) {
                throw new IllegalStateException("contextual calibration could not score the content-free prompt: "
                        + scores.error());
            }
            return scores.probabilities().clone();
        });
    }

    /** A row's distribution divided by the prior and renormalised; the answer tokens stay those of the row's label. */
    static LabelScores calibrated(LabelScores scores, double[] prior) {
        double[] p = scores.probabilities();
        double[] q = new double[p.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            q[i] = p[i] / Math.max(prior[i], 1e-12);
            sum += q[i];
        }
        for (int i = 0; i < q.length; i++) {
            q[i] /= sum;
        }
        return scores.withProbabilities(q);
    }

    /** The best label, its probability and its answer tokens; a failed row keeps the engine's error and warning. */
    public TaskOutput output(LabelScores scores) {
        if (scores.failed()) {
            return TaskOutput.failed(scores.error(), scores.promptTokens(), 0, null, scores.warning(), 0);
        }
        String label = scores.bestLabel();
        double score = scores.probabilities()[scores.best()];
        Map<String, Double> all = new LinkedHashMap<>();
        for (int i = 0; i < scores.labels().size(); i++) {
            all.put(scores.labels().get(i), scores.probabilities()[i]);
        }
        return new TaskOutput(label, label, score, null, scores.promptTokens(), scores.bestAnswerTokens(), "stop",
                null, scores.warning(), 0, TaskOutput.Details.classify(all, List.of(label)));
    }
}
