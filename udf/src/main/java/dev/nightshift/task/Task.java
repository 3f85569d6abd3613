package dev.nightshift.task;

import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.OverflowPolicy;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One kind of work a model does for each row: its options and their defaults, its prompt (with the kind's constants
 * such as {labels} bound), how it calls the engine, and how it turns the engine's answer into a {@link TaskOutput}.
 * The nightly job, the SQL functions and eval all run rows through a task, so they give the same answers.
 *
 * <p>Tasks are immutable and serializable (they travel to Spark executors); they never need Spark.
 */
public abstract sealed class Task implements Serializable
        permits SummarizeTask, ClassifyTask, ExtractTask, GenerateTask {

    private final String prompt;
    private final PromptTemplate template;
    private final GenerationOptions generation;

    /**
     * @param prompt     the prompt as written (null: the kind's default)
     * @param generation decoding settings
     * @throws TaskOptionException (key "prompt") when the prompt does not parse or is missing where required
     */
    Task(String prompt, GenerationOptions generation, Map<String, String> constants) {
        if (generation == null) {
            throw new IllegalArgumentException("generation options are required");
        }
        String written = prompt != null ? prompt : type().defaultPrompt();
        if (written == null) {
            throw new TaskOptionException("prompt", type().id() + " tasks need a prompt");
        }
        try {
            this.template = PromptTemplate.parse(written).bind(constants);
        } catch (IllegalArgumentException e) {
            throw new TaskOptionException("prompt", e.getMessage());
        }
        if (generation.overflow() == OverflowPolicy.MAP_REDUCE && type() != TaskType.SUMMARIZE) {
            throw new TaskOptionException(OVERFLOW_KEY, overflowMisuse(type()));
        }
        this.prompt = written;
        this.generation = generation;
    }

    /** The config key of the overflow policy, relative to a task. */
    public static final String OVERFLOW_KEY = "generation.overflow";

    /** Why {@code map_reduce} is refused for a kind other than summarize, and what to use instead. */
    public static String overflowMisuse(TaskType type) {
        return "map_reduce applies to summarize tasks only; a " + type.id() + " task takes error, truncate_head or "
                + "truncate_middle";
    }

    /** The kind of this task. */
    public abstract TaskType type();

    /** The prompt as written (with its placeholders). */
    public final String prompt() {
        return prompt;
    }

    /** The prompt with this task's constants bound; column placeholders remain. */
    public final PromptTemplate template() {
        return template;
    }

    public final GenerationOptions generation() {
        return generation;
    }

    /** The constants this kind's prompts may use ({labels}, {fields}, {max_words}), by placeholder name. */
    public abstract Map<String, String> constants();

    /**
     * Placeholders this task fills from a source column of another name (classify's {labels} from its
     * {@code label_column}), by placeholder; empty for most tasks.
     */
    public Map<String, String> placeholderColumns() {
        return Map.of();
    }

    /**
     * A row's value for a placeholder as the prompt shows it (the column's value unchanged for most placeholders).
     *
     * @param value the column's value, or null
     * @throws IllegalArgumentException {@code "[CODE] message"} when the value makes the row unusable (it becomes an
     *                                  error row; the model never sees it)
     */
    public String renderValue(String placeholder, String value) {
        return value;
    }

    /**
     * Checks the prompt's placeholders against what fills them: each is a row value the caller provides, one of this
     * task's constants or a placeholder it fills from another column; and {text} is used.
     *
     * @param rowValues placeholders the caller fills from each row (source columns; a SQL call: {@code text})
     * @param hint      what to do instead of an unknown placeholder, appended to its message in parentheses
     * @throws TaskOptionException (key "prompt") naming the placeholder and what is usable
     */
    public final void checkPlaceholders(java.util.Set<String> rowValues, String hint) {
        java.util.Set<String> constants = constants().keySet();
        java.util.Set<String> placeholders = PromptTemplate.parse(prompt).placeholders();
        for (String placeholder : placeholders) {
            if (!rowValues.contains(placeholder) && !constants.contains(placeholder)
                    && !placeholderColumns().containsKey(placeholder)) {
                java.util.Set<String> usable = new java.util.TreeSet<>(rowValues);
                usable.addAll(constants);
                throw new TaskOptionException("prompt", "unknown placeholder {" + placeholder + "}; usable here: "
                        + usable.stream().map(n -> "{" + n + "}").toList() + " (" + hint + ")");
            }
        }
        if (!placeholders.contains("text")) {
            throw new TaskOptionException("prompt", "the prompt never uses {text}, so every row would get the same "
                    + "answer");
        }
    }

    /** Classify: the candidate labels; other kinds: empty. */
    public List<String> labels() {
        return List.of();
    }

    /** Extract: the field names; other kinds: empty. */
    public List<String> fields() {
        return List.of();
    }

    /** Options added after hashes were first pinned, as the prompt hash sees them; empty leaves the hash as it was. */
    List<String> hashedOptions() {
        return List.of();
    }

    /** The fields as the prompt hash sees them: their names, or what a typed field adds to its name. */
    List<String> hashedFields() {
        return fields();
    }

    /** Summarize: the word limit (0 = none); other kinds: 0. */
    public int maxWords() {
        return 0;
    }

    /** The engine prompt for one row, from the texts {@link PromptTemplate#renderParts} gave for it. */
    public final Prompt prompt(List<String> parts, boolean chat) {
        return template.prompt(parts, chat, generation);
    }

    /**
     * Runs a batch of this task's prompts: one output per prompt, in order. Per-row problems come back as failed
     * outputs; an exception means the engine failed for the whole batch.
     */
    public abstract List<TaskOutput> run(TextGenerator engine, List<Prompt> prompts);

    /**
     * {@link #run}, with an engine failure confined to this batch: when the engine throws (it promises per-row
     * errors, so this is a defect or a lost device), every prompt gets a failed output with {@code ENGINE_FAILURE}.
     * What the nightly job and the SQL functions call.
     */
    public final List<TaskOutput> runConfined(TextGenerator engine, List<Prompt> prompts) {
        try {
            return run(engine, prompts);
        } catch (RuntimeException e) {
            String error = dev.nightshift.engine.ErrorCode.ENGINE_FAILURE.message("engine failed: "
                    + dev.nightshift.engine.Reason.withKind(e));
            List<TaskOutput> failed = new java.util.ArrayList<>(prompts.size());
            for (int i = 0; i < prompts.size(); i++) {
                failed.add(TaskOutput.failed(error, 0, 0, null, null, 0));
            }
            return failed;
        }
    }

    /**
     * The hash that identifies this prompt version in results ({@code prompt_hash}): the kind, the prompt as written,
     * the chat flag, the options and the generation settings. Its value must never change for the same config: it is
     * the key of incremental runs.
     */
    public final String promptHash(boolean chat) {
        List<String> parts = new java.util.ArrayList<>(List.of("task-v1", type().id(), prompt, Boolean.toString(chat),
                Hashes.canonicalList(labels()), Hashes.canonicalList(hashedFields()), Integer.toString(maxWords()),
                canonical(generation)));
        if (!hashedOptions().isEmpty()) {
            parts.add("options=" + Hashes.canonicalList(hashedOptions()));
        }
        return dev.nightshift.engine.Sha256.hexOfParts(parts.toArray(String[]::new));
    }

    /** A stable text form of generation settings for hashing (ignore_eos is not a task setting and is left out). */
    public static String canonical(GenerationOptions g) {
        OverflowPolicy overflow = g.overflow();
        return String.format(Locale.ROOT, "max_new_tokens=%d;temperature=%s;top_k=%d;top_p=%s;repetition_penalty=%s;"
                        + "seed=%d;stop=%s;overflow=%s", g.maxNewTokens(), g.temperature(), g.topK(), g.topP(),
                g.repetitionPenalty(), g.seed(), Hashes.canonicalList(g.stopStrings()), overflow.name());
    }

    @Override
    public String toString() {
        return type().id() + ": " + prompt;
    }
}
