package dev.nightshift.jobs.cli;

import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.LlmEngine;
import dev.nightshift.engine.OverflowPolicy;
import dev.nightshift.engine.Prompt;
import dev.nightshift.task.Task;
import dev.nightshift.task.TaskOutput;
import dev.nightshift.task.TaskType;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * {@code bench}'s task-level measurements (issue 10), each on the task classes the nightly job runs: classify by label
 * scoring against the naive way (generate a few tokens, parse the label), and the map-reduce summary of one long
 * document. Figures only; nothing here passes or fails.
 */
final class TaskBench {

    static final List<String> LABELS = List.of("billing", "refund", "shipping", "other");
    /** Tokens the naive classifier may generate: enough for any of the labels and a little punctuation. */
    static final int NAIVE_NEW_TOKENS = 4;
    private static final String[] VOCABULARY = {"the", "report", "of", "patient", "contract", "market", "price", "summary",
            "data", "review", "customer", "value", "plan", "risk", "team", "order", "service", "year", "model", "table",
            "refund", "billing", "shipping", "was", "is", "and", "to", "in"};

    private TaskBench() {
    }

    /**
     * Classifies {@code rows} documents of about {@code documentTokens} tokens with the classify task's default prompt,
     * by label scoring ({@code ClassifyTask}, one pass) and by generating {@link #NAIVE_NEW_TOKENS} greedy tokens and
     * reading the label off the text; prints docs/s for both and how many naive answers were not a label.
     */
    static void classify(LlmEngine engine, int rows, int documentTokens, PrintWriter out) {
        Task scoring = TaskType.CLASSIFY.create(null, LABELS, List.of(), 0, GenerationOptions.greedy(1));
        List<Prompt> prompts = new ArrayList<>();
        List<Prompt> naive = new ArrayList<>();
        for (int row = 0; row < rows; row++) {
            String text = document(engine, documentTokens, new Random(1000 + row), false);
            Prompt prompt = scoring.prompt(scoring.template().renderParts(name -> name.equals("text") ? text : null), false);
            prompts.add(prompt);
            naive.add(new Prompt(prompt.parts(), false, GenerationOptions.greedy(NAIVE_NEW_TOKENS)));
        }
        // unmeasured warm-up of both paths
        scoring.run(engine, prompts.subList(0, 1));
        engine.generate(naive.subList(0, 1));
        long start = System.nanoTime();
        List<TaskOutput> scored = scoring.run(engine, prompts);
        double scoringSeconds = (System.nanoTime() - start) / 1e9;
        start = System.nanoTime();
        List<GenerationResult> generated = engine.generate(naive);
        double naiveSeconds = (System.nanoTime() - start) / 1e9;
        long failed = scored.stream().filter(TaskOutput::failed).count();
        int invalid = 0;
        for (GenerationResult result : generated) {
            invalid += result.failed() || parseLabel(result.text()) == null ? 1 : 0;
        }
        out.printf(Locale.ROOT, "classify (%d documents of ~%d tokens, %d labels): label scoring %.2f docs/s (%d failed); "
                        + "naive generate %d tokens then parse %.2f docs/s, %d of %d answers (%.0f%%) not a label; "
                        + "scoring is %.2fx the naive rate%n", rows, documentTokens, LABELS.size(), rows / scoringSeconds,
                failed, NAIVE_NEW_TOKENS, rows / naiveSeconds, invalid, rows, 100.0 * invalid / rows,
                naiveSeconds / scoringSeconds);
    }

    /** The label a naive generated answer names: its first word, case and punctuation aside, if that is a label. */
    static String parseLabel(String text) {
        String[] words = text.strip().split("\\s+", 2);
        String first = words[0].replaceAll("^[\\p{Punct}]+|[\\p{Punct}]+$", "").toLowerCase(Locale.ROOT);
        return LABELS.contains(first) ? first : null;
    }

    /**
     * Summarizes one document of about {@code documentTokens} tokens (sentences and paragraphs of random words) with
     * the summarize task's default prompt and max_words, {@code maxNewTokens} per summary, under
     * {@code overflow: map_reduce}; prints chunks, depth, tokens, wall time and,
     * with a price, the cost of that time.
     */
    static void mapReduce(LlmEngine engine, int documentTokens, int maxNewTokens, double executorHourUsd,
                          PrintWriter out) {
        Task task = TaskType.SUMMARIZE.create(null, List.of(), List.of(), TaskType.SUMMARIZE.defaultMaxWords(),
                GenerationOptions.greedy(maxNewTokens).withOverflow(OverflowPolicy.MAP_REDUCE));
        String text = document(engine, documentTokens, new Random(7), true);
        int tokens = engine.countTokens(text);
        Prompt prompt = task.prompt(task.template().renderParts(name -> name.equals("text") ? text : null), false);
        long start = System.nanoTime();
        TaskOutput output = task.run(engine, List.of(prompt)).get(0);
        double seconds = (System.nanoTime() - start) / 1e9;
        if (output.failed()) {
            throw new IllegalStateException("the map-reduce summary failed: " + output.error());
        }
        String cost = executorHourUsd > 0 ? String.format(Locale.ROOT, ", $%.5f at $%.2f per executor-hour",
                seconds / 3600 * executorHourUsd, executorHourUsd) : "";
        out.printf(Locale.ROOT, "map-reduce summary of a %d-token document (context %d, max_new_tokens %d): %d chunks, "
                        + "depth %d, %d prompt + %d completion tokens, %.1f s%s; per 10k document tokens %.1f s%n", tokens,
                engine.model().contextLength(), task.generation().maxNewTokens(), output.details().summaryChunks(),
                output.details().summaryDepth(), output.promptTokens(), output.outputTokens(), seconds, cost,
                seconds * 10_000 / tokens);
    }

    /**
     * Random words that take about {@code tokens} tokens: sentences of 8 to 20 words and, when asked, paragraphs of 3 to
     * 7 sentences. Tokens are counted a sentence at a time (counting the whole text each time would be quadratic).
     */
    static String document(LlmEngine engine, int tokens, Random random, boolean paragraphs) {
        StringBuilder text = new StringBuilder();
        int counted = 0;
        int sentences = 0;
        while (counted < tokens) {
            StringBuilder sentence = new StringBuilder();
            int words = 8 + random.nextInt(13);
            for (int w = 0; w < words; w++) {
                String word = VOCABULARY[random.nextInt(VOCABULARY.length)];
                sentence.append(w == 0 ? Character.toUpperCase(word.charAt(0)) + word.substring(1) : " " + word);
            }
            sentence.append('.');
            String separator = text.isEmpty() ? "" : paragraphs && ++sentences % (3 + random.nextInt(5)) == 0 ? "\n\n" : " ";
            int cost = engine.countTokens(separator + sentence);
            if (counted + cost > tokens && !text.isEmpty()) {
                break;
            }
            text.append(separator).append(sentence);
            counted += cost;
        }
        return text.toString();
    }
}
