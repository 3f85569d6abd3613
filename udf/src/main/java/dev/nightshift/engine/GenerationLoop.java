package dev.nightshift.engine;

import ai.onnxruntime.OrtException;

import java.util.List;
import java.util.Map;

/**
 * Generates rows over a {@link Decoder}, in one of two ways.
 *
 * <p><b>Continuous batching</b> ({@link #runContinuous}): a decoder of a fixed number of slots and a queue of rows.
 * The first rows are prefilled together (one padded prefill, or each row alone when shared prefixes are in play); then
 * each decode step samples every live row, and a slot whose row has just finished takes the next waiting row at once:
 * the slot is emptied ({@link Decoder#clear}), the row's shared prefix copied in if it has one, and its prompt (or the
 * rest after the prefix) fed to that slot alone ({@link Decoder#extend}, a batch-1 view of the slot's part of the
 * cache, which the other rows do not share), and its first token sampled so it joins the very next step. The batch stays
 * full until the queue is empty; only then do finished rows leave it (compaction once half of it is done). A refilled
 * row's prompt is prefilled exactly as it would be alone (batch 1, from an empty row), and its decode steps run beside
 * rows of other lengths as in any right-padded batch, so greedy output stays what the row gives alone. When every row
 * of the batch finishes at the same step (equal output lengths), the next rows are prefilled together into the emptied
 * batch as a new batch would be (one padded prefill is faster than one per row on small models), which keeps the
 * guarantee of any batched prefill.
 *
 * <p>This needs a cache whose rows hold their own lengths and take several tokens alone: {@link SharedKvCache} (GQA
 * graphs). A {@link GrowingKvCache} (graphs with {@code position_ids}) keeps every row at one length, since padding a
 * newcomer to its neighbours' length would change the length of its attention sums, their rounding, and so its tokens;
 * those graphs keep the shrinking path.
 *
 * <p><b>Shrinking batch</b> ({@link #run}): one planned batch, prefilled together, decoded until every row has stopped,
 * compacted as rows finish. The path of growing caches, and of every model when continuous batching is switched off.
 *
 * <p>Either way a row stops at end of sequence, a stop string or max_new_tokens. Knows nothing of ONNX Runtime: what a
 * decoder can do is asked of it.
 */
final class GenerationLoop {

    private final DecoderFactory decoders;
    private final TextTokenizer tokenizer;
    private final Map<String, Decoder> prefixes;
    private final DecodeCounters counters;

    /**
     * @param prefixes shared prefixes already prefilled, by prefix key; filled as batches need them, closed by the caller
     */
    GenerationLoop(DecoderFactory decoders, TextTokenizer tokenizer, Map<String, Decoder> prefixes) {
        this(decoders, tokenizer, prefixes, new DecodeCounters());
    }

    /** @param counters where decode steps, refills and finished rows are counted ({@link DecodeStats}) */
    GenerationLoop(DecoderFactory decoders, TextTokenizer tokenizer, Map<String, Decoder> prefixes, DecodeCounters counters) {
        this.decoders = decoders;
        this.tokenizer = tokenizer;
        this.prefixes = prefixes;
        this.counters = counters;
    }

    /** The shrinking path: one batch, every row in it from the start, until every row has stopped. */
    void run(List<Row> rows) throws OrtException {
        try (Decoder decoder = decoders.open(rows.size(), maxPositions(rows))) {
            float[][] logits = prefill(decoder, rows);
            decode(decoder, rows.toArray(new Row[0]), logits, rows, rows.size());
        }
    }

    /**
     * Continuous batching: rows in {@code queue} order through a decoder of {@code slots} rows (fewer if the queue is
     * shorter), each slot with room for the longest row's prompt plus max_new_tokens.
     *
     * @throws IllegalStateException if the model's cache cannot refill one row (see the class comment); run() then
     */
    void runContinuous(List<Row> queue, int slots) throws OrtException {
        if (queue.isEmpty()) {
            return;
        }
        int width = Math.min(slots, queue.size());
        try (Decoder decoder = decoders.open(width, maxPositions(queue))) {
            if (!decoder.mixedLengths() || !decoder.extendsOneRow()) {
                throw new IllegalStateException("continuous batching needs a KV cache whose rows hold their own lengths "
                        + "and take a prompt alone (GroupQueryAttention graphs); this model's rows must run as shrinking batches");
            }
            List<Row> first = queue.subList(0, width);
            float[][] logits;
            if (first.stream().allMatch(row -> row.prefixKey == null)) {
                logits = prefill(decoder, first);
            } else {
                // Rows of different shared prefixes may share the first wave: each slot is filled as a refill is.
                logits = new float[width][];
                for (int b = 0; b < width; b++) {
                    logits[b] = fill(decoder, b, first.get(b));
                }
            }
            decode(decoder, first.toArray(new Row[0]), logits, queue, width);
        }
    }

    /**
     * Samples and steps until every row of {@code slot} has stopped and no row of {@code queue} from {@code next} on
     * is waiting. {@code logits[b]} are slot b's scores for its next token.
     */
    private void decode(Decoder decoder, Row[] slot, float[][] logits, List<Row> queue, int next) throws OrtException {
        int[] tokens = new int[slot.length];
        boolean[] advance = new boolean[slot.length];
        while (true) {
            long now = System.nanoTime();
            int active = 0;
            int free = 0;
            for (int b = 0; b < slot.length; b++) {
                tokens[b] = decoders.padId();
                advance[b] = false;
                Row row = slot[b];
                if (!row.done()) {
                    tokens[b] = sample(row, logits[b], now);
                    advance[b] = !row.done();
                }
                free += advance[b] ? 0 : 1;
            }
            // Every row finished at once (equal output lengths): the next rows fill the whole batch in one padded
            // prefill, as a new batch would, instead of one prefill each.
            if (free == slot.length && slot.length > 1 && queue.size() - next >= slot.length
                    && queue.subList(next, next + slot.length).stream().allMatch(row -> row.prefixKey == null)) {
                List<Row> wave = queue.subList(next, next + slot.length);
                next += slot.length;
                long start = System.nanoTime();
                for (int b = 0; b < slot.length; b++) {
                    decoder.clear(b);
                    wave.get(b).startNanos = start;
                    counters.refill();
                }
                logits = prefill(decoder, wave);
                long sampled = System.nanoTime();
                for (int b = 0; b < slot.length; b++) {
                    slot[b] = wave.get(b);
                    tokens[b] = sample(slot[b], logits[b], sampled);
                    advance[b] = !slot[b].done();
                }
            }
            for (int b = 0; b < slot.length; b++) {
                // A finished row's slot takes the next waiting row; one that stops at its first token frees it again.
                while (!advance[b] && next < queue.size()) {
                    Row fresh = queue.get(next++);
                    fresh.startNanos = System.nanoTime();
                    float[] first = fill(decoder, b, fresh);
                    counters.refill();
                    slot[b] = fresh;
                    tokens[b] = sample(fresh, first, System.nanoTime());
                    advance[b] = !fresh.done();
                }
                active += advance[b] ? 1 : 0;
            }
            if (active == 0) {
                break;
            }
            // Once nothing waits, finished rows stop costing work: when they are half the batch, only live rows are kept.
            if (next >= queue.size() && active * 2 <= slot.length && slot.length >= 4) {
                int[] kept = new int[active];
                Row[] keptRows = new Row[active];
                int k = 0;
                for (int b = 0; b < slot.length; b++) {
                    if (advance[b]) {
                        tokens[k] = tokens[b];
                        kept[k] = b;
                        keptRows[k++] = slot[b];
                    }
                }
                decoder.compact(kept);
                slot = keptRows;
                tokens = java.util.Arrays.copyOf(tokens, active);
                advance = new boolean[active];
                java.util.Arrays.fill(advance, true);
            }
            // Decode: every row feeds its last token; finished rows feed padding and keep their length.
            counters.step(slot.length, active);
            logits = decoder.step(tokens, advance);
        }
    }

    /** Samples row's next token from its logits and records it (or its stop); returns the token fed next. */
    private int sample(Row row, float[] logits, long now) {
        int token = row.sampler.next(logits, row.generated, row.count);
        if (row.count == 0) {
            row.firstTokenNanos = now;
        }
        stopOrAppend(row, token, row.sampler.lastLogProbability(), now);
        return token;
    }

    /**
     * Puts row's prompt into slot {@code b} on its own, emptied first: its shared prefix copied in and the rest fed, or
     * the whole prompt fed; returns the logits after the prompt.
     */
    private float[] fill(Decoder decoder, int b, Row row) throws OrtException {
        decoder.clear(b);
        int positions = 0;
        if (row.prefixKey != null) {
            Decoder prefix = prefixes.computeIfAbsent(row.prefixKey, key -> prefillPrefix(row.prefixIds));
            positions = row.sharedPositions();
            decoder.copyPrefix(prefix, 0, b, positions);
        }
        return decoder.extend(b, java.util.Arrays.copyOfRange(row.prompt, positions, row.prompt.length));
    }

    private static int maxPositions(List<Row> rows) {
        int max = 0;
        for (Row row : rows) {
            max = Math.max(max, row.positions());
        }
        return max;
    }

    private float[][] prefill(Decoder decoder, List<Row> rows) throws OrtException {
        int batch = rows.size();
        Row first = rows.get(0);
        // A shared prefix is copied into each row and the rest fed per row: that needs rows of their own lengths and a
        // multi-token feed of one row. Without those the whole prompts go in one call (same tokens, more work).
        if (first.prefixKey != null && decoder.mixedLengths() && decoder.extendsOneRow()) {
            Decoder prefix = prefixes.computeIfAbsent(first.prefixKey, key -> prefillPrefix(first.prefixIds));
            float[][] logits = new float[batch][];
            for (int b = 0; b < batch; b++) {
                Row row = rows.get(b);
                int positions = row.sharedPositions();
                decoder.copyPrefix(prefix, 0, b, positions);
                logits[b] = decoder.extend(b, java.util.Arrays.copyOfRange(row.prompt, positions, row.prompt.length));
            }
            return logits;
        }
        int[][] prompts = new int[batch][];
        for (int b = 0; b < batch; b++) {
            prompts[b] = rows.get(b).prompt;
        }
        return decoder.prefill(prompts);
    }

    private Decoder prefillPrefix(int[] ids) {
        Decoder prefix = decoders.open(1, ids.length);
        try {
            prefix.prefill(new int[][]{ids});
            return prefix;
        } catch (OrtException e) {
            prefix.close();
            throw new IllegalStateException("prefilling the shared prefix failed: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            prefix.close();
            throw e;
        }
    }

    private void stopOrAppend(Row row, int token, double logprob, long now) {
        boolean stoppedByString = false;
        if (decoders.isEos(token) && !row.options.ignoreEos()) {
            row.finish = FinishReason.STOP;
        } else {
            row.add(token, logprob);
            List<String> stops = row.options.stopStrings();
            if (!stops.isEmpty()) {
                if (row.detokenizer == null) {
                    row.detokenizer = new IncrementalDetokenizer(tokenizer);
                }
                CharSequence text = row.detokenizer.text();
                int before = text.length();
                if (!row.detokenizer.add(token).isEmpty()) {
                    // A stop that starts earlier than (longest stop - 1) characters before the new text was found before.
                    int cut = firstStop(text, Math.max(0, before - (maxLength(stops) - 1)), stops);
                    if (cut >= 0) {
                        row.text = text.subSequence(0, cut).toString();
                        row.finish = FinishReason.STOP;
                        stoppedByString = true;
                    }
                }
            }
            if (!row.done() && row.count >= row.maxNewTokens) {
                row.finish = FinishReason.LENGTH;
            }
        }
        if (row.done()) {
            row.finishedNanos = now;
            counters.finished();
            if (!stoppedByString) {
                int[] tokens = row.tokens();
                TextTokenizer.Decoded decoded = tokenizer.decodeComplete(tokens);
                row.text = decoded.text();
                if (decoded.tokens() < tokens.length) {
                    row.warn("output ended inside a character (" + row.finish.name().toLowerCase(java.util.Locale.ROOT)
                            + "); its " + (tokens.length - decoded.tokens()) + " incomplete token(s) were left out of the text");
                }
            }
        }
    }

    static int firstStop(String text, List<String> stops) {
        return firstStop(text, 0, stops);
    }

    /** Where the first stop string in text starts, looking at occurrences starting at {@code from} or later; -1 if none. */
    static int firstStop(CharSequence text, int from, List<String> stops) {
        String tail = text.subSequence(from, text.length()).toString();
        int cut = -1;
        for (String stop : stops) {
            int at = tail.indexOf(stop);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
            }
        }
        return cut < 0 ? -1 : from + cut;
    }

    private static int maxLength(List<String> stops) {
        int max = 0;
        for (String stop : stops) {
            max = Math.max(max, stop.length());
        }
        return max;
    }
}
