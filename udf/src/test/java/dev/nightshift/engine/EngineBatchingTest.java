package dev.nightshift.engine;

import dev.nightshift.SharedFiles;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.PlainAttentionGraph;
import dev.nightshift.toolchain.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batched output equals unbatched output, token for token, for our GQA graphs (in continuous batching too, rows
 * prefilled into finished rows' slots) and for third-party
 * exports (GenAI's GQA graph with full logits; an fp16 MultiHeadAttention graph with position_ids);
 * and the third-party exports reproduce upstream's expected greedy tokens.
 */
class EngineBatchingTest {

    @TempDir
    Path work;

    static final List<int[]> UPSTREAM_PROMPTS = List.of(new int[]{0, 0, 0, 52}, new int[]{0, 0, 195, 731});
    static final int[][] UPSTREAM_TOKENS = {{12102, 30463, 4666, 17192, 3266, 18061}, {29592, 4877, 18112, 22607, 12936, 997}};

    @ParameterizedTest
    @ValueSource(strings = {"ortgenai-tiny-random-LlamaForCausalLM-fp32", "ortgenai-tiny-random-LlamaForCausalLM-fp16"})
    void thirdPartyExportsReproduceUpstreamTokens(String folder) throws Exception {
        try (LlmEngine engine = LlmEngine.open(SharedFiles.get("models/thirdparty/" + folder), EngineOptions.defaults())) {
            List<GenerationResult> batched = engine.generateIds(UPSTREAM_PROMPTS, GenerationOptions.greedy(6));
            for (int row = 0; row < 2; row++) {
                assertNull(batched.get(row).error());
                assertArrayEquals(UPSTREAM_TOKENS[row], batched.get(row).tokenIds(), folder + " row " + row);
                GenerationResult alone = engine.generateIds(List.of(UPSTREAM_PROMPTS.get(row)), GenerationOptions.greedy(6)).get(0);
                assertArrayEquals(UPSTREAM_TOKENS[row], alone.tokenIds(), folder + " row " + row + " alone");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"int4", "fp32"})
    void ourGqaGraphsGiveTheSameTokensBatchedAndAlone(String precision) throws Exception {
        LlamaConfig config = new LlamaConfig(128, 256, 2, 8, 2, 16, 512, 256, 1e-5f, 10000, null, false, true, 1, new int[]{2});
        Path folder = work.resolve("random-" + precision);
        ModelConverter.convert(new RandomWeights(config, 5), folder, ConversionOptions.of(Precision.parse(precision)),
                SharedFiles.tok512(), ConversionListener.NONE);
        try (LlmEngine engine = LlmEngine.open(folder, EngineOptions.defaults().withThreads(2))) {
            assertBatchedEqualsAlone(engine, mixedPrompts(20, 3, 40, config.vocabSize(), new Random(1)), 12);
        }
    }

    @Test
    void rowsThatFinishEarlyLeaveTheBatchWithoutChangingTheOthers() throws Exception {
        LlamaConfig config = new LlamaConfig(128, 256, 2, 8, 2, 16, 512, 256, 1e-5f, 10000, null, false, true, 1, new int[]{2});
        Path folder = work.resolve("random-compaction");
        ModelConverter.convert(new RandomWeights(config, 6), folder, ConversionOptions.of(Precision.INT4),
                SharedFiles.tok512(), ConversionListener.NONE);
        try (LlmEngine engine = LlmEngine.open(folder, EngineOptions.defaults().withThreads(2))) {
            Random random = new Random(4);
            List<Prompt> prompts = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                // Lengths 1..30: most rows finish long before the last, so the batch shrinks several times.
                prompts.add(Prompt.of("word ".repeat(1 + random.nextInt(12)) + i,
                        GenerationOptions.greedy(1 + random.nextInt(30)).withIgnoreEos(true)));
            }
            List<GenerationResult> batched = engine.generate(prompts);
            for (int i = 0; i < prompts.size(); i++) {
                GenerationResult alone = engine.generate(List.of(prompts.get(i))).get(0);
                assertEquals(prompts.get(i).options().maxNewTokens(), batched.get(i).generatedTokens());
                assertArrayEquals(alone.tokenIds(), batched.get(i).tokenIds(), "row " + i);
            }
        }
    }

    /**
     * The proof of continuous batching (issue 13): 24 rows of mixed prompt lengths (1..40 words) and output lengths
     * (max_new_tokens 1..24, end of sequence ignored) through 4 slots give each row the greedy tokens it gets alone,
     * and the engine's counts show the slots were refilled (20 rows entered a running batch) and kept full until the
     * queue ran out. The same rows as shrinking batches (the switch off) give the same tokens, with no refill and more
     * decode steps.
     */
    @Test
    void continuousBatchingThroughFourSlotsGivesEveryRowItsTokensAlone() throws Exception {
        LlamaConfig config = new LlamaConfig(128, 256, 2, 8, 2, 16, 512, 256, 1e-5f, 10000, null, false, true, 1, new int[]{2});
        Path folder = work.resolve("random-continuous");
        ModelConverter.convert(new RandomWeights(config, 13), folder, ConversionOptions.of(Precision.INT4),
                SharedFiles.tok512(), ConversionListener.NONE);
        Random random = new Random(21);
        List<Prompt> prompts = new ArrayList<>();
        int tokens = 0;
        for (int i = 0; i < 24; i++) {
            int newTokens = 1 + random.nextInt(24);
            tokens += newTokens;
            prompts.add(Prompt.of("word ".repeat(1 + random.nextInt(40)) + i,
                    GenerationOptions.greedy(newTokens).withIgnoreEos(true)));
        }
        EngineOptions four = EngineOptions.defaults().withThreads(2).withMaxBatchSize(4);
        List<GenerationResult> continuous;
        DecodeStats stats;
        List<GenerationResult> alone = new ArrayList<>();
        try (LlmEngine engine = LlmEngine.open(folder, four)) {
            continuous = engine.generate(prompts);
            stats = engine.decodeStats();
            for (Prompt prompt : prompts) {
                alone.add(engine.generate(List.of(prompt)).get(0));
            }
        }
        java.util.Set<Integer> promptLengths = new java.util.HashSet<>();
        for (int i = 0; i < prompts.size(); i++) {
            assertNull(continuous.get(i).error());
            assertEquals(prompts.get(i).options().maxNewTokens(), continuous.get(i).generatedTokens());
            assertArrayEquals(alone.get(i).tokenIds(), continuous.get(i).tokenIds(), "row " + i);
            promptLengths.add(continuous.get(i).promptTokens());
        }
        assertTrue(promptLengths.size() > 10, "mixed prompt lengths: " + promptLengths);
        assertEquals(20, stats.refills(), "every row after the first four took a finished row's slot: " + stats);
        assertEquals(24, stats.rowsFinished());
        // Each row's first token comes from its prefill, the rest from decode steps (rows of 1 token take none).
        assertEquals(tokens - 24, stats.liveRows(), stats.toString());
        // Steps carry a finished row only once the queue is empty (compaction aside): the batch stayed full.
        assertTrue(stats.occupancy() > 0.85, "occupancy " + stats.occupancy() + " " + stats);

        DecodeStats shrinkingStats;
        try (LlmEngine engine = LlmEngine.open(folder, four.withContinuousBatching(false))) {
            List<GenerationResult> shrinking = engine.generate(prompts);
            shrinkingStats = engine.decodeStats();
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(alone.get(i).tokenIds(), shrinking.get(i).tokenIds(), "shrinking row " + i);
            }
        }
        assertEquals(0, shrinkingStats.refills());
        assertEquals(stats.liveRows(), shrinkingStats.liveRows());
        assertTrue(shrinkingStats.steps() > stats.steps(), shrinkingStats + " vs " + stats);
    }

    @Test
    void concurrentCallersGetWhatSequentialCallersGet() throws Exception {
        Path folder = SharedFiles.get("models/thirdparty/ortgenai-tiny-random-LlamaForCausalLM-fp32");
        try (LlmEngine engine = LlmEngine.open(folder, EngineOptions.defaults().withThreads(1))) {
            List<List<int[]>> work = new ArrayList<>();
            List<List<GenerationResult>> sequential = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                work.add(mixedPrompts(5, 2, 10, 32000, new Random(10 + t)));
                sequential.add(engine.generateIds(work.get(t), GenerationOptions.greedy(8)));
            }
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
            try {
                List<java.util.concurrent.Future<List<GenerationResult>>> futures = new ArrayList<>();
                for (List<int[]> prompts : work) {
                    futures.add(pool.submit(() -> engine.generateIds(prompts, GenerationOptions.greedy(8))));
                }
                for (int t = 0; t < 4; t++) {
                    List<GenerationResult> concurrent = futures.get(t).get();
                    for (int i = 0; i < concurrent.size(); i++) {
                        assertArrayEquals(sequential.get(t).get(i).tokenIds(), concurrent.get(i).tokenIds(), "caller " + t + " row " + i);
                    }
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void growingCacheGraphGivesTheSameTokensBatchedAndAlone() throws Exception {
        Path folder = SharedFiles.get("models/thirdparty/ortgenai-tiny-random-LlamaForCausalLM-fp16");
        try (LlmEngine engine = LlmEngine.open(folder, EngineOptions.defaults().withThreads(2))) {
            assertBatchedEqualsAlone(engine, mixedPrompts(16, 2, 12, 32000, new Random(2)), 8);
        }
    }

    @Test
    void growingCacheRowsThatFinishEarlyLeaveTheBatchWithoutChangingTheOthers() throws Exception {
        // A plain-attention graph (position_ids, a growing cache); one prompt length (a growing cache batches only equal
        // lengths) and 1..12 new tokens: the batch is compacted (the live rows' past gathered into a smaller cache)
        // twice before its last row stops.
        LlamaConfig config = new LlamaConfig(64, 128, 2, 4, 4, 16, 512, 256, 1e-5f, 10000, null, false, true, 1, new int[]{2});
        RandomWeights weights = new RandomWeights(config, 11);
        Path folder = work.resolve("plain-compaction");
        ModelConverter.convert(weights, folder, ConversionOptions.of(Precision.FP32), SharedFiles.tok512(), ConversionListener.NONE);
        PlainAttentionGraph.replaceModel(weights, folder);
        try (LlmEngine engine = LlmEngine.open(folder, EngineOptions.defaults().withThreads(2))) {
            Random random = new Random(8);
            List<Prompt> prompts = new ArrayList<>();
            while (prompts.size() < 12) {
                StringBuilder letters = new StringBuilder();
                for (int w = 0; w < 5; w++) {
                    letters.append(w == 0 ? "" : " ").append((char) ('a' + random.nextInt(26)));
                }
                if (engine.countTokens(letters.toString()) == 5) {
                    prompts.add(Prompt.of(letters.toString(), GenerationOptions.greedy(1 + prompts.size()).withIgnoreEos(true)));
                }
            }
            List<GenerationResult> batched = engine.generate(prompts);
            for (int i = 0; i < prompts.size(); i++) {
                assertEquals(batched.get(0).promptTokens(), batched.get(i).promptTokens(), "one prompt length, one batch");
                GenerationResult alone = engine.generate(List.of(prompts.get(i))).get(0);
                assertNull(alone.error());
                assertEquals(1 + i, batched.get(i).generatedTokens());
                assertArrayEquals(alone.tokenIds(), batched.get(i).tokenIds(), "row " + i);
            }
        }
    }

    @Test
    void plainAttentionGraphBuiltHereGivesTheSameTokensBatchedAndAloneAndAsOurGqaGraph() throws Exception {
        // Optimum style: position_ids, MatMul/Softmax attention, caches grown by Concat, full logits.
        LlamaConfig config = new LlamaConfig(64, 128, 2, 4, 4, 16, 512, 256, 1e-5f, 10000, null, false, true, 1, new int[]{2});
        RandomWeights weights = new RandomWeights(config, 9);
        Path gqa = work.resolve("same-weights-gqa");
        Path plain = work.resolve("same-weights-plain");
        ModelConverter.convert(weights, gqa, ConversionOptions.of(Precision.FP32), SharedFiles.tok512(), ConversionListener.NONE);
        ModelConverter.convert(weights, plain, ConversionOptions.of(Precision.FP32), SharedFiles.tok512(), ConversionListener.NONE);
        PlainAttentionGraph.replaceModel(weights, plain);
        List<int[]> prompts = mixedPrompts(16, 3, 30, config.vocabSize(), new Random(4));
        try (LlmEngine engine = LlmEngine.open(plain, EngineOptions.defaults().withThreads(2));
             LlmEngine reference = LlmEngine.open(gqa, EngineOptions.defaults().withThreads(2))) {
            assertBatchedEqualsAlone(engine, prompts, 10);
            GenerationOptions greedy = GenerationOptions.greedy(10);
            List<GenerationResult> ours = reference.generateIds(prompts, greedy);
            List<GenerationResult> theirs = engine.generateIds(prompts, greedy);
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(ours.get(i).tokenIds(), theirs.get(i).tokenIds(), "row " + i + ": plain graph vs GQA graph");
            }
        }
    }

    @Test
    void seededSamplingIsReproducibleAcrossRunsAndBatches() throws Exception {
        Path folder = SharedFiles.get("models/thirdparty/ortgenai-tiny-random-LlamaForCausalLM-fp32");
        try (LlmEngine engine = LlmEngine.open(folder, EngineOptions.defaults())) {
            List<int[]> prompts = mixedPrompts(6, 2, 9, 32000, new Random(3));
            GenerationOptions sampling = GenerationOptions.greedy(10).withSampling(1.3, 50, 0.95, 1234);
            List<GenerationResult> first = engine.generateIds(prompts, sampling);
            List<GenerationResult> second = engine.generateIds(prompts, sampling);
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(first.get(i).tokenIds(), second.get(i).tokenIds(), "run to run, row " + i);
                GenerationResult alone = engine.generateIds(List.of(prompts.get(i)), sampling).get(0);
                assertArrayEquals(first.get(i).tokenIds(), alone.tokenIds(), "batched vs alone, row " + i);
            }
            List<GenerationResult> otherSeed = engine.generateIds(prompts, sampling.withSeed(99));
            int differ = 0;
            for (int i = 0; i < prompts.size(); i++) {
                differ += java.util.Arrays.equals(first.get(i).tokenIds(), otherSeed.get(i).tokenIds()) ? 0 : 1;
            }
            assertEquals(true, differ > 0, "another seed changes some row");
        }
    }

    static List<int[]> mixedPrompts(int rows, int minLength, int maxLength, int vocab, Random random) {
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            prompts.add(random.ints(minLength + random.nextInt(maxLength - minLength + 1), 3, vocab).toArray());
        }
        return prompts;
    }

    static void assertBatchedEqualsAlone(LlmEngine engine, List<int[]> prompts, int newTokens) {
        GenerationOptions greedy = GenerationOptions.greedy(newTokens);
        List<GenerationResult> batched = engine.generateIds(prompts, greedy);
        for (int i = 0; i < prompts.size(); i++) {
            GenerationResult alone = engine.generateIds(List.of(prompts.get(i)), greedy).get(0);
            assertNull(alone.error());
            assertArrayEquals(alone.tokenIds(), batched.get(i).tokenIds(), "row " + i + " (length " + prompts.get(i).length + ")");
        }
    }
}
