package dev.nightshift.engine;

import dev.nightshift.SharedFiles;
import dev.nightshift.toolchain.Llama2cTokenizer;
import dev.nightshift.toolchain.TokenizerJsonWriter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The generation loop on a {@link FixedLogitsDecoder}: no model, no ONNX Runtime. Each prompt has a scripted
 * continuation (then end of sequence); the fake's logits make the script's next token the clear maximum for a row whose
 * fed tokens follow the script, and fail the test the moment a row is fed anything else. The tokenizer is stories260K's
 * (512 SentencePiece pieces with byte fallback: most non-ASCII characters take several byte tokens).
 */
class GenerationLoopTest {

    static final int VOCAB = 512;
    static final int PAD = 0;
    static final int EOS = 2;

    @TempDir
    static Path work;
    static TextTokenizer tokenizer;

    @BeforeAll
    static void load() throws Exception {
        TokenizerJsonWriter.write(Llama2cTokenizer.read(SharedFiles.tok512()), 512, work);
        tokenizer = TextTokenizer.load(work);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    /** A text's ids without BOS. */
    static int[] ids(String text) {
        int[] ids = LlmEngine.toInts(tokenizer.encode(List.of(new TextTokenizer.Piece(text, false))));
        return tokenizer.addsBos() ? Arrays.copyOfRange(ids, 1, ids.length) : ids;
    }

    /** Prompts in order and what the model says after each (then end of sequence, for ever). */
    static final class Script implements Function<int[], float[]> {
        final Map<String, int[]> continuations = new LinkedHashMap<>();
        final Map<String, int[]> prompts = new LinkedHashMap<>();

        Script add(int[] prompt, int[] continuation) {
            prompts.put(Arrays.toString(prompt), prompt);
            continuations.put(Arrays.toString(prompt), continuation);
            return this;
        }

        @Override
        public float[] apply(int[] sequence) {
            for (Map.Entry<String, int[]> entry : prompts.entrySet()) {
                int[] prompt = entry.getValue();
                if (sequence.length < prompt.length || !Arrays.equals(prompt, Arrays.copyOf(sequence, prompt.length))) {
                    continue;
                }
                int[] continuation = continuations.get(entry.getKey());
                int fed = sequence.length - prompt.length;
                for (int i = 0; i < fed; i++) {
                    int expected = i < continuation.length ? continuation[i] : EOS;
                    if (sequence[prompt.length + i] != expected) {
                        throw new AssertionError("row of prompt " + entry.getKey() + " was fed " + Arrays.toString(
                                Arrays.copyOfRange(sequence, prompt.length, sequence.length)) + ", not its own tokens");
                    }
                }
                int next = fed < continuation.length ? continuation[fed] : EOS;
                return FixedLogits.with(VOCAB, 0f, next, 10f);
            }
            for (int[] prompt : prompts.values()) {
                if (sequence.length < prompt.length && Arrays.equals(sequence, Arrays.copyOf(prompt, sequence.length))) {
                    return FixedLogits.uniform(VOCAB, 0f); // a shared prefix alone: its logits are never sampled
                }
            }
            throw new AssertionError("a row holds an unknown sequence " + Arrays.toString(sequence));
        }
    }

    static FixedLogitsDecoder.Model model(Script script) {
        return new FixedLogitsDecoder.Model(script, PAD, EOS, true, true);
    }

    static Row row(int index, int[] prompt, GenerationOptions options) {
        return new Row(index, prompt, options, null, null, false, 512);
    }

    static List<GenerationResult> run(DecoderFactory model, List<Row> rows) throws Exception {
        new GenerationLoop(model, tokenizer, new HashMap<>()).run(rows);
        List<GenerationResult> results = new ArrayList<>();
        for (Row row : rows) {
            results.add(row.result(0));
        }
        return results;
    }

    static int[] prompt(int... ids) {
        return ids;
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void rowsFollowTheirLogitsAndStopAtEndOfSequenceWhichIsNotOutput() throws Exception {
        int[] a = ids("Once upon a time");
        int[] b = ids("The dog ran");
        Script script = new Script().add(prompt(1, 50), a).add(prompt(1, 60, 70), b);
        FixedLogitsDecoder.Model model = model(script);
        List<GenerationResult> results = run(model, List.of(row(0, prompt(1, 50), GenerationOptions.greedy(40)),
                row(1, prompt(1, 60, 70), GenerationOptions.greedy(40))));
        assertArrayEquals(a, results.get(0).tokenIds());
        assertArrayEquals(b, results.get(1).tokenIds());
        assertEquals("Once upon a time", results.get(0).text());
        assertEquals("The dog ran", results.get(1).text());
        for (GenerationResult result : results) {
            assertEquals(FinishReason.STOP, result.finishReason());
            assertNull(result.error());
            assertNull(result.warning());
        }
        FixedLogitsDecoder decoder = model.opened.get(0);
        assertEquals(1, model.opened.size());
        assertEquals("prefill 2", decoder.calls.get(0), "both prompts, of different lengths, in one prefill");
        // The row that ends first stays in the batch (two rows: no compaction) and keeps its length.
        assertEquals(1 + Math.max(a.length, b.length), decoder.calls.size(), decoder.calls.toString());
        assertTrue(decoder.calls.subList(1, decoder.calls.size()).stream().allMatch("step 2"::equals), decoder.calls.toString());
        // Each row was fed its prompt and its tokens; the end of sequence it sampled is not fed, and a finished row fed
        // padding while the other went on kept its length.
        assertArrayEquals(concat(prompt(1, 50), a), decoder.sequence(0));
        assertArrayEquals(concat(prompt(1, 60, 70), b), decoder.sequence(1));
        assertTrue(decoder.closed, "the batch's decoder is closed");
    }

    @Test
    void maxNewTokensEndsARowWithLengthAndTheTokensSoFar() throws Exception {
        int[] story = ids("Once upon a time there was a little girl");
        Script script = new Script().add(prompt(1, 50), story);
        List<GenerationResult> results = run(model(script), List.of(row(0, prompt(1, 50), GenerationOptions.greedy(4))));
        assertEquals(FinishReason.LENGTH, results.get(0).finishReason());
        assertArrayEquals(Arrays.copyOf(story, 4), results.get(0).tokenIds());
        assertEquals(4, results.get(0).generatedTokens());
        assertEquals(tokenizer.decode(Arrays.copyOf(story, 4)), results.get(0).text());
    }

    @Test
    void aStopStringAcrossTokenBoundariesCutsTheTextWhereItStarts() throws Exception {
        int[] story = ids("Once upon a time there was a little girl");
        // "me th" is the end of " time" and the start of " there": no token holds it.
        int there = -1;
        for (int i = 1; i <= story.length && there < 0; i++) {
            there = tokenizer.decode(Arrays.copyOf(story, i)).contains("me th") ? i : -1;
        }
        assertTrue(there > 1, "the stop string spans tokens: " + Arrays.toString(story));
        for (int i = 0; i < story.length; i++) {
            assertTrue(!tokenizer.decode(new int[]{story[i]}).contains("me th"));
        }
        Script script = new Script().add(prompt(1, 50), story).add(prompt(1, 51), story);
        GenerationOptions stop = GenerationOptions.greedy(40).withStopStrings(List.of("xyz", "me th"));
        List<GenerationResult> results = run(model(script), List.of(row(0, prompt(1, 50), stop),
                row(1, prompt(1, 51), GenerationOptions.greedy(40))));
        GenerationResult stopped = results.get(0);
        assertEquals(FinishReason.STOP, stopped.finishReason());
        assertEquals("Once upon a ti", stopped.text());
        assertArrayEquals(Arrays.copyOf(story, there), stopped.tokenIds(), "up to the token that completed the stop");
        // The other row, without stop strings, runs to its end of sequence.
        assertArrayEquals(story, results.get(1).tokenIds());
        assertEquals(FinishReason.STOP, results.get(1).finishReason());
    }

    @Test
    void aCharacterSplitAcrossTokensIsHeldBackAndLeftOutWhenTheRowEndsInsideIt() throws Exception {
        int[] text = ids("ab🙂 cd");
        int[] ab = ids("ab");
        int emojiEnd = ab.length;
        while (!tokenizer.decode(Arrays.copyOf(text, emojiEnd)).endsWith("🙂")) {
            emojiEnd++;
        }
        assertTrue(emojiEnd - ab.length >= 2, "the emoji takes several byte tokens: " + Arrays.toString(text));
        Script script = new Script().add(prompt(1, 50), text);
        // Ends one token short of the emoji's last byte: the text keeps "ab", the result says what was left out.
        GenerationResult cut = run(model(script), List.of(row(0, prompt(1, 50), GenerationOptions.greedy(emojiEnd - 1)))).get(0);
        assertEquals(FinishReason.LENGTH, cut.finishReason());
        assertEquals("ab", cut.text());
        assertEquals(emojiEnd - 1, cut.generatedTokens());
        assertTrue(cut.warning().contains("incomplete token(s) were left out"), cut.warning());
        // A stop string after the emoji is found once the emoji is complete, never on half of it.
        GenerationOptions stop = GenerationOptions.greedy(40).withStopStrings(List.of("🙂 c"));
        GenerationResult stopped = run(model(script), List.of(row(0, prompt(1, 50), stop))).get(0);
        assertEquals(FinishReason.STOP, stopped.finishReason());
        assertEquals("ab", stopped.text());
        GenerationResult whole = run(model(script), List.of(row(0, prompt(1, 50), GenerationOptions.greedy(40)))).get(0);
        assertEquals("ab🙂 cd", whole.text());
        assertNull(whole.warning());
    }

    @Test
    void ignoreEosOutputsEndOfSequenceAndRunsToMaxNewTokens() throws Exception {
        int[] story = ids("Once");
        Script script = new Script().add(prompt(1, 50), story);
        GenerationResult result = run(model(script), List.of(row(0, prompt(1, 50),
                GenerationOptions.greedy(story.length + 3).withIgnoreEos(true)))).get(0);
        assertEquals(FinishReason.LENGTH, result.finishReason());
        int[] expected = Arrays.copyOf(story, story.length + 3);
        Arrays.fill(expected, story.length, expected.length, EOS);
        assertArrayEquals(expected, result.tokenIds());
    }

    /** Eight rows ending after 1..8 tokens, in shuffled order: the batch halves twice, and no row notices. */
    @Test
    void rowsFinishingAtDifferentStepsAreCompactedAndKeepTheirOwnTokens() throws Exception {
        int[] lengths = {5, 1, 8, 3, 2, 7, 4, 6};
        Script script = new Script();
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < lengths.length; r++) {
            int[] continuation = new int[lengths[r]];
            for (int i = 0; i < continuation.length; i++) {
                continuation[i] = 100 + 10 * r + i;
            }
            int[] prompt = r % 2 == 0 ? prompt(1, 40 + r) : prompt(1, 40 + r, 90, 91);
            script.add(prompt, continuation);
            rows.add(row(r, prompt, GenerationOptions.greedy(20)));
        }
        FixedLogitsDecoder.Model model = model(script);
        List<GenerationResult> results = run(model, rows);
        for (int r = 0; r < lengths.length; r++) {
            assertArrayEquals(script.continuations.values().toArray(new int[0][])[r], results.get(r).tokenIds(), "row " + r);
            assertEquals(FinishReason.STOP, results.get(r).finishReason());
        }
        FixedLogitsDecoder decoder = model.opened.get(0);
        // Four rows have ended once the 4th token is sampled (lengths 1, 2, 3 and 4 sample end of sequence at 2..5):
        // rows still going after token 5's sampling are those of lengths 5..8.
        assertEquals(2, decoder.compactions.size(), decoder.calls.toString());
        assertArrayEquals(new int[]{0, 2, 5, 7}, decoder.compactions.get(0), "the live rows, in order");
        assertArrayEquals(new int[]{1, 2}, decoder.compactions.get(1), "lengths 7 and 8, now rows 1 and 2 of four");
        assertTrue(decoder.calls.contains("step 4") && decoder.calls.contains("step 2"), decoder.calls.toString());
        assertEquals("step 2", decoder.calls.get(decoder.calls.size() - 1));
        // The same rows one by one give the same results.
        for (int r = 0; r < lengths.length; r++) {
            Row alone = row(r, rows.get(r).prompt, GenerationOptions.greedy(20));
            assertArrayEquals(results.get(r).tokenIds(), run(model(script), List.of(alone)).get(0).tokenIds());
        }
    }

    @Test
    void aDecoderOfEqualLengthsGetsOnePrefillAndNoPrefixCopies() throws Exception {
        int[] prefix = {1, 30, 31, 32};
        Script script = new Script().add(prompt(1, 30, 31, 32, 7), ids(" cat")).add(prompt(1, 30, 31, 32, 8), ids(" dog"));
        FixedLogitsDecoder.Model growing = new FixedLogitsDecoder.Model(script, PAD, EOS, false, false);
        List<Row> rows = List.of(new Row(0, prompt(1, 30, 31, 32, 7), GenerationOptions.greedy(9), "p", prefix, false, 512),
                new Row(1, prompt(1, 30, 31, 32, 8), GenerationOptions.greedy(9), "p", prefix, false, 512));
        List<GenerationResult> results = run(growing, rows);
        assertArrayEquals(ids(" cat"), results.get(0).tokenIds());
        assertArrayEquals(ids(" dog"), results.get(1).tokenIds());
        assertEquals(1, growing.opened.size(), "no prefix decoder");
        assertEquals("prefill 2", growing.opened.get(0).calls.get(0));
    }

    @Test
    void aSharedPrefixIsPrefilledOnceAndCopiedIntoEveryRowOfEveryBatch() throws Exception {
        int[] prefix = {1, 30, 31, 32, 33};
        Script script = new Script();
        List<List<Row>> batches = new ArrayList<>();
        for (int batch = 0; batch < 2; batch++) {
            List<Row> rows = new ArrayList<>();
            for (int r = 0; r < 3; r++) {
                int[] prompt = {1, 30, 31, 32, 33, 60 + 10 * batch + r, 61};
                script.add(prompt, new int[]{200 + 10 * batch + r, 201 + r});
                rows.add(new Row(r, prompt, GenerationOptions.greedy(9), "p", prefix, false, 512));
            }
            batches.add(rows);
        }
        // A row whose prompt is the prefix itself still gets one token of its own to prefill.
        int[] whole = prefix.clone();
        script.add(whole, new int[]{250});
        batches.get(1).add(new Row(3, whole, GenerationOptions.greedy(9), "p", prefix, false, 512));

        FixedLogitsDecoder.Model model = model(script);
        Map<String, Decoder> prefixes = new HashMap<>();
        GenerationLoop loop = new GenerationLoop(model, tokenizer, prefixes);
        for (List<Row> rows : batches) {
            loop.run(rows);
        }
        for (List<Row> rows : batches) {
            for (Row row : rows) {
                assertArrayEquals(script.continuations.get(Arrays.toString(row.prompt)), row.result(0).tokenIds());
            }
        }
        FixedLogitsDecoder prefixDecoder = (FixedLogitsDecoder) prefixes.get("p");
        assertEquals(List.of("prefill 1"), prefixDecoder.calls, "the prefix, once for both batches");
        assertArrayEquals(prefix, prefixDecoder.sequence(0));
        assertEquals(3, model.opened.size(), "the prefix and one decoder per batch");
        FixedLogitsDecoder second = model.opened.get(2);
        assertEquals(List.of("extend 1", "extend 1", "extend 1", "extend 1"), second.calls.subList(0, 4),
                "each row's remainder fed alone, no padded prefill");
        assertTrue(second.calls.stream().noneMatch(call -> call.startsWith("prefill")), second.calls.toString());
    }

    @Test
    void seededSamplingGivesARowTheSameTokensAloneAndInABatch() throws Exception {
        // Logits that depend on the whole sequence and leave several tokens within reach: sampling picks among them.
        Function<int[], float[]> flat = sequence -> {
            float[] logits = FixedLogits.uniform(VOCAB, -50f);
            int seed = Arrays.hashCode(sequence);
            for (int k = 0; k < 6; k++) {
                logits[10 + Math.floorMod(seed * 31 + k * 7, 400)] = k * 0.3f;
            }
            return logits;
        };
        FixedLogitsDecoder.Model model = new FixedLogitsDecoder.Model(flat, PAD, EOS, true, true);
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < 5; r++) {
            rows.add(row(r, prompt(1, 40 + r, 9), GenerationOptions.greedy(12).withSampling(1.0, 0, 1.0, 100 + r)));
        }
        List<GenerationResult> batched = run(model, rows);
        int distinct = 0;
        for (int r = 0; r < 5; r++) {
            Row alone = row(r, prompt(1, 40 + r, 9), GenerationOptions.greedy(12).withSampling(1.0, 0, 1.0, 100 + r));
            assertArrayEquals(batched.get(r).tokenIds(), run(model, List.of(alone)).get(0).tokenIds(), "row " + r);
            assertEquals(12, batched.get(r).generatedTokens());
            Row reseeded = row(r, prompt(1, 40 + r, 9), GenerationOptions.greedy(12).withSampling(1.0, 0, 1.0, 7));
            distinct += Arrays.equals(batched.get(r).tokenIds(), run(model, List.of(reseeded)).get(0).tokenIds()) ? 0 : 1;
        }
        assertTrue(distinct > 0, "the seed decides the tokens");
    }

    static List<GenerationResult> runContinuous(DecoderFactory model, List<Row> rows, int slots, DecodeCounters counters)
            throws Exception {
        new GenerationLoop(model, tokenizer, new HashMap<>(), counters).runContinuous(rows, slots);
        List<GenerationResult> results = new ArrayList<>();
        for (Row row : rows) {
            results.add(row.result(0));
        }
        return results;
    }

    /** Continuations of the given lengths, distinct per row, for prompts of 2..5 tokens. */
    static List<Row> scripted(Script script, int[] lengths, GenerationOptions options) {
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < lengths.length; r++) {
            int[] continuation = new int[lengths[r]];
            for (int i = 0; i < continuation.length; i++) {
                continuation[i] = 100 + 13 * r + i;
            }
            int[] prompt = new int[2 + r % 4];
            prompt[0] = 1;
            for (int i = 1; i < prompt.length; i++) {
                prompt[i] = 30 + r * 4 + i;
            }
            script.add(prompt, continuation);
            rows.add(row(r, prompt, options));
        }
        return rows;
    }

    /**
     * Eleven rows ending after 1..9 tokens through three slots: each finished row's slot is emptied and the next row
     * prefilled into it alone, so every step until the queue is empty runs three live rows; every row gets its own
     * tokens (the script fails the test the moment a slot holds anything but one row's prompt and tokens).
     */
    @Test
    void continuousBatchingRefillsAFinishedRowsSlotAndKeepsEveryStepFull() throws Exception {
        int[] lengths = {5, 1, 8, 3, 2, 7, 4, 6, 1, 9, 3};
        Script script = new Script();
        List<Row> rows = scripted(script, lengths, GenerationOptions.greedy(20));
        FixedLogitsDecoder.Model model = model(script);
        DecodeCounters counters = new DecodeCounters();
        List<GenerationResult> results = runContinuous(model, rows, 3, counters);
        for (int r = 0; r < lengths.length; r++) {
            assertArrayEquals(script.continuations.get(Arrays.toString(rows.get(r).prompt)), results.get(r).tokenIds(), "row " + r);
            assertEquals(FinishReason.STOP, results.get(r).finishReason());
        }
        assertEquals(1, model.opened.size(), "one decoder for the whole queue");
        FixedLogitsDecoder decoder = model.opened.get(0);
        assertEquals(3, decoder.rows());
        assertEquals("prefill 3", decoder.calls.get(0), "the first three rows prefilled together");
        assertEquals(8, decoder.calls.stream().filter("clear"::equals).count(), decoder.calls.toString());
        assertEquals(8, decoder.calls.stream().filter("extend 1"::equals).count(), "each refill prefilled alone");
        int lastRefill = decoder.calls.lastIndexOf("extend 1");
        int stepsBefore = (int) decoder.calls.subList(0, lastRefill).stream().filter(c -> c.startsWith("step")).count();
        assertTrue(stepsBefore > 0);
        for (int step = 0; step <= stepsBefore; step++) {
            assertEquals(3, decoder.liveSteps.get(step), "step " + step + " ran with the queue not empty: " + decoder.liveSteps);
        }
        DecodeStats stats = counters.snapshot();
        assertEquals(8, stats.refills());
        assertEquals(lengths.length, stats.rowsFinished());
        // Every token but each row's end of sequence is fed once by a step; each row's first token comes from its prefill.
        assertEquals(Arrays.stream(lengths).sum(), stats.liveRows() + 0L, stats.toString());
        assertEquals(decoder.liveSteps.size(), stats.steps());
        // The shrinking path runs the same rows in more steps (the planner's batches of three, each until its last row).
        DecodeCounters shrinking = new DecodeCounters();
        Script again = new Script();
        List<Row> same = scripted(again, lengths, GenerationOptions.greedy(20));
        GenerationLoop loop = new GenerationLoop(model(again), tokenizer, new HashMap<>(), shrinking);
        for (int first = 0; first < same.size(); first += 3) {
            loop.run(same.subList(first, Math.min(same.size(), first + 3)));
        }
        assertEquals(0, shrinking.snapshot().refills());
        assertEquals(stats.liveRows(), shrinking.snapshot().liveRows());
        assertTrue(shrinking.snapshot().steps() > stats.steps(), shrinking.snapshot() + " vs " + stats);
        assertTrue(decoder.closed);
    }

    /** Rows of one output length finish together: the next rows go into the emptied batch in one padded prefill. */
    @Test
    void whenEveryRowFinishesAtOnceTheNextRowsArePrefilledTogether() throws Exception {
        int[] lengths = {4, 4, 4, 4, 4, 4, 4};
        Script script = new Script();
        List<Row> rows = scripted(script, lengths, GenerationOptions.greedy(20));
        FixedLogitsDecoder.Model model = model(script);
        DecodeCounters counters = new DecodeCounters();
        List<GenerationResult> results = runContinuous(model, rows, 3, counters);
        for (int r = 0; r < lengths.length; r++) {
            assertArrayEquals(script.continuations.get(Arrays.toString(rows.get(r).prompt)), results.get(r).tokenIds(), "row " + r);
        }
        FixedLogitsDecoder decoder = model.opened.get(0);
        assertEquals(2, decoder.calls.stream().filter("prefill 3"::equals).count(), decoder.calls.toString());
        assertEquals(1, decoder.calls.stream().filter("extend 1"::equals).count(), "the seventh row, alone: " + decoder.calls);
        assertEquals(4, counters.snapshot().refills());
        assertEquals(List.of(3, 3, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1), decoder.liveSteps, "two full waves, then the last row");
    }

    /**
     * Refilled slots under every per-row rule: max_new_tokens of 1 (the row ends at its prefill's token and its slot is
     * refilled again before the step), a stop string, seeded sampling (each row's own stream: the same tokens as alone)
     * and shared prefixes (rows of two prefixes and of none share the decoder; a refill copies its row's own prefix).
     */
    @Test
    void refilledSlotsKeepStopStringsSamplingAndSharedPrefixesOfTheirRows() throws Exception {
        Function<int[], float[]> flat = sequence -> {
            float[] logits = FixedLogits.uniform(VOCAB, -50f);
            int seed = Arrays.hashCode(sequence);
            for (int k = 0; k < 6; k++) {
                logits[10 + Math.floorMod(seed * 31 + k * 7, 400)] = k * 0.3f;
            }
            return logits;
        };
        int[][] prefixes = {{1, 30, 31, 32}, {1, 40, 41}};
        List<java.util.function.Supplier<Row>> makers = new ArrayList<>();
        for (int r = 0; r < 9; r++) {
            int index = r;
            int kind = r % 3;
            int[] prompt = kind == 2 ? new int[]{1, 50 + r, 9} : concat(prefixes[kind], new int[]{60 + r, 61});
            GenerationOptions options = GenerationOptions.greedy(r == 4 ? 1 : 3 + r).withSampling(1.0, 0, 1.0, 100 + r);
            if (r == 5) {
                options = options.withStopStrings(List.of("a", "e", "o", "t"));
            }
            GenerationOptions chosen = options;
            makers.add(() -> kind == 2 ? row(index, prompt, chosen)
                    : new Row(index, prompt, chosen, "p" + kind, prefixes[kind], false, 512));
        }
        FixedLogitsDecoder.Model model = new FixedLogitsDecoder.Model(flat, PAD, EOS, true, true);
        List<Row> rows = new ArrayList<>();
        makers.forEach(maker -> rows.add(maker.get()));
        Map<String, Decoder> shared = new HashMap<>();
        DecodeCounters counters = new DecodeCounters();
        new GenerationLoop(model, tokenizer, shared, counters).runContinuous(rows, 2);
        assertEquals(7, counters.snapshot().refills());
        assertEquals(Set.of("p0", "p1"), shared.keySet());
        for (Decoder prefix : shared.values()) {
            assertEquals(List.of("prefill 1"), ((FixedLogitsDecoder) prefix).calls, "each prefix prefilled once");
        }
        for (int r = 0; r < rows.size(); r++) {
            Row alone = makers.get(r).get();
            new GenerationLoop(model, tokenizer, new HashMap<>()).run(List.of(alone));
            GenerationResult expected = alone.result(0);
            GenerationResult actual = rows.get(r).result(0);
            assertArrayEquals(expected.tokenIds(), actual.tokenIds(), "row " + r);
            assertEquals(expected.text(), actual.text(), "row " + r);
            assertEquals(expected.finishReason(), actual.finishReason(), "row " + r);
        }
        assertEquals(1, rows.get(4).result(0).generatedTokens());
        assertEquals(FinishReason.STOP, rows.get(5).result(0).finishReason(), "the stop string ended row 5: "
                + rows.get(5).result(0).text());
    }

    @Test
    void aDecoderWhoseRowsShareOneLengthRefusesContinuousBatching() {
        Script script = new Script().add(prompt(1, 50), ids(" cat")).add(prompt(1, 51), ids(" dog"));
        FixedLogitsDecoder.Model growing = new FixedLogitsDecoder.Model(script, PAD, EOS, false, false);
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> runContinuous(growing, List.of(row(0, prompt(1, 50), GenerationOptions.greedy(5)),
                        row(1, prompt(1, 51), GenerationOptions.greedy(5))), 2, new DecodeCounters()));
        assertTrue(e.getMessage().contains("shrinking batches"), e.getMessage());
        assertTrue(growing.opened.get(0).closed);
    }
}
