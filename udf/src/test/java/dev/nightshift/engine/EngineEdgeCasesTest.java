package dev.nightshift.engine;

import dev.nightshift.SharedFiles;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stopping rules, overflow policy, garbage input and broken model folders. */
class EngineEdgeCasesTest {

    @TempDir
    static Path work;
    static Path stories;
    static LlmEngine engine;

    @BeforeAll
    static void open() throws Exception {
        stories = work.resolve("stories");
        ModelConverter.convert(SharedFiles.stories260K(), stories, ConversionOptions.of(Precision.FP32), SharedFiles.tok512(),
                ConversionListener.NONE);
        engine = LlmEngine.open(stories, EngineOptions.defaults().withThreads(2));
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    @Test
    void stopStringEndsTheRowAndIsRemoved() {
        GenerationOptions options = GenerationOptions.greedy(60).withStopStrings(List.of("Lily"));
        GenerationResult result = engine.generate(List.of(Prompt.of("Once upon a time", options))).get(0);
        assertEquals(FinishReason.STOP, result.finishReason());
        assertEquals(", there was a little girl named ", result.text());
    }

    @Test
    void anyOfSeveralEosIdsStopsTheRow() throws Exception {
        GenerationResult free = engine.generate(List.of(Prompt.of("Once upon a time", GenerationOptions.greedy(8)))).get(0);
        int third = free.tokenIds()[2];
        // The same weights, converted with a second EOS id: the token the model produces third.
        Path folder = work.resolve("two-eos");
        try (var checkpoint = dev.nightshift.model.Llama2cCheckpoint.open(SharedFiles.stories260K())) {
            LlamaConfig base = checkpoint.config();
            LlamaConfig withEos = new LlamaConfig(base.dim(), base.hiddenDim(), base.layers(), base.heads(), base.kvHeads(),
                    base.headDim(), base.vocabSize(), base.contextLength(), base.normEps(), base.ropeTheta(), null, true, true,
                    1, new int[]{2, third});
            var source = new dev.nightshift.model.WeightSource() {
                public LlamaConfig config() {
                    return withEos;
                }

                public dev.nightshift.model.Tensor tensor(String name) {
                    return checkpoint.tensor(name);
                }

                public String description() {
                    return "stories260K with EOS ids 2 and " + third;
                }
            };
            ModelConverter.convert(source, folder, ConversionOptions.of(Precision.FP32), SharedFiles.tok512(), ConversionListener.NONE);
        }
        try (LlmEngine twoEos = LlmEngine.open(folder, EngineOptions.defaults())) {
            GenerationResult stopped = twoEos.generate(List.of(Prompt.of("Once upon a time", GenerationOptions.greedy(8)))).get(0);
            assertEquals(FinishReason.STOP, stopped.finishReason());
            assertEquals(Arrays.toString(Arrays.copyOf(free.tokenIds(), 2)), Arrays.toString(stopped.tokenIds()));
        }
    }

    @Test
    void overlongPromptFailsItsRowUnderTheErrorPolicyAndOthersStillRun() {
        String longText = "The little dog ran. ".repeat(200);
        List<GenerationResult> results = engine.generate(List.of(
                Prompt.of(longText, GenerationOptions.greedy(5)),
                Prompt.of("The little dog", GenerationOptions.greedy(5))));
        assertEquals(FinishReason.ERROR, results.get(0).finishReason());
        assertTrue(results.get(0).error().contains("does not fit the model's context of 512 tokens"), results.get(0).error());
        assertTrue(results.get(0).error().contains("truncate"), results.get(0).error());
        assertNull(results.get(1).error());
        assertEquals(5, results.get(1).generatedTokens());
    }

    @Test
    void truncationPoliciesKeepTheRowAndFlagIt() {
        String longText = "The little dog ran. ".repeat(200);
        for (OverflowPolicy policy : List.of(OverflowPolicy.TRUNCATE_HEAD, OverflowPolicy.TRUNCATE_MIDDLE)) {
            GenerationResult result = engine.generate(List.of(Prompt.of(longText,
                    GenerationOptions.greedy(16).withOverflow(policy)))).get(0);
            assertNull(result.error(), policy.name());
            assertTrue(result.truncated(), policy.name());
            assertEquals(512 - 16, result.promptTokens(), policy.name());
            assertEquals(16, result.generatedTokens(), policy.name());
        }
    }

    @Test
    void garbageTextGivesRowResultsNotCrashes() {
        String megabyte = "x".repeat(1 << 20);
        String surrogates = "broken \uD800 pair \uDC00 end";
        String nul = "nul\u0000bytes\u0000here";
        List<GenerationResult> results = engine.generate(List.of(
                Prompt.of("", GenerationOptions.greedy(4)),
                Prompt.of(megabyte, GenerationOptions.greedy(4)),
                Prompt.of(surrogates, GenerationOptions.greedy(4)),
                Prompt.of(nul, GenerationOptions.greedy(4))));
        assertNull(results.get(0).error(), "an empty prompt is just BOS for this model");
        assertEquals(1, results.get(0).promptTokens());
        assertEquals(FinishReason.ERROR, results.get(1).finishReason());
        assertNull(results.get(2).error());
        assertNull(results.get(3).error());
        assertEquals(4, results.get(3).generatedTokens());
    }

    @Test
    void classifyScoresEveryLabel() {
        List<String> labels = List.of(" Lily", " Tom", " dog");
        LabelScores scores = engine.classify(List.of(Prompt.of("Once upon a time, there was a little girl named",
                GenerationOptions.greedy(1))), labels).get(0);
        assertNull(scores.error());
        assertEquals(3, scores.probabilities().length);
        assertEquals(1.0, Arrays.stream(scores.probabilities()).sum(), 1e-9);
        assertEquals(" Lily", scores.bestLabel(), Arrays.toString(scores.probabilities()));
    }

    @Test
    void brokenModelFoldersAreReportedBeforeAnyWork() throws Exception {
        Path missing = work.resolve("nowhere");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LlmEngine.open(missing, EngineOptions.defaults()))
                .getMessage().contains("does not exist"));

        Path noTokenizer = copy(stories, work.resolve("no-tokenizer"));
        Files.delete(noTokenizer.resolve("tokenizer.json"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LlmEngine.open(noTokenizer, EngineOptions.defaults()))
                .getMessage().contains("has no tokenizer.json"));

        Path corrupt = copy(stories, work.resolve("corrupt"));
        Files.write(corrupt.resolve("model.onnx"), new byte[]{1, 2, 3, 4, 5});
        String corruptMessage = assertThrows(IllegalArgumentException.class,
                () -> LlmEngine.open(corrupt, EngineOptions.defaults())).getMessage();
        assertTrue(corruptMessage.contains("cannot load") && corruptMessage.contains("re-run `nightshift convert`"), corruptMessage);

        Path mismatched = copy(stories, work.resolve("mismatched"));
        String genai = Files.readString(mismatched.resolve("genai_config.json")).replace("\"num_hidden_layers\" : 5", "\"num_hidden_layers\" : 7");
        Files.writeString(mismatched.resolve("genai_config.json"), genai);
        String mismatch = assertThrows(IllegalArgumentException.class,
                () -> LlmEngine.open(mismatched, EngineOptions.defaults())).getMessage();
        assertTrue(mismatch.contains("does not match model.onnx"), mismatch);
    }

    @Test
    void cudaRequestFallsBackToCpuWithAWarningUnlessRequired() throws Exception {
        try (LlmEngine fallback = LlmEngine.open(stories, EngineOptions.defaults().withProvider("cuda"))) {
            assertEquals("cpu", fallback.model().provider());
            // this build's ONNX Runtime is the CPU one: the warning says so and how to get the GPU build
            assertEquals(1, fallback.warnings().size(), fallback.warnings().toString());
            assertTrue(fallback.warnings().get(0).contains("is the CPU-only build")
                    && fallback.warnings().get(0).contains("mvn -Pgpu"), fallback.warnings().get(0));
        }
        IllegalStateException required = assertThrows(IllegalStateException.class,
                () -> LlmEngine.open(stories, EngineOptions.defaults().withProvider("cuda").withDevice(0, true)));
        assertTrue(required.getMessage().startsWith("CUDA was required (require_gpu) but is unavailable: this ONNX Runtime "
                + "is the CPU-only build"), required.getMessage());
    }

    static Path copy(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Files.copy(file, to.resolve(file.getFileName()));
            }
        }
        return to;
    }
}
