package dev.nightshift.task;

import dev.nightshift.engine.ErrorCode;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A batch of summarize rows under {@code overflow: map_reduce} (issue 10): a row whose prompt fits the context with
 * room for {@code max_new_tokens} runs as it always did; a longer one has its document split into overlapping chunks
 * ({@link DocumentChunker}), each chunk summarized with the task's own prompt (the chunk in place of the document),
 * and the chunk summaries, joined in order by blank lines, become the document of the next round, until it fits.
 *
 * <p>Every round is one {@code generate} call for the whole batch: the rows that fit and the chunks of the rows that
 * do not go to the engine together, so chunks are batched like rows. Greedy output does not depend on the batch, so a
 * row that fits gets exactly the output it gets under {@code error}. A row that still does not fit after
 * {@link #MAX_DEPTH} rounds fails ({@code CONTEXT_OVERFLOW}); a row whose chunk fails fails with that chunk's error,
 * naming the chunk. A row's tokens and engine time are the sums over every call made for it.
 */
final class MapReduceSummary {

    /** Most rounds of summarizing (the last one must fit); the tree of summaries of one row is at most this deep. */
    static final int MAX_DEPTH = 4;
    /** Tokens each chunk repeats of the one before it (at most a quarter of the chunk), so no sentence loses its context. */
    static final int OVERLAP_TOKENS = 32;
    /** Below this many document tokens per chunk the instruction leaves too little room to be worth splitting. */
    static final int MIN_CHUNK_TOKENS = 16;
    /** What joins the chunk summaries into the next round's document. */
    static final String JOIN = "\n\n";

    private final SummarizeTask task;
    private final TextGenerator engine;
    private final int contextLength;
    private final int maxNewTokens;

    MapReduceSummary(SummarizeTask task, TextGenerator engine) {
        this.task = task;
        this.engine = engine;
        this.contextLength = engine.model().contextLength();
        this.maxNewTokens = task.generation().maxNewTokens();
    }

    /** One row's progress through the rounds. */
    private static final class Row {
        Prompt prompt;
        int chunks;
        int depth;
        int promptTokens;
        int outputTokens;
        long nanos;
        TaskOutput output;
        /** This round's calls: the whole prompt (one) or its chunks. */
        final List<Prompt> calls = new ArrayList<>();
        boolean whole;
        /** Warnings of earlier rounds' chunks ("chunk 2 of 5 (round 1): ..."), kept for the row's warning. */
        final List<String> notes = new ArrayList<>();

        Row(Prompt prompt) {
            this.prompt = prompt;
        }

        void add(GenerationResult result) {
            promptTokens += result.promptTokens();
            outputTokens += result.generatedTokens();
            nanos += result.firstTokenNanos() + result.decodeNanos();
        }

        TaskOutput fail(String error) {
            return TaskOutput.failed(error, promptTokens, outputTokens, null, notes(null), nanos);
        }

        /** The chunk notes, then {@code last} (the final call's warning), or null when there is none. */
        String notes(String last) {
            List<String> all = new ArrayList<>(notes);
            if (last != null) {
                all.add(last);
            }
            return all.isEmpty() ? null : String.join("; ", all);
        }
    }

    List<TaskOutput> run(List<Prompt> prompts) {
        List<Row> rows = prompts.stream().map(Row::new).toList();
        for (int round = 1; round <= MAX_DEPTH; round++) {
            List<Prompt> batch = new ArrayList<>();
            for (Row row : rows) {
                if (row.output == null) {
                    plan(row, round);
                    batch.addAll(row.calls);
                }
            }
            if (batch.isEmpty()) {
                break;
            }
            List<GenerationResult> results = engine.generate(batch);
            int at = 0;
            for (Row row : rows) {
                if (row.output == null && !row.calls.isEmpty()) {
                    collect(row, round, results.subList(at, at + row.calls.size()));
                    at += row.calls.size();
                }
            }
        }
        return rows.stream().map(row -> row.output).toList();
    }

    /** This round's calls of a row: its prompt when it fits, else its document's chunks; or the row's failure. */
    private void plan(Row row, int round) {
        row.calls.clear();
        row.depth = round;
        Prompt prompt = row.prompt;
        int tokens = engine.promptTokens(prompt);
        if (!prompt.hasDocument() || tokens + maxNewTokens <= contextLength) {
            row.whole = true;
            row.calls.add(prompt);
            return;
        }
        if (round == MAX_DEPTH) {
            row.output = row.fail(ErrorCode.CONTEXT_OVERFLOW.message(String.format(Locale.ROOT, "the summaries of the "
                    + "document's %d chunks still take a prompt of %d tokens after %d rounds, more than the context of %d "
                    + "less max_new_tokens %d; lower max_new_tokens or max_words", row.chunks, tokens, MAX_DEPTH - 1,
                    contextLength, maxNewTokens)));
            return;
        }
        String document = document(prompt);
        long documentParts = prompt.parts().stream().filter(p -> p.kind() == Prompt.Kind.DOCUMENT).count();
        int overhead = engine.promptTokens(withDocument(prompt, ""));
        // A little slack: a chunk encoded on its own can take a token or two more than its span of the whole text.
        int room = contextLength - maxNewTokens - overhead;
        int chunkTokens = (int) (room / documentParts) - Math.max(2, room / 64);
        if (chunkTokens < MIN_CHUNK_TOKENS) {
            row.output = row.fail(ErrorCode.CONTEXT_OVERFLOW.message(String.format(Locale.ROOT, "prompt of %d tokens does "
                    + "not fit the model's context of %d tokens with max_new_tokens %d, and its instruction alone takes %d, "
                    + "too much to summarize the document in chunks; shorten the prompt template or lower max_new_tokens",
                    tokens, contextLength, maxNewTokens, overhead)));
            return;
        }
        DocumentChunker chunker = new DocumentChunker(chunkTokens, Math.min(OVERLAP_TOKENS, chunkTokens / 4));
        List<DocumentChunker.Chunk> chunks = chunker.split(document, engine.tokenStarts(document));
        if (round == 1) {
            row.chunks = chunks.size();
        }
        row.whole = false;
        for (DocumentChunker.Chunk chunk : chunks) {
            row.calls.add(withDocument(prompt, chunk.text()));
        }
    }

    /** A row's results of this round: its final output, or the next round's document from its chunk summaries. */
    private void collect(Row row, int round, List<GenerationResult> results) {
        results.forEach(row::add);
        if (row.whole) {
            TaskOutput output = task.output(results.get(0));
            // A document that fit: exactly the output it gets under overflow error.
            row.output = round == 1 ? output : output.failed() ? row.fail(output.error())
                    : new TaskOutput(output.output(), null, null, null, row.promptTokens, row.outputTokens,
                    output.finishReason(), null, row.notes(output.warning()), row.nanos,
                    TaskOutput.Details.summary(Math.max(1, row.chunks), row.depth));
            return;
        }
        List<String> summaries = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            GenerationResult result = results.get(i);
            if (result.failed()) {
                ErrorCode.Coded coded = ErrorCode.split(result.error());
                row.output = row.fail(coded.code().message(String.format(Locale.ROOT, "chunk %d of %d (round %d): %s",
                        i + 1, results.size(), round, coded.message())));
                return;
            }
            // Each chunk's summary is what the task makes of it: stripped and cut to max_words.
            SummarizeTask.Trimmed summary = SummarizeTask.summary(result.text(), task.maxWords());
            summaries.add(summary.text());
            String warning = TaskOutput.join(result.warning(), summary.warning());
            if (warning != null) {
                row.notes.add(String.format(Locale.ROOT, "chunk %d of %d (round %d): %s", i + 1, results.size(), round,
                        warning));
            }
        }
        row.prompt = withDocument(row.prompt, String.join(JOIN, summaries));
    }

    /** The text of the prompt's (first) document part. */
    private static String document(Prompt prompt) {
        return prompt.parts().stream().filter(p -> p.kind() == Prompt.Kind.DOCUMENT).findFirst()
                .map(Prompt.Part::text).orElse("");
    }

    /** The prompt with every document part replaced by {@code text} (instruction and data parts unchanged). */
    static Prompt withDocument(Prompt prompt, String text) {
        List<Prompt.Part> parts = new ArrayList<>();
        for (Prompt.Part part : prompt.parts()) {
            parts.add(part.kind() == Prompt.Kind.DOCUMENT ? new Prompt.Part(text, Prompt.Kind.DOCUMENT) : part);
        }
        return new Prompt(parts, prompt.chat(), prompt.options());
    }
}
