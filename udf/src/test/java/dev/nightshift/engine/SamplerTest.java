package dev.nightshift.engine;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sampling and the logits chain on hand-written logits ({@link FixedLogits}): no model, no ONNX Runtime. */
class SamplerTest {

    private static final int[] NONE = new int[0];

    private static GenerationOptions sampling(double temperature, int topK, double topP, long seed) {
        return GenerationOptions.greedy(16).withSampling(temperature, topK, topP, seed);
    }

    private static Set<Integer> drawn(GenerationOptions options, float[] logits, int draws) {
        Sampler sampler = new Sampler(options, NONE);
        Set<Integer> seen = new TreeSet<>();
        for (int i = 0; i < draws; i++) {
            seen.add(sampler.next(logits, NONE, 0));
        }
        return seen;
    }

    @Test
    void greedyPicksTheFirstMaximum() {
        Sampler sampler = new Sampler(GenerationOptions.greedy(4), NONE);
        assertEquals(2, sampler.next(FixedLogits.of(0.1f, -3f, 5f, 4.9f), NONE, 0));
        assertEquals(1, sampler.next(FixedLogits.of(0f, 7f, 7f, 7f), NONE, 0));
        assertEquals(3, sampler.next(FixedLogits.with(100, -1f, 3, 2f), NONE, 0));
    }

    @Test
    void topKOfOneIsGreedy() {
        float[] logits = FixedLogits.of(1f, 2.5f, 2.4f, 0f, -1f);
        for (long seed = 0; seed < 50; seed++) {
            Sampler sampler = new Sampler(sampling(1.5, 1, 1, seed), NONE);
            for (int i = 0; i < 5; i++) {
                assertEquals(Softmax.argmax(logits), sampler.next(logits, NONE, 0));
            }
        }
    }

    @Test
    void topKKeepsTheKBest() {
        float[] logits = FixedLogits.of(1f, 1.1f, 0.9f, 1.05f, 0.95f);
        assertEquals(Set.of(1, 3), drawn(sampling(1, 2, 1, 7), logits, 2000));
        assertEquals(Set.of(0, 1, 2, 3, 4), drawn(sampling(1, 0, 1, 7), logits, 2000));
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        float[] logits = FixedLogits.fromProbabilities(0.15, 0.5, 0.05, 0.3);
        // Best first: 1 (0.5), 3 (0.3), 0 (0.15), 2 (0.05).
        assertEquals(Set.of(1), drawn(sampling(1, 0, 0.45, 3), logits, 2000));
        assertEquals(Set.of(1, 3), drawn(sampling(1, 0, 0.75, 3), logits, 2000));
        assertEquals(Set.of(0, 1, 3), drawn(sampling(1, 0, 0.9, 3), logits, 4000));
        assertEquals(Set.of(0, 1, 2, 3), drawn(sampling(1, 0, 1, 3), logits, 4000));
        // top-k applies first: of the two best, 0.5 / 0.8 = 0.625 >= 0.6 keeps one.
        assertEquals(Set.of(1), drawn(sampling(1, 2, 0.6, 3), logits, 2000));
    }

    @Test
    void temperatureSamplingIsReproducibleAndIndependentOfOtherRows() {
        float[] logits = FixedLogits.of(0.5f, 0.4f, 0.3f, 0.2f, 0.1f, 0f);
        GenerationOptions options = sampling(1.3, 0, 0.95, 42);
        Sampler alone = new Sampler(options, NONE);
        List<Integer> first = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            first.add(alone.next(logits, NONE, 0));
        }
        // The same seed beside other rows, drawn in between with other seeds and other logits.
        Sampler again = new Sampler(options, NONE);
        Sampler other = new Sampler(sampling(0.7, 3, 0.9, 43), NONE);
        Sampler greedy = new Sampler(GenerationOptions.greedy(4), NONE);
        List<Integer> second = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            other.next(FixedLogits.of(3f, 1f, 2f), NONE, 0);
            second.add(again.next(logits, NONE, 0));
            greedy.next(logits, NONE, 0);
        }
        assertEquals(first, second);
        assertTrue(new TreeSet<>(first).size() > 3, "a flat distribution samples several tokens: " + first);
        Sampler otherSeed = new Sampler(sampling(1.3, 0, 0.95, 41), NONE);
        List<Integer> third = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            third.add(otherSeed.next(logits, NONE, 0));
        }
        assertNotEquals(first, third);
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfPromptAndGeneratedTokens() {
        float penalty = 1.3f;
        RepetitionPenalty processor = new RepetitionPenalty(penalty, new int[]{0, 0, 2});
        float[] logits = FixedLogits.of(2f, 1.5f, -1f, 0.7f, -0.2f, 0f);
        int[] generated = {4, 4, 99};
        processor.process(generated, 2, logits);
        // Token 99 is outside the vocabulary; token 3 was never seen; each seen token once however often it occurred.
        assertArrayEquals(new float[]{2f / penalty, 1.5f, -1f * penalty, 0.7f, -0.2f * penalty, 0f}, logits);
        float[] next = FixedLogits.of(1f, 1f, 1f, 1f, 1f, 1f);
        processor.process(generated, 3, next);
        assertArrayEquals(new float[]{1f / penalty, 1f, 1f / penalty, 1f, 1f / penalty, 1f}, next);
    }

    @Test
    void repetitionPenaltyChangesTheGreedyChoiceExactlyAsTheFormulaSays() {
        float[] logits = FixedLogits.of(2f, 1.6f, -1f, -1.1f);
        assertEquals(0, new Sampler(GenerationOptions.greedy(4), new int[]{0}).next(logits, NONE, 0));
        // 2 / 1.2 = 1.667 is still above 1.6; 2 / 1.3 = 1.538 is not.
        assertEquals(0, new Sampler(GenerationOptions.greedy(4).withRepetitionPenalty(1.2), new int[]{0})
                .next(logits, NONE, 0));
        assertEquals(1, new Sampler(GenerationOptions.greedy(4).withRepetitionPenalty(1.3), new int[]{0})
                .next(logits, NONE, 0));
        // Negative logits move further down: -1 * 1.2 = -1.2 falls below -1.1.
        float[] negative = FixedLogits.of(-1f, -1.1f);
        Sampler sampler = new Sampler(GenerationOptions.greedy(4).withRepetitionPenalty(1.2), NONE);
        assertEquals(0, sampler.next(negative, NONE, 0));
        assertEquals(1, sampler.next(negative, new int[]{0}, 1), "the generated token 0 is penalized now");
        assertArrayEquals(new float[]{-1f, -1.1f}, negative, "the caller's logits are left unchanged");
    }

    @Test
    void noPenaltyMeansNoProcessors() {
        assertTrue(LogitsProcessor.forOptions(GenerationOptions.greedy(4), new int[]{1, 2}).isEmpty());
        assertEquals(1, LogitsProcessor.forOptions(GenerationOptions.greedy(4).withRepetitionPenalty(1.1), NONE).size());
    }
}
