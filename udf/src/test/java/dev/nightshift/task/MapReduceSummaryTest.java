package dev.nightshift.task;

import dev.nightshift.engine.ErrorCode;
import dev.nightshift.engine.FinishReason;
import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.LabelScores;
import dev.nightshift.engine.ModelInfo;
import dev.nightshift.engine.OverflowPolicy;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Map-reduce summaries against a fake engine whose tokens are words and whose context is 40 of them: its summary of a
 * prompt is the first {@code summaryWords} words of the prompt's document part (all of it with {@code summaryWords}
 * 0), and a document containing FAIL fails.
 */
class MapReduceSummaryTest {

    static final String TEMPLATE = "Summarize: {text}";

    /** The fake engine. */
    static final class WordEngine implements TextGenerator {
        final int summaryWords;
        final List<List<Prompt>> calls = new ArrayList<>();

        WordEngine(int summaryWords) {
            this.summaryWords = summaryWords;
        }

        @Override
        public List<GenerationResult> generate(List<Prompt> prompts) {
            calls.add(prompts);
            List<GenerationResult> out = new ArrayList<>();
            for (Prompt prompt : prompts) {
                String document = prompt.parts().stream().filter(p -> p.kind() == Prompt.Kind.DOCUMENT)
                        .map(Prompt.Part::text).collect(Collectors.joining());
                int promptTokens = countTokens(prompt.text());
                if (document.contains("FAIL")) {
                    out.add(GenerationResult.failed(ErrorCode.ENGINE_FAILURE.message("injected"), promptTokens));
                    continue;
                }
                String[] words = document.strip().split("\\s+");
                int take = summaryWords == 0 ? words.length : Math.min(summaryWords, words.length);
                out.add(new GenerationResult(String.join(" ", List.of(words).subList(0, take)), new int[take],
                        promptTokens, take, FinishReason.STOP, null, false, 1_000, 2_000,
                        document.contains("WARN") ? "injected warning" : null));
            }
            return out;
        }

        @Override
        public List<LabelScores> classify(List<Prompt> prompts, List<String> labels) {
            throw new AssertionError("summaries never classify");
        }

        @Override
        public ModelInfo model() {
            return new ModelInfo("words", "words", 40, "fp32", "cpu");
        }

        @Override
        public int countTokens(String text) {
            return text.isBlank() ? 0 : text.strip().split("\\s+").length;
        }

        @Override
        public void close() {
        }

        int promptTokensOfAllCalls() {
            return calls.stream().flatMap(List::stream).mapToInt(p -> countTokens(p.text())).sum();
        }
    }

    static SummarizeTask task(OverflowPolicy overflow) {
        return new SummarizeTask(TEMPLATE, 0, GenerationOptions.greedy(8).withOverflow(overflow));
    }

    static Prompt prompt(Task task, String text) {
        return task.prompt(task.template().renderParts(name -> name.equals("text") ? text : null), false);
    }

    static String words(int count) {
        return IntStream.range(0, count).mapToObj(i -> "w" + i).collect(Collectors.joining(" "));
    }

    @Test
    void documentsThatFitGetExactlyTheOutputOfOverflowError() {
        SummarizeTask mapReduce = task(OverflowPolicy.MAP_REDUCE);
        SummarizeTask error = task(OverflowPolicy.ERROR);
        WordEngine engine = new WordEngine(3);
        List<TaskOutput> batched = mapReduce.run(engine, List.of(prompt(mapReduce, "alpha beta gamma delta"),
                prompt(mapReduce, words(100)), prompt(mapReduce, "one two three four five")));
        // Round 1 sends both short rows and the long row's 5 chunks in one call; round 2 the long row's reduce.
        assertEquals(List.of(7, 1), engine.calls.stream().map(List::size).toList());
        List<TaskOutput> alone = error.run(new WordEngine(3), List.of(prompt(error, "alpha beta gamma delta"),
                prompt(error, "one two three four five")));
        assertEquals(alone.get(0), batched.get(0));
        assertEquals(alone.get(1), batched.get(2));
        assertEquals(TaskOutput.Details.summary(1, 1), batched.get(0).details());
        assertEquals("Summarize: alpha beta gamma delta", engine.calls.get(0).get(0).text());
    }

    @Test
    void aLongDocumentIsSummarizedInChunksThenTheSummaries() {
        SummarizeTask task = task(OverflowPolicy.MAP_REDUCE);
        WordEngine engine = new WordEngine(3);
        TaskOutput out = task.run(engine, List.of(prompt(task, words(100)))).get(0);
        assertNull(out.error());
        // 40-word context, 8 new tokens, 1 instruction word: chunks of 29 words overlapping by 7.
        List<String> chunks = engine.calls.get(0).stream().map(Prompt::text).toList();
        assertEquals(5, chunks.size());
        // a chunk ends where the next token starts (here: after the white space that follows its last word)
        assertEquals("Summarize: " + words(29) + " ", chunks.get(0));
        assertTrue(chunks.get(1).startsWith("Summarize: w22 w23"), chunks.get(1));
        assertEquals("Summarize: w0 w1 w2\n\nw22 w23 w24\n\nw44 w45 w46\n\nw66 w67 w68\n\nw88 w89 w90",
                engine.calls.get(1).get(0).text());
        assertEquals("w0 w1 w2", out.output());
        assertEquals(TaskOutput.Details.summary(5, 2), out.details());
        assertEquals(engine.promptTokensOfAllCalls(), out.promptTokens());
        assertEquals(6 * 3, out.outputTokens());
        assertEquals(6 * 3_000, out.engineNanos());
        assertEquals("stop", out.finishReason());
    }

    @Test
    void summariesTooLongForOneRoundTakeAnother() {
        SummarizeTask task = task(OverflowPolicy.MAP_REDUCE);
        WordEngine engine = new WordEngine(10);
        TaskOutput out = task.run(engine, List.of(prompt(task, words(100)))).get(0);
        assertNull(out.error());
        // Round 2 cuts its 50-word document at the blank lines between the summaries: 3 chunks of at most 29 words.
        assertEquals(List.of(5, 3, 1), engine.calls.stream().map(List::size).toList());
        assertEquals("Summarize: " + words(10) + "\n\n" + "w22 w23 w24 w25 w26 w27 w28 w29 w30 w31\n\n",
                engine.calls.get(1).get(0).text());
        assertEquals(TaskOutput.Details.summary(5, 3), out.details());
        assertEquals(9 * 10, out.outputTokens());
    }

    @Test
    void summariesThatNeverShrinkStopAtTheDepthCap() {
        SummarizeTask task = task(OverflowPolicy.MAP_REDUCE);
        WordEngine engine = new WordEngine(0);
        TaskOutput out = task.run(engine, List.of(prompt(task, words(100)))).get(0);
        assertEquals(MapReduceSummary.MAX_DEPTH - 1, engine.calls.size());
        assertEquals(ErrorCode.CONTEXT_OVERFLOW, ErrorCode.split(out.error()).code());
        assertTrue(out.error().contains("after 3 rounds"), out.error());
        assertEquals(engine.promptTokensOfAllCalls(), out.promptTokens());
    }

    @Test
    void aChunksWarningReachesTheRowNamingTheChunk() {
        SummarizeTask task = task(OverflowPolicy.MAP_REDUCE);
        String document = words(100).replace("w60 ", "WARN ");
        TaskOutput out = task.run(new WordEngine(3), List.of(prompt(task, document))).get(0);
        assertNull(out.error());
        assertEquals("chunk 3 of 5 (round 1): injected warning", out.warning());
    }

    @Test
    void aFailedChunkFailsItsRowNamingTheChunk() {
        SummarizeTask task = task(OverflowPolicy.MAP_REDUCE);
        String document = words(100).replace("w35", "FAIL");
        List<TaskOutput> out = task.run(new WordEngine(3), List.of(prompt(task, document), prompt(task, words(60))));
        assertEquals("[ENGINE_FAILURE] chunk 2 of 5 (round 1): injected", out.get(0).error());
        assertNull(out.get(1).error());
        assertEquals(TaskOutput.Details.summary(3, 2), out.get(1).details());
    }

    @Test
    void anInstructionThatLeavesNoRoomForChunksIsARowError() {
        SummarizeTask task = new SummarizeTask(words(25) + " {text}", 0,
                GenerationOptions.greedy(8).withOverflow(OverflowPolicy.MAP_REDUCE));
        TaskOutput out = task.run(new WordEngine(3), List.of(prompt(task, words(30)))).get(0);
        assertEquals(ErrorCode.CONTEXT_OVERFLOW, ErrorCode.split(out.error()).code());
        assertTrue(out.error().contains("its instruction alone takes 25"), out.error());
    }

    @Test
    void mapReduceIsForSummarizeTasksOnlyAndHasItsOwnHash() {
        GenerationOptions mapReduce = GenerationOptions.greedy(8).withOverflow(OverflowPolicy.MAP_REDUCE);
        TaskOptionException e = assertThrows(TaskOptionException.class,
                () -> new GenerateTask("Go: {text}", mapReduce));
        assertEquals("generation.overflow", e.key());
        assertEquals("map_reduce applies to summarize tasks only; a generate task takes error, truncate_head or "
                + "truncate_middle", e.getMessage());
        assertThrows(TaskOptionException.class, () -> TaskType.CLASSIFY.create(null, List.of("a", "b"), List.of(), 0,
                mapReduce));
        assertNotEquals(task(OverflowPolicy.ERROR).promptHash(false), task(OverflowPolicy.MAP_REDUCE).promptHash(false));
        assertEquals(OverflowPolicy.MAP_REDUCE, OverflowPolicy.parse("map-reduce"));
    }
}
