package dev.nightshift.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.SharedFiles;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The engine reproduces llama2.c's reference generations for stories260K, prompt encoding included, alone and batched. */
class EngineReferenceTest {

    @TempDir
    static Path work;
    static LlmEngine engine;
    static JsonNode cases;

    @BeforeAll
    static void open() throws Exception {
        cases = new ObjectMapper().readTree(SharedFiles.storiesReference().toFile()).get("cases");
        Path model = work.resolve("stories");
        ModelConverter.convert(SharedFiles.stories260K(), model, ConversionOptions.of(Precision.FP32), SharedFiles.tok512(),
                ConversionListener.NONE);
        engine = LlmEngine.open(model, EngineOptions.defaults().withThreads(2));
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    static int[] ints(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).asInt();
        }
        return ids;
    }

    static Prompt prompt(JsonNode testCase) {
        return Prompt.of(testCase.get("prompt").asText(), GenerationOptions.greedy(testCase.get("generated_ids").size()));
    }

    @Test
    void promptsEncodeToTheReferenceIds() {
        for (JsonNode testCase : cases) {
            long[] ids = engine.tokenizer().encode(testCase.get("prompt").asText());
            assertArrayEquals(ints(testCase.get("prompt_ids")), LlmEngine.toInts(ids), testCase.get("prompt").asText());
        }
    }

    @Test
    void everyCaseAloneReproducesTheReferenceTokens() {
        for (JsonNode testCase : cases) {
            GenerationResult result = engine.generate(List.of(prompt(testCase))).get(0);
            assertNull(result.error());
            assertArrayEquals(ints(testCase.get("generated_ids")), result.tokenIds(), testCase.get("prompt").asText());
            assertEquals(FinishReason.LENGTH, result.finishReason());
            assertEquals(ints(testCase.get("prompt_ids")).length, result.promptTokens());
        }
    }

    @Test
    void allCasesInOneBatchReproduceTheReferenceTokens() {
        List<Prompt> prompts = new ArrayList<>();
        cases.forEach(testCase -> prompts.add(prompt(testCase)));
        List<GenerationResult> results = engine.generate(prompts);
        for (int i = 0; i < prompts.size(); i++) {
            assertArrayEquals(ints(cases.get(i).get("generated_ids")), results.get(i).tokenIds(), prompts.get(i).text());
        }
    }

    @Test
    void generatedTextIsTheDecodedReference() {
        JsonNode testCase = cases.get(1);
        GenerationResult result = engine.generate(List.of(prompt(testCase))).get(0);
        String stdout = testCase.get("stdout_text").asText();
        // run.c prints the prompt (first piece without its space), the generation, then a newline.
        String expected = stdout.substring(testCase.get("prompt").asText().length(), stdout.length() - 1);
        assertEquals(expected, result.text());
    }

    @Test
    void sharedPrefixGivesTheSameTokensAsAFullPrefill() {
        JsonNode testCase = cases.get(2);
        String text = testCase.get("prompt").asText();
        Prompt plain = prompt(testCase);
        Prompt prefixed = new Prompt(text, "Tom and Lily went to the park.", false, plain.options());
        int[] expected = ints(testCase.get("generated_ids"));
        assertArrayEquals(expected, engine.generate(List.of(prefixed)).get(0).tokenIds());
        assertArrayEquals(expected, engine.generate(List.of(prefixed, prefixed, plain)).get(1).tokenIds());
        System.out.println("shared prefix ok: " + Arrays.toString(Arrays.copyOf(expected, 5)));
    }
}
