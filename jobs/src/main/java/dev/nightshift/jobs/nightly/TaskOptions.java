package dev.nightshift.jobs.nightly;

import dev.nightshift.task.ClassifyOptions;
import dev.nightshift.task.FieldSpec;

import java.util.List;

/**
 * A task's settings in {@link JobBuilder}, one setter per key of a task in the YAML file ({@code prompt},
 * {@code chat}, {@code max_words}, and the {@code generation} keys). Unset settings take the task type's defaults;
 * values are checked by {@link JobBuilder#build()}, with the YAML key in the message.
 *
 * <pre>{@code
 * .summarize("tldr", o -> o.maxWords(40).maxNewTokens(64).prompt("In {max_words} words: {text}"))
 * }</pre>
 */
public final class TaskOptions {

    String prompt;
    String chat;
    /** Label names or config maps {@code {name, description}} ({@link ClassifyOptions#labelNames}). */
    List<Object> labels = List.of();
    /** Few-shot examples: {@link ClassifyOptions.Example}s or config maps {@code {text, label}}. */
    List<Object> examples = List.of();
    Double labelThreshold;
    Integer labelTopK;
    String labelColumn;
    /** Field names, {@link FieldSpec}s or config maps ({@link FieldSpec#parse}); checked when the job is built. */
    List<Object> fields = List.of();
    Integer maxWords;
    boolean calibrate;
    Integer maxNewTokens;
    Double temperature;
    Integer topK;
    Double topP;
    Double repetitionPenalty;
    Long seed;
    List<String> stop = List.of();
    String overflow;

    TaskOptions() {
    }

    /** The prompt template: {column} placeholders, {{ and }} for literal braces (default: the type's prompt). */
    public TaskOptions prompt(String value) {
        prompt = value;
        return this;
    }

    /** Wrap prompts in the model's chat template: auto (when the model has one), true or false. */
    public TaskOptions chat(String value) {
        chat = value;
        return this;
    }

    public TaskOptions chat(boolean value) {
        return chat(Boolean.toString(value));
    }

    /** Classify: the candidate labels. */
    public TaskOptions labels(List<String> value) {
        labels = List.copyOf(value);
        return this;
    }

    /** Classify: labels as a config file gives them: names, or maps of name and description. */
    public TaskOptions labelValues(List<?> value) {
        labels = new java.util.ArrayList<>(value);
        return this;
    }

    /** Classify: what a label means, rendered into {labels} as {@code Label (description)}. */
    public TaskOptions describe(String label, String description) {
        List<Object> described = new java.util.ArrayList<>();
        for (Object item : labels) {
            boolean match = item.equals(label) || (item instanceof java.util.Map<?, ?> map && label.equals(map.get("name")));
            described.add(match ? java.util.Map.of("name", label, "description", description) : item);
        }
        labels = described;
        return this;
    }

    /** Classify: a few-shot example, rendered by {examples} (in the order added). */
    public TaskOptions example(String text, String label) {
        List<Object> more = new java.util.ArrayList<>(examples);
        more.add(new ClassifyOptions.Example(text, label));
        examples = more;
        return this;
    }

    /** Classify: examples as a config file gives them, maps of text and label. */
    public TaskOptions exampleValues(List<?> value) {
        examples = new java.util.ArrayList<>(value);
        return this;
    }

    /**
     * Classify, multi-label: every label at least {@code threshold} likely (null: no threshold), at most {@code topK}
     * of them (null: no limit).
     */
    public TaskOptions multiLabel(Double threshold, Integer topK) {
        this.labelThreshold = threshold;
        this.labelTopK = topK;
        return this;
    }

    /** Classify: the source column holding each row's allowed labels (a subset of the labels). */
    public TaskOptions labelColumn(String column) {
        labelColumn = column;
        return this;
    }

    /** Extract: the JSON fields by name (each a string, number, boolean or null, as the model answers). */
    public TaskOptions fields(List<String> value) {
        fields = List.copyOf(value);
        return this;
    }

    /** Extract: typed fields; decoding is constrained to their JSON schema. */
    public TaskOptions fieldSpecs(List<FieldSpec> value) {
        fields = List.copyOf(value);
        return this;
    }

    /** Extract: fields as a config file gives them: names, or maps of name, type, description, required, values, fields. */
    public TaskOptions fieldValues(List<?> value) {
        fields = new java.util.ArrayList<>(value);
        return this;
    }

    /** Classify: contextual calibration, the content-free prior divided out of every row (off by default). */
    public TaskOptions calibrate(boolean value) {
        calibrate = value;
        return this;
    }

    /** Summarize: the longest summary in words (0 for no limit). */
    public TaskOptions maxWords(int value) {
        maxWords = value;
        return this;
    }

    public TaskOptions maxNewTokens(int value) {
        maxNewTokens = value;
        return this;
    }

    public TaskOptions temperature(double value) {
        temperature = value;
        return this;
    }

    public TaskOptions topK(int value) {
        topK = value;
        return this;
    }

    public TaskOptions topP(double value) {
        topP = value;
        return this;
    }

    public TaskOptions repetitionPenalty(double value) {
        repetitionPenalty = value;
        return this;
    }

    public TaskOptions seed(long value) {
        seed = value;
        return this;
    }

    public TaskOptions stop(List<String> value) {
        stop = List.copyOf(value);
        return this;
    }

    /** What to do with a prompt longer than the context: error (default), or truncate the document. */
    public TaskOptions overflow(String value) {
        overflow = value;
        return this;
    }
}
