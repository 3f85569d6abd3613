package dev.nightshift.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.nightshift.SharedFiles;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generation under a JSON schema on a random-weight model with the llama2.c tokenizer (byte fallback): whatever the
 * weights prefer, every finished output parses and validates, a row stops exactly when its object closes, an output
 * cut by max_new_tokens is still a valid prefix, and greedy rows batched equal rows alone.
 */
class ConstrainedGenerationTest {

    static final String SCHEMA = """
            {"type": "object", "properties": {
               "status": {"enum": ["open", "closed", null]},
               "paid": {"type": "boolean"},
               "lines": {"type": ["integer", "null"]},
               "due": {"type": "string", "format": "date"},
               "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
               "note": {"type": ["string", "null"]}},
             "required": ["status", "paid", "lines", "due", "tags", "note"]}
            """;

    @TempDir
    Path work;

    @Test
    void everyFinishedOutputValidatesAndBatchesDoNotChangeIt() throws Exception {
        LlamaConfig config = new LlamaConfig(128, 256, 2, 8, 2, 16, 512, 256, 1e-5f, 10000, null, false, true, 1, new int[]{2});
        Path folder = work.resolve("random");
        ModelConverter.convert(new RandomWeights(config, 11), folder, ConversionOptions.of(Precision.INT4),
                SharedFiles.tok512(), ConversionListener.NONE);
        Schema validator = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(SCHEMA);
        ObjectMapper json = new ObjectMapper();
        try (LlmEngine engine = LlmEngine.open(folder, EngineOptions.defaults().withThreads(2))) {
            List<Prompt> prompts = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                GenerationOptions options = GenerationOptions.greedy(200).withJsonSchema(SCHEMA);
                if (i % 3 == 1) {
                    options = options.withSampling(0.9, 0, 1, i);
                }
                prompts.add(Prompt.of("Invoice " + i + ": the customer paid " + (i * 7) + " on Monday. JSON:", options));
            }
            List<GenerationResult> batched = engine.generate(prompts);
            TokenConstraint constraint = engine.constraint(prompts.get(0).options());
            int finished = 0;
            for (int i = 0; i < prompts.size(); i++) {
                GenerationResult result = batched.get(i);
                assertNull(result.error(), result.error());
                int state = constraint.start();
                for (int token : result.tokenIds()) {
                    state = constraint.advance(state, token);
                    assertTrue(state >= 0, "row " + i + " left the grammar: " + result.text());
                }
                // per token: a probability, and where its text ends; together they rebuild the text
                assertEquals(result.tokenIds().length, result.tokenLogprobs().length);
                assertEquals(result.tokenIds().length, result.tokenTextEnds().length);
                StringBuilder rebuilt = new StringBuilder();
                int previous = 0;
                for (int t = 0; t < result.tokenIds().length; t++) {
                    assertTrue(result.tokenLogprobs()[t] <= 0 && result.tokenLogprobs()[t] > Double.NEGATIVE_INFINITY,
                            "a chosen token has a probability in (0, 1]");
                    int end = result.tokenTextEnds()[t];
                    assertTrue(end >= previous, "offsets never go back");
                    rebuilt.append(result.text(), previous, end);
                    previous = end;
                }
                assertEquals(result.text(), rebuilt.toString());
                if (result.finishReason() == FinishReason.STOP) {
                    finished++;
                    assertTrue(constraint.complete(state), "row " + i + " stopped before its object closed: " + result.text());
                    assertEquals(List.of(), validator.validate(json.readTree(result.text())), result.text());
                } else {
                    assertEquals(FinishReason.LENGTH, result.finishReason());
                    assertEquals(200, result.tokenIds().length);
                }
                if (prompts.get(i).options().greedy()) {
                    // the engine's guarantee is for greedy rows (a sampled row's draws see its batch's rounding)
                    GenerationResult alone = engine.generate(List.of(prompts.get(i))).get(0);
                    assertArrayEquals(result.tokenIds(), alone.tokenIds(), "row " + i + " batched vs alone");
                }
            }
            assertTrue(finished >= 6, "only " + finished + " of 12 rows closed their object within 200 tokens");
            System.out.printf("constrained generation: %d of 12 rows complete, %d DFA states with masks%n", finished,
                    constraint.cachedStates());
        }
    }

    @Test
    void aSchemaOutsideTheSubsetFailsTheRowNotTheBatch() throws Exception {
        LlamaConfig config = new LlamaConfig(64, 128, 1, 4, 2, 16, 512, 128, 1e-5f, 10000, null, false, true, 1, new int[]{2});
        Path folder = work.resolve("small");
        ModelConverter.convert(new RandomWeights(config, 3), folder, ConversionOptions.of(Precision.FP32),
                SharedFiles.tok512(), ConversionListener.NONE);
        try (LlmEngine engine = LlmEngine.open(folder, EngineOptions.defaults())) {
            List<GenerationResult> out = engine.generate(List.of(
                    Prompt.of("a", GenerationOptions.greedy(4).withJsonSchema("{\"type\": \"object\", \"properties\": "
                            + "{\"a\": {\"type\": \"string\", \"minLength\": 2}}}")),
                    Prompt.of("b", GenerationOptions.greedy(4))));
            assertEquals(ErrorCode.BAD_PROMPT, ErrorCode.split(out.get(0).error()).code());
            assertTrue(out.get(0).error().contains("'minLength'"), out.get(0).error());
            assertNull(out.get(1).error());
            // the same through token ids (what bench uses): the row fails, the call does not
            List<GenerationResult> ids = engine.generateIds(List.of(new int[]{1, 5}), GenerationOptions.greedy(4)
                    .withJsonSchema("{\"type\": \"array\"}"));
            assertEquals(ErrorCode.BAD_PROMPT, ErrorCode.split(ids.get(0).error()).code());
            assertTrue(ids.get(0).error().contains("must be a JSON object"), ids.get(0).error());
        }
    }
}
