package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.Sha256;
import dev.nightshift.task.PromptTemplate;
import dev.nightshift.task.Task;
import dev.nightshift.task.TaskType;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;

/**
 * A task as executors run it: the task-layer {@link Task} (prompt with its constants bound, options, generation
 * settings, engine call and output parsing), whether to chat-wrap prompts, and the hash that identifies this prompt
 * version in results ({@code prompt_hash}).
 *
 * @param name       the task's name
 * @param task       what it does and how
 * @param chat       wrap prompts in the model's chat template
 * @param promptHash sha256 of the prompt, chat flag, task options and generation settings ({@link Task#promptHash})
 */
public record TaskSpec(String name, Task task, boolean chat, String promptHash) implements Serializable {

    /** Builds the executor form of a configured task; {@code chat} is already resolved against the model. */
    public static TaskSpec of(JobConfig.Task config, boolean chat) {
        Task task = config.definition();
        return new TaskSpec(config.name(), task, chat, task.promptHash(chat));
    }

    public TaskType type() {
        return task.type();
    }

    /** The prompt, {labels}/{fields}/{max_words} already filled in. */
    public PromptTemplate template() {
        return task.template();
    }

    public GenerationOptions generation() {
        return task.generation();
    }

    public List<String> labels() {
        return task.labels();
    }

    public List<String> fields() {
        return task.fields();
    }

    public int maxWords() {
        return task.maxWords();
    }

    /** The row's input hash: changes exactly when the prompt text, the task or the model changes. */
    public String inputHash(String prompt, String modelFingerprint) {
        return Sha256.hexOfParts("input-v1", promptHash, prompt, modelFingerprint);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s (%s)", name, type().id());
    }
}
