package dev.nightshift.engine;

import java.util.List;

/**
 * "Here are N prompts, give me N completions": what every Nightshift task ends in. The engine
 * ({@link LlmEngine}) implements it over ONNX Runtime; Spark code depends on this interface only.
 */
public interface TextGenerator extends AutoCloseable {

    /** One result per prompt, in order. Per-row problems come back as failed results, never as exceptions. */
    List<GenerationResult> generate(List<Prompt> prompts);

    /**
     * Scores candidate labels as continuations of each prompt (the prompt is prefilled once and its
     * cache forked per label). Per-row problems come back as scores with an error.
     */
    List<LabelScores> classify(List<Prompt> prompts, List<String> labels);

    ModelInfo model();

    /** What the caller should tell the user about how the model was opened (a CUDA request that fell back to CPU). */
    default List<String> warnings() {
        return List.of();
    }

    /** Token count of a text as this model would see it (no BOS, no chat template). */
    int countTokens(String text);

    /**
     * Where each token of a document text starts (String indices, never decreasing): what the map-reduce summary's
     * chunker cuts at. The default counts white-space separated words as tokens, as the test fakes do.
     */
    default int[] tokenStarts(String text) {
        java.util.regex.Matcher word = java.util.regex.Pattern.compile("\\S+").matcher(text);
        List<Integer> starts = new java.util.ArrayList<>();
        while (word.find()) {
            starts.add(word.start());
        }
        return starts.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Tokens a prompt takes as the model sees it (chat template and BOS included, before any overflow policy), so a
     * task can tell whether it fits the context. The default counts the prompt's text.
     */
    default int promptTokens(Prompt prompt) {
        return countTokens(prompt.text());
    }

    @Override
    void close();
}
