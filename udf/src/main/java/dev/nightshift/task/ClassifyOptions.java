package dev.nightshift.task;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a classify task adds to its labels: what each label means, worked examples, how many labels a row may get, a
 * per-row label set and contextual calibration. Every option is off by default, and a task that sets none keeps the
 * {@code prompt_hash} it had before the option existed.
 *
 * <p>In a job config:
 * <pre>
 * labels:
 *   - Cardiology
 *   - {name: Neurology, description: the brain, nerves and spine}
 * examples:                               # few-shot: rendered by {examples}, in this order
 *   - {text: "Chest pain on exertion.", label: Cardiology}
 * multi_label: {threshold: 0.3, top_k: 3} # labels column: every label at least this likely, the 3 best at most
 * label_column: allowed                   # a source column holding each row's allowed labels (a subset)
 * calibrate: true
 * </pre>
 *
 * @param descriptions per label that has one, what it means (rendered into {labels} as {@code Label (description)})
 * @param examples     few-shot examples, rendered by the {examples} placeholder
 * @param threshold    multi-label: the least probability a label needs to be in the row's {@code labels}; null: none
 * @param topK         multi-label: the most labels a row gets; null: no limit (with a threshold) or single-label
 * @param labelColumn  the source column holding each row's allowed labels, or null: every row gets every label
 * @param calibrate    contextual calibration ({@link ClassifyTask})
 */
public record ClassifyOptions(Map<String, String> descriptions, List<Example> examples, Double threshold, Integer topK,
                              String labelColumn, boolean calibrate) implements Serializable {

    /** Config keys. */
    public static final String EXAMPLES = "examples";
    public static final String MULTI_LABEL = "multi_label";
    public static final String LABEL_COLUMN = "label_column";

    /** No option set. */
    public static final ClassifyOptions NONE = new ClassifyOptions(Map.of(), List.of(), null, null, null, false);

    /** A worked example: a text and its label. */
    public record Example(String text, String label) implements Serializable {
    }

    public ClassifyOptions {
        descriptions = descriptions == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(descriptions));
        examples = examples == null ? List.of() : List.copyOf(examples);
    }

    /** Only calibration set (or nothing). */
    public static ClassifyOptions calibrated(boolean calibrate) {
        return calibrate ? NONE.withCalibrate(true) : NONE;
    }

    public ClassifyOptions withCalibrate(boolean value) {
        return new ClassifyOptions(descriptions, examples, threshold, topK, labelColumn, value);
    }

    /** Whether a row may get more than one label ({@code multi_label} set). */
    public boolean multiLabel() {
        return threshold != null || topK != null;
    }

    /**
     * Checks the options against the task's labels.
     *
     * @throws TaskOptionException naming the key (labels, examples, multi_label, label_column) and what is wrong
     */
    void check(List<String> labels) {
        for (String label : descriptions.keySet()) {
            if (!labels.contains(label)) {
                throw new TaskOptionException(ClassifyTask.LABELS, "a description is given for '" + label
                        + "', which is not a label");
            }
        }
        for (Example example : examples) {
            if (example.text() == null || example.text().isBlank()) {
                throw new TaskOptionException(EXAMPLES, "an example has no text; each is {text: ..., label: ...}");
            }
            if (!labels.contains(example.label())) {
                throw new TaskOptionException(EXAMPLES, "example label '" + example.label() + "' is not one of the "
                        + "labels " + labels);
            }
        }
        if (threshold != null && !(threshold > 0 && threshold <= 1)) {
            throw new TaskOptionException(MULTI_LABEL, "threshold must be a probability in (0, 1], got " + threshold);
        }
        if (topK != null && (topK < 1 || topK > labels.size())) {
            throw new TaskOptionException(MULTI_LABEL, "top_k must be between 1 and the " + labels.size()
                    + " labels, got " + topK);
        }
        if (labelColumn != null) {
            if (labelColumn.isBlank()) {
                throw new TaskOptionException(LABEL_COLUMN, "label_column names no column");
            }
            for (String label : labels) {
                if (label.contains(",")) {
                    throw new TaskOptionException(LABEL_COLUMN, "label '" + label + "' contains a comma, which "
                            + "separates a row's labels in label_column; rename the label");
                }
            }
        }
    }

    /**
     * Labels as a config gives them, names or maps {@code {name, description}}: the names, in order.
     *
     * @throws TaskOptionException (key "labels") for an item that is neither
     */
    public static List<String> labelNames(List<?> items) {
        List<String> names = new ArrayList<>();
        for (Object item : items) {
            names.add(labelName(item));
        }
        return names;
    }

    /** The descriptions of labels given as maps, by name (labels given by name have none). */
    public static Map<String, String> labelDescriptions(List<?> items) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Object item : items) {
            if (item instanceof Map<?, ?> map && map.get("description") != null
                    && !String.valueOf(map.get("description")).isBlank()) {
                out.put(labelName(item), String.valueOf(map.get("description")).strip());
            }
        }
        return out;
    }

    private static String labelName(Object item) {
        if (item instanceof String || item instanceof Boolean || item instanceof Number) {
            return String.valueOf(item);   // YAML reads a label true as a boolean: it is still the word
        }
        if (item instanceof Map<?, ?> map) {
            for (Object key : map.keySet()) {
                if (!Set.of("name", "description").contains(String.valueOf(key))) {
                    throw new TaskOptionException(ClassifyTask.LABELS, "unknown key '" + key + "' in label " + map
                            + "; a label is a name or {name, description}");
                }
            }
            if (map.get("name") == null) {
                throw new TaskOptionException(ClassifyTask.LABELS, "label " + map + " has no name");
            }
            return String.valueOf(map.get("name"));
        }
        throw new TaskOptionException(ClassifyTask.LABELS, "a label must be a name or {name, description}, got " + item);
    }

    /**
     * Examples as a config gives them: maps {@code {text, label}}.
     *
     * @throws TaskOptionException (key "examples") for anything else
     */
    public static List<Example> examples(List<?> items) {
        List<Example> out = new ArrayList<>();
        for (Object item : items) {
            if (!(item instanceof Map<?, ?> map) || !Set.of("text", "label").containsAll(
                    map.keySet().stream().map(String::valueOf).toList()) || map.get("label") == null) {
                throw new TaskOptionException(EXAMPLES, "an example must be {text: ..., label: ...}, got " + item);
            }
            out.add(new Example(map.get("text") == null ? null : String.valueOf(map.get("text")),
                    String.valueOf(map.get("label"))));
        }
        return out;
    }

    /** The options as the prompt hash sees them; empty when none is set (calibration is hashed on its own). */
    List<String> hashed() {
        List<String> out = new ArrayList<>();
        descriptions.forEach((label, text) -> out.add("description:" + label + "=" + text));
        examples.forEach(e -> out.add("example:" + e.label() + "=" + e.text()));
        if (threshold != null) {
            out.add("threshold=" + threshold);
        }
        if (topK != null) {
            out.add("top_k=" + topK);
        }
        if (labelColumn != null) {
            out.add("label_column=" + labelColumn);
        }
        return out;
    }
}
