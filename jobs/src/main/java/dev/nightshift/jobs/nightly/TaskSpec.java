package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.Sha256;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A task as executors run it: the prompt with its constants bound, whether to chat-wrap it, the task options and
 * the generation settings, plus the hash that identifies this prompt version in results ({@code prompt_hash}).
 *
 * @param name       the task's name
 * @param type       what it does
 * @param template   the prompt, {labels}/{fields}/{max_words} already filled in
 * @param chat       wrap prompts in the model's chat template
 * @param labels     classify: candidate labels
 * @param fields     extract: field names
 * @param maxWords   summarize: word limit (0 = none)
 * @param generation decoding settings
 * @param promptHash sha256 of the template, chat flag, task options and generation settings
 */
public record TaskSpec(String name, TaskType type, PromptTemplate template, boolean chat, List<String> labels,
                       List<String> fields, int maxWords, GenerationSettings generation, String promptHash)
        implements Serializable {

    public TaskSpec {
        labels = List.copyOf(labels);
        fields = List.copyOf(fields);
    }

    /** Builds the executor form of a configured task; {@code chat} is already resolved against the model. */
    public static TaskSpec of(JobConfig.Task task, boolean chat) {
        PromptTemplate template = PromptTemplate.parse(task.prompt()).bind(constants(task));
        String hash = Sha256.hexOfParts("task-v1", task.type().id(), task.prompt(), Boolean.toString(chat),
                Hashing.canonicalList(task.labels()), Hashing.canonicalList(task.fields()),
                Integer.toString(task.maxWords()), task.generation().canonical());
        return new TaskSpec(task.name(), task.type(), template, chat, task.labels(), task.fields(), task.maxWords(),
                task.generation(), hash);
    }

    /** The task constants a prompt may use: {labels}, {fields} and {max_words}, where the type has them. */
    public static Map<String, String> constants(JobConfig.Task task) {
        Map<String, String> constants = new LinkedHashMap<>();
        if (task.type() == TaskType.CLASSIFY) {
            constants.put("labels", String.join(", ", task.labels()));
        }
        if (task.type() == TaskType.EXTRACT) {
            constants.put("fields", String.join(", ", task.fields()));
        }
        if (task.type() == TaskType.SUMMARIZE) {
            constants.put("max_words", task.maxWords() > 0 ? Integer.toString(task.maxWords()) : "a few");
        }
        return constants;
    }

    /** The row's input hash: changes exactly when the prompt text, the task or the model changes. */
    public String inputHash(String prompt, String modelFingerprint) {
        return Sha256.hexOfParts("input-v1", promptHash, prompt, modelFingerprint);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s (%s)", name, type.id());
    }
}
