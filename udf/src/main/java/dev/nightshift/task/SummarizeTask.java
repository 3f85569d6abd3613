package dev.nightshift.task;

import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.OverflowPolicy;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;

import java.util.List;
import java.util.Map;

/** Free text cut to {@code max_words} words: the engine's {@code generate}, then the cut (with a warning when made). */
public final class SummarizeTask extends Task {

    /** Config key of the word limit. */
    public static final String MAX_WORDS = "max_words";
    static final List<String> OPTION_KEYS = List.of(MAX_WORDS);
    static final String DEFAULT_PROMPT = "Summarize the following text in at most {max_words} words.\n\n{text}\n\nSummary:";
    static final int DEFAULT_MAX_NEW_TOKENS = 96;
    static final int DEFAULT_MAX_WORDS = 60;

    private final int maxWords;

    /**
     * @param maxWords the longest summary in words (0 = no limit)
     * @throws TaskOptionException for a negative word limit (key "max_words") or an unusable prompt (key "prompt")
     */
    public SummarizeTask(String prompt, int maxWords, GenerationOptions generation) {
        super(prompt, generation, constants(checkMaxWords(maxWords)));
        this.maxWords = maxWords;
    }

    static int checkMaxWords(int maxWords) {
        if (maxWords < 0) {
            throw new TaskOptionException(MAX_WORDS, "max_words must be 0 (no limit) or positive, got " + maxWords);
        }
        return maxWords;
    }

    private static Map<String, String> constants(int maxWords) {
        return Map.of("max_words", maxWords > 0 ? Integer.toString(maxWords) : "a few");
    }

    @Override
    public TaskType type() {
        return TaskType.SUMMARIZE;
    }

    @Override
    public Map<String, String> constants() {
        return constants(maxWords);
    }

    @Override
    public int maxWords() {
        return maxWords;
    }

    @Override
    public List<TaskOutput> run(TextGenerator engine, List<Prompt> prompts) {
        if (generation().overflow() == OverflowPolicy.MAP_REDUCE) {
            return new MapReduceSummary(this, engine).run(prompts);
        }
        return GenerateTask.generate(engine, prompts, this::output);
    }

    /**
     * The generated text cut to {@code max_words}; the cut is a warning beside the engine's own. A summary made in one
     * call is one chunk at depth 1.
     */
    public TaskOutput output(GenerationResult result) {
        TaskOutput generated = GenerateTask.generated(result);
        if (generated.failed()) {
            return generated;
        }
        Trimmed trimmed = summary(generated.output(), maxWords);
        return generated.parsed(trimmed.text(), null, trimmed.warning()).withDetails(TaskOutput.Details.summary(1, 1));
    }

    /**
     * A summary: surrounding whitespace removed and, when the model overran {@code maxWords} (0 = no limit), cut at the
     * last sentence end within the limit, so the summary ends with a whole sentence; when no sentence ends in the
     * second half of the limit (one long sentence), cut at the limit's last word instead. The warning says which.
     */
    public static Trimmed summary(String text, int maxWords) {
        String stripped = text == null ? "" : text.strip();
        if (maxWords <= 0 || stripped.isEmpty()) {
            return new Trimmed(stripped, null);
        }
        String[] words = stripped.split("\\s+");
        if (words.length <= maxWords) {
            return new Trimmed(stripped, null);
        }
        for (int end = maxWords; end > maxWords / 2; end--) {
            if (SENTENCE_END.matcher(words[end - 1]).find()) {
                return new Trimmed(String.join(" ", List.of(words).subList(0, end)), "summary cut from " + words.length
                        + " to " + end + " words at the last sentence end within max_words (" + maxWords + ")");
            }
        }
        return new Trimmed(String.join(" ", List.of(words).subList(0, maxWords)),
                "summary cut from " + words.length + " to " + maxWords + " words (max_words)");
    }

    /** A word that ends a sentence: . ! ? (or their full-width forms), possibly followed by closing quotes or brackets. */
    private static final java.util.regex.Pattern SENTENCE_END = java.util.regex.Pattern.compile("[.!?。！？…][\"'”’)\\]]*$");

    /** A text after cleanup, and a note when something was changed. */
    public record Trimmed(String text, String warning) {
    }
}
