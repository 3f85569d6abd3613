package dev.nightshift.task;

import dev.nightshift.engine.GenerationOptions;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The kinds of task, by the name a config gives them. What a kind does lives in its class ({@link SummarizeTask},
 * {@link ClassifyTask}, {@link ExtractTask}, {@link GenerateTask}); this enum only names them and hands out their
 * defaults, so that a config reader can ask before the task exists.
 */
public enum TaskType {
    /** Free text trimmed to {@code max_words}; engine {@code generate}. */
    SUMMARIZE(SummarizeTask.DEFAULT_PROMPT, SummarizeTask.DEFAULT_MAX_NEW_TOKENS, SummarizeTask.DEFAULT_MAX_WORDS,
            SummarizeTask.OPTION_KEYS),
    /** One of the configured labels with its probability; engine {@code classify}. */
    CLASSIFY(ClassifyTask.DEFAULT_PROMPT, ClassifyTask.DEFAULT_MAX_NEW_TOKENS, 0,
            ClassifyTask.OPTION_KEYS),
    /** A JSON object with the configured fields; engine {@code generate}, then a lenient JSON parse. */
    EXTRACT(ExtractTask.DEFAULT_PROMPT, ExtractTask.DEFAULT_MAX_NEW_TOKENS, 0,
            ExtractTask.OPTION_KEYS),
    /** Free text; engine {@code generate}. */
    GENERATE(GenerateTask.DEFAULT_PROMPT, GenerateTask.DEFAULT_MAX_NEW_TOKENS, 0,
            GenerateTask.OPTION_KEYS);

    /** Every task-specific option key, in the order a config reader checks them. */
    public static final List<String> OPTION_KEYS = List.of(ClassifyTask.LABELS, ExtractTask.FIELDS,
            SummarizeTask.MAX_WORDS);

    private final String defaultPrompt;
    private final int defaultMaxNewTokens;
    private final int defaultMaxWords;
    private final List<String> optionKeys;

    TaskType(String defaultPrompt, int defaultMaxNewTokens, int defaultMaxWords, List<String> optionKeys) {
        this.defaultPrompt = defaultPrompt;
        this.defaultMaxNewTokens = defaultMaxNewTokens;
        this.defaultMaxWords = defaultMaxWords;
        this.optionKeys = optionKeys;
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static TaskType parse(String text) {
        for (TaskType type : values()) {
            if (type.id().equals(text.trim().toLowerCase(Locale.ROOT))) {
                return type;
            }
        }
        throw new IllegalArgumentException("unknown task type '" + text + "'; use one of "
                + Arrays.stream(values()).map(TaskType::id).collect(Collectors.joining(", ")));
    }

    /** The default prompt, or null when the kind has none and a prompt is required (generate). */
    public String defaultPrompt() {
        return defaultPrompt;
    }

    /** {@code generation.max_new_tokens} when the config does not set it. */
    public int defaultMaxNewTokens() {
        return defaultMaxNewTokens;
    }

    /** {@code max_words} when the config does not set it (0 = no limit, or not a summarize task). */
    public int defaultMaxWords() {
        return defaultMaxWords;
    }

    /** The task-specific option keys this kind accepts (labels, fields, max_words). */
    public List<String> optionKeys() {
        return optionKeys;
    }

    /** The kind whose option {@code key} is, or null for a key no kind owns. */
    public static TaskType owning(String key) {
        for (TaskType type : values()) {
            if (type.optionKeys.contains(key)) {
                return type;
            }
        }
        return null;
    }

    /**
     * Checks this kind's own options (labels, fields, max_words) before there is a prompt, as {@link #create} does;
     * a config reader calls it to report option errors before prompt errors.
     *
     * @throws TaskOptionException naming the option that is wrong
     */
    public void checkOptions(List<String> labels, List<FieldSpec> fields, int maxWords) {
        switch (this) {
            case SUMMARIZE -> SummarizeTask.checkMaxWords(maxWords);
            case CLASSIFY -> ClassifyTask.checkLabels(labels);
            case EXTRACT -> FieldSpec.checkNames(fields);
            case GENERATE -> {
            }
        }
    }

    /**
     * Builds a task of this kind; options it does not use must be empty (labels, fields) or 0 (max words).
     *
     * @throws TaskOptionException naming the option that is wrong (labels, fields, max_words, prompt)
     */
    public Task create(String prompt, List<String> labels, List<FieldSpec> fields, int maxWords,
                       GenerationOptions generation) {
        return create(prompt, labels, fields, maxWords, false, generation);
    }

    /** As {@link #create(String, List, List, int, GenerationOptions)}, with classify's contextual calibration. */
    public Task create(String prompt, List<String> labels, List<FieldSpec> fields, int maxWords, boolean calibrate,
                       GenerationOptions generation) {
        return create(prompt, labels, fields, maxWords, ClassifyOptions.calibrated(calibrate), generation);
    }

    /**
     * As {@link #create(String, List, List, int, GenerationOptions)}, with classify's options.
     *
     * @throws TaskOptionException naming the option that is wrong, including a classify option on another kind
     */
    public Task create(String prompt, List<String> labels, List<FieldSpec> fields, int maxWords,
                       ClassifyOptions classify, GenerationOptions generation) {
        if (this != CLASSIFY && !classify.equals(ClassifyOptions.NONE)) {
            String key = classify.calibrate() ? ClassifyTask.CALIBRATE
                    : !classify.examples().isEmpty() ? ClassifyOptions.EXAMPLES
                    : classify.multiLabel() ? ClassifyOptions.MULTI_LABEL
                    : classify.labelColumn() != null ? ClassifyOptions.LABEL_COLUMN : ClassifyTask.LABELS;
            throw new TaskOptionException(key, key + " applies to classify tasks, not " + id());
        }
        return switch (this) {
            case SUMMARIZE -> new SummarizeTask(prompt, maxWords, generation);
            case CLASSIFY -> new ClassifyTask(prompt, labels, generation, classify);
            case EXTRACT -> new ExtractTask(prompt, generation, fields);
            case GENERATE -> new GenerateTask(prompt, generation);
        };
    }
}
