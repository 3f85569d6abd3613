package dev.nightshift.task;

import dev.nightshift.engine.ErrorCode;
import dev.nightshift.engine.FinishReason;
import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.Prompt;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GenerateTaskTest {

    @Test
    void passesTheTextThroughUnchanged() {
        GenerateTask task = new GenerateTask("Rewrite politely: {text}", GenerationOptions.greedy(128));
        Prompt prompt = task.prompt(task.template().renderParts(name -> "hey you"), true);
        assertTrue(prompt.chat());
        FixedGenerator engine = FixedGenerator.generating(Map.of("Rewrite politely: hey you",
                new GenerationResult("  Hello there. \n", new int[0], 9, 4, FinishReason.LENGTH, null, false, 0, 0,
                        "an incomplete last character dropped")));
        TaskOutput out = task.run(engine, List.of(prompt)).get(0);
        assertEquals(List.of("generate"), engine.calls);
        assertEquals(new TaskOutput("  Hello there. \n", null, null, null, 9, 4, "length", null,
                "an incomplete last character dropped", 0), out);
    }

    @Test
    void anEngineThatThrowsFailsOnlyThisBatchsRowsWithEngineFailure() {
        GenerateTask task = new GenerateTask("{text}", GenerationOptions.greedy(8));
        List<Prompt> prompts = List.of(task.prompt(List.of("a"), false), task.prompt(List.of("b"), false));
        dev.nightshift.engine.TextGenerator broken = new dev.nightshift.engine.TextGenerator() {
            @Override
            public List<GenerationResult> generate(List<Prompt> batch) {
                throw new IllegalStateException("device lost");
            }

            @Override
            public List<dev.nightshift.engine.LabelScores> classify(List<Prompt> batch, List<String> labels) {
                throw new IllegalStateException("device lost");
            }

            @Override
            public dev.nightshift.engine.ModelInfo model() {
                return null;
            }

            @Override
            public int countTokens(String text) {
                return 0;
            }

            @Override
            public void close() {
            }
        };
        assertThrows(IllegalStateException.class, () -> task.run(broken, prompts));
        List<TaskOutput> outputs = task.runConfined(broken, prompts);
        assertEquals(2, outputs.size());
        for (TaskOutput out : outputs) {
            assertEquals(ErrorCode.ENGINE_FAILURE, ErrorCode.split(out.error()).code());
            assertTrue(out.error().contains("IllegalStateException") && out.error().contains("device lost"), out.error());
        }
        FixedGenerator working = FixedGenerator.generating(Map.of("a", new GenerationResult("x", new int[0], 1, 1,
                FinishReason.STOP, null, false, 0, 0, null)));
        assertEquals(task.run(working, prompts.subList(0, 1)), task.runConfined(working, prompts.subList(0, 1)));
    }

    @Test
    void errorsPassThroughAndThePromptIsRequired() {
        GenerateTask task = new GenerateTask("{text}", GenerationOptions.greedy(8));
        String error = ErrorCode.BAD_PROMPT.message("chat template failed");
        FixedGenerator engine = FixedGenerator.generating(Map.of("x", GenerationResult.failed(error, 3)));
        TaskOutput out = task.run(engine, List.of(task.prompt(List.of("x"), false))).get(0);
        assertEquals(error, out.error());
        assertEquals(3, out.promptTokens());
        assertNull(out.output());
        assertNull(TaskType.GENERATE.defaultPrompt());
        assertEquals(128, TaskType.GENERATE.defaultMaxNewTokens());
        TaskOptionException missing = assertThrows(TaskOptionException.class,
                () -> new GenerateTask(null, GenerationOptions.greedy(8)));
        assertEquals("prompt", missing.key());
    }

    @Test
    void tasksTravelAsTheyAre() throws Exception {
        Task task = TaskType.CLASSIFY.create(null, List.of("a", "b"), List.of(), 0,
                new GenerationOptions(4, 0.7, 40, 0.9, 1.1, 7, List.of("\n"), null));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(task);
        }
        Task copy = (Task) new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray())).readObject();
        assertEquals(task.generation(), copy.generation());
        assertEquals(task.labels(), copy.labels());
        assertEquals(task.promptHash(false), copy.promptHash(false));
    }
}
