package dev.nightshift.engine;

import dev.nightshift.SharedFiles;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Label scoring goes through the batch planner and gives, to the last bit, the probabilities it gave when every prompt
 * was scored in a call of its own: the expected values were printed ({@link Double#toHexString}) by the engine before
 * classify rows were planned into batches (and before BatchRun became KvCache + DecoderStep). Four graphs: stories260K
 * fp32 and int4 (our GQA graphs, last-position logits), ONNX Runtime GenAI's GQA graph (logits of every position) and
 * its fp16 graph with position_ids (growing cache). One call with five prompts, then each prompt alone.
 */
class LabelScoringTest {

    @TempDir
    static Path work;
    static Path storiesFp32;
    static Path storiesInt4;

    static final List<String> LABELS = List.of("girl", "girl named Lily", " dog", "Tom");

    // Per prompt of prompts(), per label of LABELS.
    static final double[][] STORIES_FP32 = {
            {0x1.3a25740ceea26p-8, 0x1.fd3b633da40aep-1, 0x1.409a1af4c69abp-11, 0x1.5a9c273202317p-20},
            {0x1.794c83c876e4dp-8, 0x1.906aa2c0911c4p-13, 0x1.c816e53f1a26cp-12, 0x1.fcbb5d719b25ep-1},
            {0x1.e52c1cd56a02ep-1, 0x1.4bb6475f4708dp-6, 0x1.fbca2288e251dp-6, 0x1.2fbfb6a964694p-10},
            {0x1.86e9d49ed8ca9p-8, 0x1.7d095d7a81625p-7, 0x1.f6f90fe413bebp-1, 0x1.3dbf31228ca14p-15},
            {0x1.f359d2acc9fdap-4, 0x1.c18f9d7d25ec5p-1, 0x1.41c9051e4bce1p-15, 0x1.084962d679cebp-20}};

    static final double[][] STORIES_INT4 = {
            {0x1.a5c0ed3b2842ap-8, 0x1.fbfa34003b04cp-1, 0x1.748fea951c6d6p-10, 0x1.18020e455a7ccp-24},
            {0x1.a9cfd46abbfa3p-8, 0x1.7419b3d17c7dp-14, 0x1.6b6d839a09a93p-14, 0x1.fc95641d6f2bdp-1},
            {0x1.fab752c67d773p-1, 0x1.9395ee2677ac8p-9, 0x1.ca26ad98db8cep-8, 0x1.064f8152d0eb7p-12},
            {0x1.448583aa9f665p-8, 0x1.13c869c8e12b2p-9, 0x1.fc612f59682a2p-1, 0x1.fd3579b601308p-17},
            {0x1.afb8b46694c49p-4, 0x1.ca074a320bf8ap-1, 0x1.9be4464292929p-17, 0x1.ae6d9618e346bp-24}};

    static final double[][] GENAI_GQA_FP32 = {
            {0x1.4361c945054cbp-2, 0x1.4b2f79314f895p-47, 0x1.4aa707a09e25cp-2, 0x1.71f72f1a5c834p-2},
            {0x1.2c00ebf30ecfbp-2, 0x1.37280beaac83p-47, 0x1.8254e46d3a9dp-2, 0x1.51aa2f9fb689ap-2},
            {0x1.2fee5d80d2e9ap-2, 0x1.38565278bb4ddp-47, 0x1.68320c70eec53p-2, 0x1.67df960e3e478p-2},
            {0x1.4625db0dce113p-2, 0x1.4ec82ed153cecp-47, 0x1.5fcdfac25c28cp-2, 0x1.5a0c2a2fd5bbcp-2},
            {0x1.3fcaea9d3f7c9p-2, 0x1.4e22c35b6862p-47, 0x1.4258ad51d1304p-2, 0x1.7ddc6810ef48dp-2}};

    static final double[][] GENAI_GROWING_FP16 = {
            {0x1.4364213061707p-2, 0x1.4b370b0c76d77p-47, 0x1.4aa4022875566p-2, 0x1.71f7dca7292fp-2},
            {0x1.2bff9a57b4da5p-2, 0x1.37233da58ba5p-47, 0x1.8251385351c16p-2, 0x1.51af2d54f95a9p-2},
            {0x1.2febb8bab292p-2, 0x1.3852a8fdb9c03p-47, 0x1.6833cfff7eee5p-2, 0x1.67e07745ce75fp-2},
            {0x1.46240cf2735adp-2, 0x1.4ecbbdc53f9b1p-47, 0x1.5fcf36b208bf4p-2, 0x1.5a0cbc5b83db7p-2},
            {0x1.3fcc84d7512a6p-2, 0x1.4e2964409c19dp-47, 0x1.425545ff3307dp-2, 0x1.7dde35297bc38p-2}};

    @BeforeAll
    static void convert() throws Exception {
        storiesFp32 = work.resolve("stories");
        ModelConverter.convert(SharedFiles.stories260K(), storiesFp32, ConversionOptions.of(Precision.FP32), SharedFiles.tok512(),
                ConversionListener.NONE);
        storiesInt4 = work.resolve("stories-int4");
        ModelConverter.convert(SharedFiles.stories260K(), storiesInt4, ConversionOptions.of(Precision.INT4), SharedFiles.tok512(),
                ConversionListener.NONE);
    }

    static List<Prompt> prompts() {
        GenerationOptions plain = GenerationOptions.greedy(1);
        GenerationOptions stops = GenerationOptions.greedy(1).withStopStrings(List.of(",", "."));
        return List.of(
                Prompt.of("Once upon a time, there was a little", stops),
                Prompt.of("Once upon a time, there was a little girl named", plain),
                Prompt.of("The cat sat on the mat. Then a", plain),
                Prompt.of("Tom and Lily went to the park. They saw a big", stops),
                Prompt.of("Once upon a time, there was a little", plain));
    }

    static Stream<Arguments> models() {
        return Stream.of(
                Arguments.of("stories260K fp32", STORIES_FP32),
                Arguments.of("stories260K int4", STORIES_INT4),
                Arguments.of("models/thirdparty/ortgenai-tiny-random-LlamaForCausalLM-fp32", GENAI_GQA_FP32),
                Arguments.of("models/thirdparty/ortgenai-tiny-random-LlamaForCausalLM-fp16", GENAI_GROWING_FP16));
    }

    private static Path folder(String name) {
        return switch (name) {
            case "stories260K fp32" -> storiesFp32;
            case "stories260K int4" -> storiesInt4;
            default -> SharedFiles.get(name);
        };
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void probabilitiesAreTheSameToTheLastBitInOneCallAndAlone(String name, double[][] expected) throws Exception {
        List<Prompt> prompts = prompts();
        try (LlmEngine engine = LlmEngine.open(folder(name), EngineOptions.defaults().withThreads(2))) {
            List<LabelScores> together = engine.classify(prompts, LABELS);
            assertEquals(prompts.size(), together.size());
            for (int i = 0; i < prompts.size(); i++) {
                assertNull(together.get(i).error());
                assertArrayEquals(expected[i], together.get(i).probabilities(), 0.0, name + " prompt " + i + " in one call");
                LabelScores alone = engine.classify(List.of(prompts.get(i)), LABELS).get(0);
                assertArrayEquals(expected[i], alone.probabilities(), 0.0, name + " prompt " + i + " alone");
                assertArrayEquals(together.get(i).answerTokens(), alone.answerTokens());
                assertEquals(together.get(i).promptTokens(), alone.promptTokens());
            }
        }
    }

    @ParameterizedTest(name = "at most {0} rows a batch")
    @MethodSource("batchSizes")
    void howTheCallIsSplitIntoBatchesChangesNothing(int maxBatchSize) throws Exception {
        EngineOptions options = new EngineOptions("cpu", 0, false, 2, 1L << 20, maxBatchSize);
        try (LlmEngine engine = LlmEngine.open(storiesFp32, options)) {
            List<LabelScores> scores = engine.classify(prompts(), LABELS);
            for (int i = 0; i < STORIES_FP32.length; i++) {
                assertArrayEquals(STORIES_FP32[i], scores.get(i).probabilities(), 0.0, "prompt " + i);
            }
        }
    }

    static Stream<Integer> batchSizes() {
        // 1: every row a batch of its own; 2: batches of two; 64: the five rows (about 150 KB of KV each) in one.
        return Stream.of(1, 2, 64);
    }
}
