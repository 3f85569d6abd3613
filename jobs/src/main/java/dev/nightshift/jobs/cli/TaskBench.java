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
 * document; continuous against shrinking batches on summaries of varied length (issue 13). Figures only; nothing here
 * passes or fails.
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
     * Continuous against shrinking batches on a summarize-like workload: {@code rows} documents of
     * {@code documentTokens}/4 to {@code documentTokens} tokens in the summarize task's default prompt, each with its
     * own max_new_tokens drawn from {@code minNew..maxNew} and end of sequence ignored (random weights seldom stop, so
     * the drawn lengths stand for summaries that end at varied points). The same prompts go through {@code continuous}
     * and {@code shrinking} (two engines on one folder, alike but for the switch) in turn, {@code repeat} times after
     * one unmeasured warm-up each; prints the medians of rows/s and generated tokens/s with their spread, each path's
     * live rows per decode step and occupancy (live rows per row of a step) from the engines' own counts, and the
     * median of the per-repeat ratios (each pair ran back to back, so it drifts less with a shared machine's load).
     */
    static void continuousVsShrinking(LlmEngine continuous, LlmEngine shrinking, int slots, int rows, int documentTokens,
                                      int minNew, int maxNew, int repeat, PrintWriter out) {
        Task task = TaskType.SUMMARIZE.create(null, List.of(), List.of(), TaskType.SUMMARIZE.defaultMaxWords(),
                GenerationOptions.greedy(maxNew));
        Random random = new Random(2026);
        List<Prompt> prompts = new ArrayList<>();
        long newTokens = 0;
        for (int row = 0; row < rows; row++) {
            int length = Math.max(1, documentTokens / 4 + random.nextInt(documentTokens - documentTokens / 4 + 1));
            String text = document(continuous, length, new Random(3000 + row), true);
            Prompt prompt = task.prompt(task.template().renderParts(name -> name.equals("text") ? text : null), false);
            int drawn = minNew + random.nextInt(maxNew - minNew + 1);
            newTokens += drawn;
            prompts.add(new Prompt(prompt.parts(), false, GenerationOptions.greedy(drawn).withIgnoreEos(true)));
        }
        LlmEngine[] engines = {continuous, shrinking};
        double[][] rowsPerSecond = new double[2][repeat];
        double[][] tokensPerSecond = new double[2][repeat];
        dev.nightshift.engine.DecodeStats[] stats = new dev.nightshift.engine.DecodeStats[2];
        for (LlmEngine engine : engines) {
            generateAll(engine, prompts.subList(0, Math.min(slots, prompts.size())));
        }
        for (int r = 0; r < repeat; r++) {
            for (int e = 0; e < 2; e++) {
                dev.nightshift.engine.DecodeStats before = engines[e].decodeStats();
                long start = System.nanoTime();
                long generated = generateAll(engines[e], prompts);
                double seconds = (System.nanoTime() - start) / 1e9;
                dev.nightshift.engine.DecodeStats run = engines[e].decodeStats().since(before);
                stats[e] = stats[e] == null ? run : new dev.nightshift.engine.DecodeStats(stats[e].steps() + run.steps(),
                        stats[e].slotRows() + run.slotRows(), stats[e].liveRows() + run.liveRows(),
                        stats[e].refills() + run.refills(), stats[e].rowsFinished() + run.rowsFinished());
                rowsPerSecond[e][r] = rows / seconds;
                tokensPerSecond[e][r] = generated / seconds;
            }
        }
        out.printf(Locale.ROOT, "continuous vs shrinking batches (%d summarize rows, documents %d..%d tokens, max_new_tokens "
                        + "%d..%d ignoring end of sequence, %d new tokens in all, %d slots, %d runs each):%n", rows,
                Math.max(1, documentTokens / 4), documentTokens, minNew, maxNew, newTokens, slots, repeat);
        String[] names = {"continuous", "shrinking"};
        for (int e = 0; e < 2; e++) {
            out.printf(Locale.ROOT, "  %-10s %s rows/s, %s tokens/s, %.1f live rows per decode step (%d steps per run), "
                            + "occupancy %.0f%%, %d refills per run%n", names[e], BenchCommand.spread(rowsPerSecond[e]),
                    BenchCommand.spread(tokensPerSecond[e]), (double) stats[e].liveRows() / Math.max(1, stats[e].steps()),
                    stats[e].steps() / repeat, 100 * stats[e].occupancy(), stats[e].refills() / repeat);
        }
        double[] ratios = new double[repeat];
        for (int r = 0; r < repeat; r++) {
            ratios[r] = rowsPerSecond[0][r] / rowsPerSecond[1][r];
        }
        double[] sorted = ratios.clone();
        java.util.Arrays.sort(sorted);
        out.printf(Locale.ROOT, "  continuous / shrinking rows/s, per run pair: %.2fx (%.2f-%.2f)%n", BenchCommand.median(ratios),
                sorted[0], sorted[repeat - 1]);
    }

    /** Generates every prompt; returns the tokens generated; a failed row fails the benchmark. */
    private static long generateAll(LlmEngine engine, List<Prompt> prompts) {
        long tokens = 0;
        for (GenerationResult result : engine.generate(prompts)) {
            if (result.failed()) {
                throw new IllegalStateException("benchmark row failed: " + result.error());
            }
            tokens += result.generatedTokens();
        }
        return tokens;
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
