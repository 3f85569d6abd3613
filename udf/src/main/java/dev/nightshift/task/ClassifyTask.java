package dev.nightshift.task;

import dev.nightshift.engine.ErrorCode;
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
    /** The default prompt of a task with examples (they go before the text, each ending as a row's answer does). */
    static final String DEFAULT_PROMPT_WITH_EXAMPLES =
            "Classify the following text as one of: {labels}.\n\n{examples}Text: {text}\nAnswer:";
    static final String EXAMPLES_PLACEHOLDER = "examples";
    static final int DEFAULT_MAX_NEW_TOKENS = 1;

    private final List<String> labels;
    private final ClassifyOptions options;
    private final boolean calibrate;
    /** With a label column: the index of the prompt part that shows the row's labels, else -1. */
    private final int labelsPart;
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    /** The measured prior per model fingerprint and chat flag; measured once per task object (per Spark partition). */
    private transient volatile Map<String, double[]> priors;

    /** @throws TaskOptionException for unusable labels (key "labels") or prompt (key "prompt") */
    public ClassifyTask(String prompt, List<String> labels, GenerationOptions generation) {
        this(prompt, labels, generation, ClassifyOptions.NONE);
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
        this(prompt, labels, generation, ClassifyOptions.calibrated(calibrate));
    }

    /**
     * @param options descriptions, examples, multi-label, a per-row label column, calibration ({@link ClassifyOptions})
     * @throws TaskOptionException naming the key of an unusable option, the labels or the prompt
     */
    public ClassifyTask(String prompt, List<String> labels, GenerationOptions generation, ClassifyOptions options) {
        super(prompt != null ? prompt : options.examples().isEmpty() ? null : DEFAULT_PROMPT_WITH_EXAMPLES, generation,
                constants(checkLabels(labels), checked(options, labels)));
        this.labels = List.copyOf(labels);
        this.options = options;
        this.calibrate = options.calibrate();
        java.util.Set<String> written = PromptTemplate.parse(prompt()).placeholders();
        if (!options.examples().isEmpty() && !written.contains(EXAMPLES_PLACEHOLDER)) {
            throw new TaskOptionException("prompt", "examples are rendered by {examples}, which the prompt does not use; "
                    + "add {examples} where they belong (before the text)");
        }
        if (options.labelColumn() != null && !written.contains(LABELS)) {
            throw new TaskOptionException("prompt", "label_column gives each row its own labels, shown by {labels}, "
                    + "which the prompt does not use; add {labels}");
        }
        labelsPart = options.labelColumn() == null ? -1 : template().placeholderIndex(LABELS);
    }

    private static ClassifyOptions checked(ClassifyOptions options, List<String> labels) {
        options.check(labels);
        return options;
    }

    /** The task's options (descriptions, examples, multi-label, label column, calibration). */
    public ClassifyOptions options() {
        return options;
    }

    /** Whether scores are contextually calibrated. */
    public boolean calibrated() {
        return calibrate;
    }

    @Override
    List<String> hashedOptions() {
        // a task without options hashes as it did before they existed
        List<String> hashed = new ArrayList<>(calibrate ? List.of(CALIBRATE) : List.of());
        hashed.addAll(options.hashed());
        return hashed;
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

    /**
     * {labels}: the labels, each with its description in parentheses when it has one (left unbound with a label column:
     * each row shows its own); {examples}: each example as {@code Text: ...\nAnswer: label\n\n}.
     */
    private static Map<String, String> constants(List<String> labels, ClassifyOptions options) {
        Map<String, String> constants = new LinkedHashMap<>();
        if (options.labelColumn() == null) {
            constants.put(LABELS, described(labels, options));
        }
        if (!options.examples().isEmpty()) {
            StringBuilder examples = new StringBuilder();
            for (ClassifyOptions.Example example : options.examples()) {
                examples.append("Text: ").append(example.text().strip()).append("\nAnswer: ").append(example.label())
                        .append("\n\n");
            }
            constants.put(EXAMPLES_PLACEHOLDER, examples.toString());
        }
        return constants;
    }

    private static String described(List<String> labels, ClassifyOptions options) {
        List<String> shown = new ArrayList<>();
        for (String label : labels) {
            String description = options.descriptions().get(label);
            shown.add(description == null ? label : label + " (" + description + ")");
        }
        return String.join(", ", shown);
    }

    @Override
    public TaskType type() {
        return TaskType.CLASSIFY;
    }

    @Override
    public Map<String, String> constants() {
        return constants(labels, options);
    }

    @Override
    public Map<String, String> placeholderColumns() {
        return options.labelColumn() == null ? Map.of() : Map.of(LABELS, options.labelColumn());
    }

    /**
     * With a label column, a row's {labels}: the column's value (a list such as {@code [a, b]}, a JSON array, or
     * {@code a, b}) as the allowed labels in configured order, shown as {@code a, b} (with descriptions).
     *
     * @throws IllegalArgumentException {@code [BAD_LABELS] ...} when the value is null, empty or names a label that is
     *                                  not configured
     */
    @Override
    public String renderValue(String placeholder, String value) {
        if (options.labelColumn() == null || !LABELS.equals(placeholder)) {
            return value;
        }
        return described(allowed(value), options);
    }

    /** The labels a row's label-column value allows, in configured order. */
    List<String> allowed(String value) {
        String column = options.labelColumn();
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(ErrorCode.BAD_LABELS.message("label_column " + column
                    + " is empty for this row; give it a subset of " + labels));
        }
        String list = value.strip();
        List<String> items = new ArrayList<>();
        if (list.startsWith("[") && list.endsWith("]")) {
            try {
                for (com.fasterxml.jackson.databind.JsonNode item : JSON.readTree(list)) {
                    items.add(item.asText());
                }
            } catch (java.io.IOException notJson) {
                // Spark's text of an array column: [a, b]
                items.addAll(List.of(list.substring(1, list.length() - 1).split(",")));
            }
        } else {
            items.addAll(List.of(list.split(",")));
        }
        java.util.Set<String> wanted = new java.util.HashSet<>();
        for (String item : items) {
            String label = item.strip();
            if (!labels.contains(label)) {
                throw new IllegalArgumentException(ErrorCode.BAD_LABELS.message("label_column " + column + " names '"
                        + label + "', which is not one of the labels " + labels));
            }
            wanted.add(label);
        }
        if (wanted.isEmpty()) {
            throw new IllegalArgumentException(ErrorCode.BAD_LABELS.message("label_column " + column
                    + " holds no labels for this row; give it a subset of " + labels));
        }
        return labels.stream().filter(wanted::contains).toList();
    }

    /**
     * The labels a row's {labels} part shows, read back exactly: the part is {@link #described} of a subset in
     * configured order, so it is matched label by label against each label's shown form (a description may hold
     * commas), backtracking where one shown form is a prefix of another.
     *
     * @throws IllegalArgumentException {@code [BAD_LABELS]} when the text is not such a list
     */
    List<String> shownLabels(String shown) {
        List<String> out = new ArrayList<>();
        if (!readShown(shown, 0, 0, out)) {
            throw new IllegalArgumentException(ErrorCode.BAD_LABELS.message("the row's labels '" + shown
                    + "' are not a list of the labels " + labels));
        }
        return out;
    }

    private boolean readShown(String shown, int at, int fromLabel, List<String> out) {
        for (int i = fromLabel; i < labels.size(); i++) {
            String form = described(List.of(labels.get(i)), options);
            if (!shown.startsWith(form, at)) {
                continue;
            }
            int end = at + form.length();
            out.add(labels.get(i));
            if (end == shown.length() || (shown.startsWith(", ", end) && readShown(shown, end + 2, i + 1, out))) {
                return true;
            }
            out.remove(out.size() - 1);
        }
        return false;
    }

    @Override
    public List<String> labels() {
        return labels;
    }

    /**
     * Scores every configured label for each prompt (one engine call per batch), divides out the prior when
     * calibrated, and with a label column keeps only the row's own labels (their probabilities renormalised: each
     * label's score is its own, so this is the distribution the row's set alone would get).
     */
    @Override
    public List<TaskOutput> run(TextGenerator engine, List<Prompt> prompts) {
        List<LabelScores> scores = engine.classify(prompts, labels);
        double[] prior = calibrate && !prompts.isEmpty() ? prior(engine, prompts.get(0).chat()) : null;
        List<TaskOutput> out = new ArrayList<>(scores.size());
        for (int i = 0; i < scores.size(); i++) {
            LabelScores score = scores.get(i);
            if (!score.failed() && prior != null) {
                score = calibrated(score, prior);
            }
            if (!score.failed() && labelsPart >= 0) {
                try {
                    score = restricted(score, shownLabels(prompts.get(i).parts().get(labelsPart).text()));
                } catch (IllegalArgumentException e) {
                    out.add(TaskOutput.failed(e.getMessage(), score.promptTokens(), 0, null, score.warning(), 0));
                    continue;
                }
            }
            out.add(output(score));
        }
        return out;
    }

    /** The scores of {@code allowed} alone, renormalised. */
    static LabelScores restricted(LabelScores scores, List<String> allowed) {
        double[] p = new double[allowed.size()];
        int[] tokens = new int[allowed.size()];
        double sum = 0;
        for (int j = 0; j < allowed.size(); j++) {
            int i = scores.labels().indexOf(allowed.get(j));
            p[j] = scores.probabilities()[i];
            tokens[j] = scores.answerTokens().length > i ? scores.answerTokens()[i] : 0;
            sum += p[j];
        }
        for (int j = 0; j < p.length; j++) {
            p[j] = sum > 0 ? p[j] / sum : 1.0 / p.length;
        }
        return new LabelScores(allowed, p, scores.promptTokens(), null, tokens, scores.warning());
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
            // with a label column, the content-free row shows every label
            Prompt contentFree = prompt(template().renderParts(name -> name.equals(LABELS) && labelsPart >= 0
                    ? described(labels, options) : CONTENT_FREE), chat);
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
                null, scores.warning(), 0, TaskOutput.Details.classify(all, chosen(scores)));
    }

    /**
     * The row's labels: single-label, the best one; multi-label, every label at least {@code threshold} likely, most
     * likely first (ties in configured order), at most {@code top_k} — possibly none when no label passes.
     */
    List<String> chosen(LabelScores scores) {
        if (!options.multiLabel()) {
            return List.of(scores.bestLabel());
        }
        double[] p = scores.probabilities();
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < p.length; i++) {
            order.add(i);
        }
        order.sort((a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        List<String> out = new ArrayList<>();
        for (int i : order) {
            if ((options.threshold() != null && p[i] < options.threshold())
                    || (options.topK() != null && out.size() == options.topK())) {
                break;
            }
            out.add(scores.labels().get(i));
        }
        return out;
    }
}
