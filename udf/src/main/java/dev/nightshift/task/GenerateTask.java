package dev.nightshift.task;

import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Free text from the user's own prompt: the engine's {@code generate}, its text passed through unchanged. */
public final class GenerateTask extends Task {

    static final List<String> OPTION_KEYS = List.of();
    /** None: a generate task's prompt is required. */
    static final String DEFAULT_PROMPT = null;
    static final int DEFAULT_MAX_NEW_TOKENS = 128;

    /** @throws TaskOptionException (key "prompt") when the prompt is missing or does not parse */
    public GenerateTask(String prompt, GenerationOptions generation) {
        super(prompt, generation, Map.of());
    }

    @Override
    public TaskType type() {
        return TaskType.GENERATE;
    }

    @Override
    public Map<String, String> constants() {
        return Map.of();
    }

    @Override
    public List<TaskOutput> run(TextGenerator engine, List<Prompt> prompts) {
        return generate(engine, prompts, this::output);
    }

    /** The engine's result as this task's output: the text as generated. */
    public TaskOutput output(GenerationResult result) {
        return generated(result);
    }

    /** The text as generated; a failed row keeps the engine's error and warning. */
    static TaskOutput generated(GenerationResult result) {
        long nanos = result.firstTokenNanos() + result.decodeNanos();
        if (result.failed()) {
            return TaskOutput.failed(result.error(), result.promptTokens(), 0, null, result.warning(), nanos);
        }
        return new TaskOutput(result.text(), null, null, null, result.promptTokens(), result.generatedTokens(),
                finishReason(result), null, result.warning(), nanos);
    }

    static String finishReason(GenerationResult result) {
        return result.finishReason().name().toLowerCase(Locale.ROOT);
    }

    /** Runs {@code generate} and maps each result (shared by the kinds that generate text). */
    static List<TaskOutput> generate(TextGenerator engine, List<Prompt> prompts,
                                     java.util.function.Function<GenerationResult, TaskOutput> output) {
        List<GenerationResult> results = engine.generate(prompts);
        List<TaskOutput> out = new ArrayList<>(results.size());
        for (GenerationResult result : results) {
            out.add(output.apply(result));
        }
        return out;
    }
}
