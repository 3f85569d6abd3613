package dev.nightshift.engine;

import dev.nightshift.SharedFiles;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import org.junit.jupiter.api.BeforeAll;
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
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The device-resident KV cache's code path ({@link DeviceKvMemory} over {@link OrtCApi}: ONNX Runtime's C API through
 * JNA), run with ONNX Runtime's CPU allocator since no GPU is here, gives bit-identical generations to the host cache:
 * the same tokens and the same log-probabilities to the last bit, through everything that moves cache memory
 * (continuous batching's refills, shrinking batches' compaction, a shared prefix copied into rows and extended through
 * one-row views, label scoring's forks). The slot table is checked against the loaded library.
 */
class DeviceKvCacheTest {

    @TempDir
    static Path work;
    static Path int4;
    static Path fp16;

    @BeforeAll
    static void models() throws Exception {
        LlamaConfig config = new LlamaConfig(128, 256, 2, 8, 2, 16, 512, 256, 1e-5f, 10000, null, false, true, 1, new int[]{2});
        int4 = work.resolve("int4");
        ModelConverter.convert(new RandomWeights(config, 21), int4, ConversionOptions.of(Precision.INT4),
                SharedFiles.tok512(), ConversionListener.NONE);
        fp16 = work.resolve("fp16");
        ModelConverter.convert(new RandomWeights(config, 22), fp16, ConversionOptions.of(Precision.FP16),
                SharedFiles.tok512(), ConversionListener.NONE);
    }

    @Test
    void theCApiTableAnswersAsItsSlotsAssume() {
        OrtCApi api = OrtCApi.get();
        api.check();
        assertTrue(api.version().startsWith("1."), api.version());
        assertTrue(OrtCApi.loadedLibrary().contains("onnxruntime"), OrtCApi.loadedLibrary());
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void generationsAreBitIdenticalToTheHostCache(boolean continuous) throws Exception {
        for (Path model : List.of(int4, fp16)) {
            List<Prompt> prompts = workload(new Random(3));
            EngineOptions options = EngineOptions.defaults().withThreads(2).withMaxBatchSize(4).withContinuousBatching(continuous);
            List<GenerationResult> host;
            try (LlmEngine engine = LlmEngine.open(model, options)) {
                host = engine.generate(prompts);
            }
            try (LlmEngine engine = LlmEngine.open(model, options.withKvCache(EngineOptions.KV_DEVICE))) {
                assertEquals(List.of(), engine.warnings());
                assertEquals("device cpu:0", engine.kvCacheMemory());
                List<GenerationResult> device = engine.generate(prompts);
                for (int i = 0; i < prompts.size(); i++) {
                    String where = model.getFileName() + " row " + i + (continuous ? " (continuous)" : " (shrinking)");
                    assertNull(device.get(i).error(), where);
                    assertArrayEquals(host.get(i).tokenIds(), device.get(i).tokenIds(), where);
                    assertArrayEquals(host.get(i).tokenLogprobs(), device.get(i).tokenLogprobs(), 0.0, where);
                }
                if (continuous) {
                    assertTrue(engine.decodeStats().refills() > 0, "the workload refills slots: " + engine.decodeStats());
                }
            }
        }
    }

    @Test
    void labelScoresAreBitIdenticalToTheHostCache() throws Exception {
        List<String> labels = List.of("sports", "business", "science and technology", "world");
        List<Prompt> prompts = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            String instruction = "Classify the news article into one of the labels. Article: ";
            prompts.add(new Prompt(instruction + "word ".repeat(3 + 4 * i) + i + "\nLabel:", instruction, false,
                    GenerationOptions.greedy(1)));
        }
        EngineOptions options = EngineOptions.defaults().withThreads(2);
        List<LabelScores> host;
        try (LlmEngine engine = LlmEngine.open(int4, options)) {
            host = engine.classify(prompts, labels);
        }
        try (LlmEngine engine = LlmEngine.open(int4, options.withKvCache(EngineOptions.KV_DEVICE))) {
            assertEquals("device cpu:0", engine.kvCacheMemory());
            List<LabelScores> device = engine.classify(prompts, labels);
            for (int i = 0; i < prompts.size(); i++) {
                assertNull(device.get(i).error());
                assertArrayEquals(host.get(i).probabilities(), device.get(i).probabilities(), 0.0, "row " + i);
            }
        }
    }

    @Test
    void aThirdPartyGqaExportRunsOnTheDeviceCacheWithUpstreamsTokens() throws Exception {
        EngineOptions options = EngineOptions.defaults().withThreads(1).withKvCache("device");
        try (LlmEngine engine = LlmEngine.open(SharedFiles.get("models/thirdparty/ortgenai-tiny-random-LlamaForCausalLM-fp32"),
                options)) {
            assertEquals(List.of(), engine.warnings());
            assertEquals("device cpu:0", engine.kvCacheMemory());
            assertUpstreamTokens(engine);
        }
    }

    @Test
    void aGraphWithPositionIdsKeepsTheHostCacheAndSaysSo() throws Exception {
        // GenAI's fp16 export is a MultiHeadAttention graph with position_ids: its cache grows per run, so it stays on the host
        EngineOptions options = EngineOptions.defaults().withThreads(1).withKvCache("device");
        try (LlmEngine engine = LlmEngine.open(SharedFiles.get("models/thirdparty/ortgenai-tiny-random-LlamaForCausalLM-fp16"),
                options)) {
            assertEquals(1, engine.warnings().size(), engine.warnings().toString());
            assertTrue(engine.warnings().get(0).startsWith("kv_cache device needs a GroupQueryAttention graph"),
                    engine.warnings().get(0));
            assertEquals("host", engine.kvCacheMemory());
            assertUpstreamTokens(engine);
        }
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> EngineOptions.defaults().withKvCache("gpu"));
        assertEquals("kv_cache must be host or device, got 'gpu'", bad.getMessage());
    }

    private static void assertUpstreamTokens(LlmEngine engine) {
        List<GenerationResult> batched = engine.generateIds(EngineBatchingTest.UPSTREAM_PROMPTS, GenerationOptions.greedy(6));
        for (int row = 0; row < 2; row++) {
            assertArrayEquals(EngineBatchingTest.UPSTREAM_TOKENS[row], batched.get(row).tokenIds(), "row " + row);
        }
    }

    /**
     * 14 rows in batches of 4 slots: prompts of 2-40 words behind a shared 12-word instruction (prefix reuse: the
     * instruction prefilled once, copied into each row, the rest fed through a one-row view), 1-24 new tokens each so
     * that rows finish at different steps (refills or compaction).
     */
    private static List<Prompt> workload(Random random) {
        String instruction = "Summarize the following text in a few words please, keep it short: ";
        List<Prompt> prompts = new ArrayList<>();
        for (int i = 0; i < 14; i++) {
            String text = instruction + "token ".repeat(2 + random.nextInt(38)) + i;
            prompts.add(new Prompt(text, i % 3 == 0 ? "" : instruction, false,
                    GenerationOptions.greedy(1 + random.nextInt(24)).withIgnoreEos(true)));
        }
        return prompts;
    }
}
