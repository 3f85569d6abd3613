package dev.nightshift.engine;

import ai.onnxruntime.OrtException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Generates one batch over a {@link Decoder}: prefill (a shared prefix copied in and each row's remainder fed alone, or
 * every prompt in one padded call), then sampling and one decode step per token until every row has stopped (end of
 * sequence, a stop string, or max_new_tokens). Knows nothing of ONNX Runtime: what a decoder can do is asked of it.
 */
final class GenerationLoop {

    private final DecoderFactory decoders;
    private final TextTokenizer tokenizer;
    private final Map<String, Decoder> prefixes;

    /**
     * @param prefixes shared prefixes already prefilled, by prefix key; filled as batches need them, closed by the caller
     */
    GenerationLoop(DecoderFactory decoders, TextTokenizer tokenizer, Map<String, Decoder> prefixes) {
        this.decoders = decoders;
        this.tokenizer = tokenizer;
        this.prefixes = prefixes;
    }

    void run(List<Row> rows) throws OrtException {
        int maxLength = 0;
        for (Row row : rows) {
            maxLength = Math.max(maxLength, row.prompt.length + row.maxNewTokens);
        }
        try (Decoder decoder = decoders.open(rows.size(), maxLength)) {
            float[][] logits = prefill(decoder, rows);
            List<Row> live = new ArrayList<>(rows);
            while (true) {
                int batch = live.size();
                int[] tokens = new int[batch];
                boolean[] advance = new boolean[batch];
                long now = System.nanoTime();
                int active = 0;
                for (int b = 0; b < batch; b++) {
                    Row row = live.get(b);
                    if (row.done()) {
                        tokens[b] = decoders.padId();
                        continue;
                    }
                    int token = row.sampler.next(logits[b], row.generated, row.count);
                    if (row.count == 0) {
                        row.firstTokenNanos = now;
                    }
                    stopOrAppend(row, token, row.sampler.lastLogProbability(), now);
                    tokens[b] = token;
                    advance[b] = !row.done();
                    active += advance[b] ? 1 : 0;
                }
                if (active == 0) {
                    break;
                }
                // Finished rows stop costing work: once they are half the batch, only the live rows are kept.
                if (active * 2 <= batch && batch >= 4) {
                    int[] kept = new int[active];
                    List<Row> keptRows = new ArrayList<>();
                    for (int b = 0; b < batch; b++) {
                        if (advance[b]) {
                            tokens[keptRows.size()] = tokens[b];
                            kept[keptRows.size()] = b;
                            keptRows.add(live.get(b));
                        }
                    }
                    decoder.compact(kept);
                    live = keptRows;
                    tokens = java.util.Arrays.copyOf(tokens, active);
                    advance = new boolean[active];
                    java.util.Arrays.fill(advance, true);
                }
                // Decode: every row feeds its last token; finished rows feed padding and keep their length.
                logits = decoder.step(tokens, advance);
            }
        }
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
