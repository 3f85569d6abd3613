package dev.nightshift.engine;

import ai.onnxruntime.OrtException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Generates one batch: prefill (shared prefix copied in, remainders fed per row, or every prompt in one
 * padded call), then one decode step per token until every row has stopped.
 */
final class GenerationLoop {

    private final DecoderModel model;
    private final TextTokenizer tokenizer;
    private final Map<String, SharedCacheRun> prefixes;

    GenerationLoop(DecoderModel model, TextTokenizer tokenizer, Map<String, SharedCacheRun> prefixes) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.prefixes = prefixes;
    }

    void run(List<Row> rows) throws OrtException {
        int maxLength = 0;
        for (Row row : rows) {
            maxLength = Math.max(maxLength, row.prompt.length + row.maxNewTokens);
        }
        BatchRun run = BatchRun.create(model, rows.size(), maxLength);
        try {
            // Prefill: reuse a shared prefix when the graph allows it, else every prompt in one call.
            float[][] logits = prefill(run, rows);
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
                        tokens[b] = model.padId;
                        continue;
                    }
                    int token = row.sampler.next(logits[b], row.generated, row.count);
                    if (row.count == 0) {
                        row.firstTokenNanos = now;
                    }
                    stopOrAppend(row, token, now);
                    tokens[b] = token;
                    advance[b] = !row.done();
                    active += advance[b] ? 1 : 0;
                }
                if (active == 0) {
                    break;
                }
                // Finished rows stop costing work: once they are half the batch, the live rows move to a smaller cache.
                if (run instanceof SharedCacheRun shared && active * 2 <= batch && batch >= 4) {
                    SharedCacheRun smaller = new SharedCacheRun(model, active, shared.maxLength());
                    List<Row> kept = new ArrayList<>();
                    int[] keptTokens = new int[active];
                    for (int b = 0; b < batch; b++) {
                        if (advance[b]) {
                            smaller.copyPrefix(shared, b, kept.size(), shared.length(b));
                            keptTokens[kept.size()] = tokens[b];
                            kept.add(live.get(b));
                        }
                    }
                    run.close();
                    run = smaller;
                    live = kept;
                    tokens = keptTokens;
                    advance = new boolean[active];
                    java.util.Arrays.fill(advance, true);
                }
                // Decode: every row feeds its last token; finished rows feed padding and keep their length.
                logits = run.step(tokens, advance);
            }
        } finally {
            run.close();
        }
    }

    private float[][] prefill(BatchRun run, List<Row> rows) throws OrtException {
        int batch = rows.size();
        Row first = rows.get(0);
        if (run instanceof SharedCacheRun shared && first.prefixKey != null) {
            SharedCacheRun prefix = prefixes.computeIfAbsent(first.prefixKey, key -> prefillPrefix(first.prefixIds));
            float[][] logits = new float[batch][];
            for (int b = 0; b < batch; b++) {
                Row row = rows.get(b);
                int positions = row.sharedPositions();
                shared.copyPrefix(prefix, 0, b, positions);
                logits[b] = shared.extend(b, java.util.Arrays.copyOfRange(row.prompt, positions, row.prompt.length));
            }
            return logits;
        }
        int[][] prompts = new int[batch][];
        for (int b = 0; b < batch; b++) {
            prompts[b] = rows.get(b).prompt;
        }
        return run.prefill(prompts);
    }

    private SharedCacheRun prefillPrefix(int[] ids) {
        SharedCacheRun prefix = new SharedCacheRun(model, 1, ids.length);
        try {
            prefix.prefill(new int[][]{ids});
            return prefix;
        } catch (OrtException e) {
            prefix.close();
            throw new IllegalStateException("prefilling the shared prefix failed: " + e.getMessage(), e);
        }
    }

    private void stopOrAppend(Row row, int token, long now) {
        boolean stoppedByString = false;
        if (model.isEos(token) && !row.options.ignoreEos()) {
            row.finish = FinishReason.STOP;
        } else {
            row.add(token);
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
