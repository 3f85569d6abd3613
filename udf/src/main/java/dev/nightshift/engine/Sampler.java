package dev.nightshift.engine;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Picks the next token of one row: greedy (first maximum, as llama2.c) or sampled with temperature,
 * top-k and top-p, after the row's chain of {@link LogitsProcessor}s (the repetition penalty). Each row owns its random
 * stream, seeded by the row's seed alone, so a row samples the same tokens whatever batch it runs in.
 */
final class Sampler {

    /** Tokens this far below the best logit (after temperature) carry under e^-40 of the mass and are skipped. */
    private static final float NEGLIGIBLE = 40f;

    private final GenerationOptions options;
    private final SplittableRandom random;
    private final List<LogitsProcessor> processors;
    /** The natural log of the last chosen token's probability (see {@link #lastLogProbability()}). */
    private double lastLogProbability;

    /** A sampler with the processors the options ask for ({@link LogitsProcessor#forOptions}). */
    Sampler(GenerationOptions options, int[] prompt) {
        this(options, LogitsProcessor.forOptions(options, prompt));
    }

    /** A sampler whose chain ends with {@code constraint} (null: none). */
    Sampler(GenerationOptions options, int[] prompt, TokenConstraint constraint) {
        this(options, LogitsProcessor.forOptions(options, prompt, constraint));
    }

    Sampler(GenerationOptions options, List<LogitsProcessor> processors) {
        this.options = options;
        this.random = new SplittableRandom(options.seed());
        this.processors = List.copyOf(processors);
    }

    /**
     * The next token for logits, after the processors ran on a copy (the given array is left unchanged).
     *
     * @param generated the row's generated ids so far; the first {@code count} are valid
     */
    int next(float[] logits, int[] generated, int count) {
        float[] scores = logits;
        if (!processors.isEmpty()) {
            scores = logits.clone();
            for (LogitsProcessor processor : processors) {
                processor.process(generated, count, scores);
            }
        }
        int token = options.greedy() ? Softmax.argmax(scores) : sample(scores);
        lastLogProbability = Softmax.logProbability(scores, token);
        return token;
    }

    /**
     * The log-probability of the token {@link #next} chose last, under the softmax of the logits after the processors
     * (a constraint's mask included) and before temperature, top-k and top-p: how sure the model was among the tokens
     * it was allowed, whatever the sampling settings.
     */
    double lastLogProbability() {
        return lastLogProbability;
    }

    private int sample(float[] scores) {
        float temperature = (float) options.temperature();
        float max = scores[Softmax.argmax(scores)];
        // Candidates: every token within reach of the maximum, best first.
        int[] candidates = new int[scores.length];
        int count = 0;
        for (int i = 0; i < scores.length; i++) {
            if ((max - scores[i]) / temperature < NEGLIGIBLE) {
                candidates[count++] = i;
            }
        }
        Integer[] order = new Integer[count];
        for (int i = 0; i < count; i++) {
            order[i] = candidates[i];
        }
        Arrays.sort(order, (a, b) -> scores[a] != scores[b] ? Float.compare(scores[b], scores[a]) : Integer.compare(a, b));
        int kept = options.topK() > 0 ? Math.min(options.topK(), count) : count;
        double[] weights = new double[kept];
        double total = 0;
        for (int i = 0; i < kept; i++) {
            weights[i] = Math.exp((scores[order[i]] - max) / temperature);
            total += weights[i];
        }
        if (options.topP() < 1) {
            double cumulative = 0;
            int cut = kept;
            for (int i = 0; i < kept; i++) {
                cumulative += weights[i] / total;
                if (cumulative >= options.topP()) {
                    cut = i + 1;
                    break;
                }
            }
            kept = cut;
            total = 0;
            for (int i = 0; i < kept; i++) {
                total += weights[i];
            }
        }
        double draw = random.nextDouble() * total;
        for (int i = 0; i < kept; i++) {
            draw -= weights[i];
            if (draw < 0) {
                return order[i];
            }
        }
        return order[kept - 1];
    }
}
