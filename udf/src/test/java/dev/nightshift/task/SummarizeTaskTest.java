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
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SummarizeTaskTest {

    private static GenerationResult text(String text, FinishReason finish, String warning) {
        return new GenerationResult(text, new int[0], 30, 12, finish, null, false, 2_000_000, 3_000_000, warning);
    }

    private static Prompt prompt(Task task, String text) {
        return task.prompt(task.template().renderParts(name -> name.equals("text") ? text : null), false);
    }

    @Test
    void defaults() {
        SummarizeTask task = new SummarizeTask(null, TaskType.SUMMARIZE.defaultMaxWords(),
                GenerationOptions.greedy(TaskType.SUMMARIZE.defaultMaxNewTokens()));
        assertEquals(60, task.maxWords());
        assertEquals(96, task.generation().maxNewTokens());
        assertEquals("Summarize the following text in at most 60 words.\n\n", task.template().sharedPrefix());
        assertEquals(Map.of("max_words", "a few"),
                new SummarizeTask(null, 0, GenerationOptions.greedy(96)).constants());
        assertEquals(SummarizeTask.MAX_WORDS,
                assertThrows(TaskOptionException.class, () -> new SummarizeTask(null, -1, GenerationOptions.greedy(9))).key());
    }

    @Test
    void cutsToMaxWordsWithAWarning() {
        SummarizeTask task = new SummarizeTask("In {max_words} words: {text}", 3, GenerationOptions.greedy(20));
        Prompt longer = prompt(task, "doc one");
        Prompt shorter = prompt(task, "doc two");
        FixedGenerator engine = FixedGenerator.generating(Map.of(
                longer.text(), text("  one two three four five ", FinishReason.STOP, "prompt truncated from 40 to 30 tokens"),
                shorter.text(), text(" one two ", FinishReason.LENGTH, null)));
        List<TaskOutput> out = task.run(engine, List.of(longer, shorter));
        assertEquals(List.of("generate"), engine.calls);
        assertEquals("In 3 words: doc one", longer.text());
        assertEquals("one two three", out.get(0).output());
        assertEquals("prompt truncated from 40 to 30 tokens; summary cut from 5 to 3 words (max_words)",
                out.get(0).warning());
        assertEquals(12, out.get(0).outputTokens());
        assertEquals(30, out.get(0).promptTokens());
        assertEquals("stop", out.get(0).finishReason());
        assertEquals(5_000_000, out.get(0).engineNanos());
        assertEquals("one two", out.get(1).output());
        assertNull(out.get(1).warning());
        assertEquals("length", out.get(1).finishReason());
        assertNull(out.get(1).label());
        assertNull(out.get(1).fields());
    }

    @Test
    void failedRowsKeepTheEnginesError() {
        SummarizeTask task = new SummarizeTask(null, 5, GenerationOptions.greedy(20));
        Prompt empty = prompt(task, "x");
        String error = ErrorCode.EMPTY_PROMPT.message("the prompt encodes to no tokens");
        FixedGenerator engine = FixedGenerator.generating(Map.of(empty.text(), GenerationResult.failed(error, 0)));
        TaskOutput out = task.run(engine, List.of(empty)).get(0);
        assertTrue(out.failed());
        assertEquals(error, out.error());
        assertEquals("error", out.finishReason());
        assertNull(out.output());
    }

    @Test
    void anOverrunSummaryEndsWithAWholeSentence() {
        SummarizeTask.Trimmed cut = SummarizeTask.summary("Sales rose 4%. Costs fell. Margins widened to a record in the "
                + "third quarter", 8);
        assertEquals("Sales rose 4%. Costs fell.", cut.text());
        assertEquals("summary cut from 14 to 5 words at the last sentence end within max_words (8)", cut.warning());
        // a quoted sentence end counts; one that would keep less than half the limit does not
        assertEquals("He said \"stop.\"", SummarizeTask.summary("He said \"stop.\" Then he left the room quietly", 4).text());
        SummarizeTask.Trimmed early = SummarizeTask.summary("Yes. The board approved the merger after a long debate", 8);
        assertEquals("Yes. The board approved the merger after a", early.text());
        assertEquals("summary cut from 10 to 8 words (max_words)", early.warning());
    }
}
