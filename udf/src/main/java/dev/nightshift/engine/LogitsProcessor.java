package dev.nightshift.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * One step of a row's logits chain, applied in place before sampling: a repetition penalty, a JSON-schema mask
 * ({@link ConstrainedDecoding}). A processor belongs to one row and may keep state across steps.
 */
interface LogitsProcessor {

    /**
     * Adjusts the next token's logits in place.
     *
     * @param generated the row's generated ids; the first {@code count} are valid
     * @param count     how many ids the row has generated so far
     * @param logits    the next token's logits, changed in place
     */
    void process(int[] generated, int count, float[] logits);

    /** The chain a row's options ask for, in the order it is applied; empty when the logits go to sampling unchanged. */
    static List<LogitsProcessor> forOptions(GenerationOptions options, int[] prompt) {
        return forOptions(options, prompt, null);
    }

    /**
     * The chain with a grammar: the row's {@link TokenConstraint} (for {@link GenerationOptions#jsonSchema()}) goes
     * last, so that no processor after it can lift a masked token.
     */
    static List<LogitsProcessor> forOptions(GenerationOptions options, int[] prompt, TokenConstraint constraint) {
        List<LogitsProcessor> chain = new ArrayList<>();
        if (options.repetitionPenalty() != 1) {
            chain.add(new RepetitionPenalty((float) options.repetitionPenalty(), prompt));
        }
        if (constraint != null) {
            chain.add(new ConstrainedDecoding(constraint));
        }
        return List.copyOf(chain);
    }
}
