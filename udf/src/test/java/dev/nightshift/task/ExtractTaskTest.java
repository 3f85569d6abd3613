package dev.nightshift.task;

import dev.nightshift.engine.ErrorCode;
import dev.nightshift.engine.FinishReason;
import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.Prompt;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExtractTaskTest {

    private static final List<String> FIELDS = List.of("company", "amount");

    private static GenerationResult text(String text, FinishReason finish) {
        return new GenerationResult(text, new int[0], 40, 16, finish, null, false, 0, 0, null);
    }

    private static Prompt prompt(Task task, String text) {
        return task.prompt(task.template().renderParts(name -> name.equals("text") ? text : null), false);
    }

    private static ExtractTask task() {
        return new ExtractTask(null, FIELDS, GenerationOptions.greedy(TaskType.EXTRACT.defaultMaxNewTokens()));
    }

    @Test
    void defaults() {
        ExtractTask task = task();
        assertEquals(128, task.generation().maxNewTokens());
        assertTrue(task.template().sharedPrefix().startsWith(
                "Read the following text and answer with a JSON object with the fields company, amount. "));
        assertEquals("fields", assertThrows(TaskOptionException.class,
                () -> new ExtractTask(null, List.of("a b"), GenerationOptions.greedy(9))).key());
        assertEquals("fields repeat: [a, a]", assertThrows(TaskOptionException.class,
                () -> new ExtractTask(null, List.of("a", "a"), GenerationOptions.greedy(9))).getMessage());
    }

    @Test
    void parsesLenientJsonIntoExactlyTheFields() {
        ExtractTask task = task();
        Prompt invoice = prompt(task, "invoice");
        String answer = "Sure! ```json\n{company: 'Acme', amount: 12, extra: 1,}\n```";
        FixedGenerator engine = FixedGenerator.generating(Map.of(invoice.text(), text(answer, FinishReason.STOP)));
        TaskOutput out = task.run(engine, List.of(invoice)).get(0);
        assertEquals(List.of("generate"), engine.calls);
        assertFalse(out.failed());
        assertEquals("{\"company\":\"Acme\",\"amount\":12}", out.fields());
        assertEquals(answer, out.output());
        assertEquals("extract: ignored fields [extra]", out.warning());
        assertEquals("stop", out.finishReason());
        assertEquals(16, out.outputTokens());
    }

    @Test
    void anObjectCutAtLengthIsOutputTruncated() {
        ExtractTask task = new ExtractTask(null, FIELDS, GenerationOptions.greedy(48));
        Prompt cutByLength = prompt(task, "long invoice");
        Prompt cutByStop = prompt(task, "stopped invoice");
        String cut = "{\"company\": \"Acme\", \"amount\": {\"value\": 12}";
        FixedGenerator engine = FixedGenerator.generating(Map.of(cutByLength.text(), text(cut, FinishReason.LENGTH),
                cutByStop.text(), text(cut, FinishReason.STOP)));
        List<TaskOutput> out = task.run(engine, List.of(cutByLength, cutByStop));
        assertTrue(out.get(0).failed());
        assertEquals(ErrorCode.OUTPUT_TRUNCATED, ErrorCode.split(out.get(0).error()).code());
        assertEquals("[OUTPUT_TRUNCATED] the output's JSON object starting at character 0 is not closed: the output "
                + "ended inside it at max_new_tokens (48); " + ExtractTask.RAISE_LIMIT, out.get(0).error());
        assertEquals(cut, out.get(0).output());
        assertEquals(16, out.get(0).outputTokens());
        assertEquals("error", out.get(0).finishReason());
        // not cut by length, still no complete object (a stop string inside it): the row fails, never an empty success
        assertTrue(out.get(1).failed());
        assertNull(out.get(1).fields());
        assertEquals(cut, out.get(1).output());
        assertTrue(out.get(1).error().startsWith("[INVALID_OUTPUT] the output's JSON object starting at character 0 is not closed"),
                out.get(1).error());
    }

    @Test
    void typedFieldsConstrainDecodingAndValidateTheAnswer() {
        List<FieldSpec> typed = FieldSpec.parse(List.of("company",
                Map.of("name", "amount", "type", "number", "required", true, "description", "total due")));
        ExtractTask task = new ExtractTask(null, GenerationOptions.greedy(64), typed);
        // the engine decodes under the fields' schema
        assertEquals(task.jsonSchema(), task.generation().jsonSchema());
        assertTrue(task.jsonSchema().contains("\"amount\":{\"type\":\"number\",\"description\":\"total due\"}"),
                task.jsonSchema());
        assertTrue(task.template().sharedPrefix().contains(
                "with the fields company (any); amount (number, required): total due. "), task.template().sharedPrefix());
        Prompt good = prompt(task, "good");
        Prompt wrong = prompt(task, "wrong");
        FixedGenerator engine = FixedGenerator.generating(Map.of(
                good.text(), text("{\"company\": \"Acme\", \"amount\": 12.5}", FinishReason.STOP),
                wrong.text(), text("{\"company\": \"Acme\", \"amount\": \"twelve\"}", FinishReason.STOP)));
        List<TaskOutput> out = task.run(engine, List.of(good, wrong));
        assertEquals("{\"company\":\"Acme\",\"amount\":12.5}", out.get(0).fields());
        // an engine that does not constrain (a fake, recorded answers) can still give the wrong type: the row says so
        assertEquals(ErrorCode.INVALID_OUTPUT, ErrorCode.split(out.get(1).error()).code());
        assertTrue(out.get(1).error().contains("amount"), out.get(1).error());
    }

    @Test
    void aDateThatIsNotOnTheCalendarFailsTheRow() {
        ExtractTask task = new ExtractTask(null, GenerationOptions.greedy(64), FieldSpec.parse(List.of(
                Map.of("name", "due", "type", "date"),
                Map.of("name", "party", "type", "object", "fields", List.of(Map.of("name", "since", "type", "date"))))));
        Prompt real = prompt(task, "real");
        Prompt leap = prompt(task, "leap");
        Prompt nested = prompt(task, "nested");
        FixedGenerator engine = FixedGenerator.generating(Map.of(
                real.text(), text("{\"due\": \"2028-02-29\", \"party\": null}", FinishReason.STOP),
                leap.text(), text("{\"due\": \"2026-02-29\", \"party\": null}", FinishReason.STOP),
                nested.text(), text("{\"due\": null, \"party\": {\"since\": \"2026-04-31\"}}", FinishReason.STOP)));
        List<TaskOutput> out = task.run(engine, List.of(real, leap, nested));
        assertFalse(out.get(0).failed(), out.get(0).error());
        assertEquals("[INVALID_OUTPUT] field 'due' is not a calendar date: 2026-02-29", out.get(1).error());
        assertEquals("[INVALID_OUTPUT] field 'party.since' is not a calendar date: 2026-04-31", out.get(2).error());
    }

    @Test
    void typedFieldsAreCheckedLikeConfigFields() {
        FieldSpec a = FieldSpec.named("a");
        assertEquals("field 'a' is listed twice", assertThrows(TaskOptionException.class,
                () -> new ExtractTask(null, GenerationOptions.greedy(8), List.of(a, a))).getMessage());
    }

    @Test
    void plainNamesKeepTheirPromptHashTypedFieldsChangeIt() {
        GenerationOptions generation = GenerationOptions.greedy(64);
        String plain = new ExtractTask(null, FIELDS, generation).promptHash(false);
        assertEquals(plain, new ExtractTask(null, generation, FieldSpec.parse(FIELDS)).promptHash(false));
        String typed = new ExtractTask(null, generation, FieldSpec.parse(List.of("company",
                Map.of("name", "amount", "type", "number")))).promptHash(false);
        String otherType = new ExtractTask(null, generation, FieldSpec.parse(List.of("company",
                Map.of("name", "amount", "type", "integer")))).promptHash(false);
        assertFalse(plain.equals(typed));
        assertFalse(typed.equals(otherType));
    }
}
