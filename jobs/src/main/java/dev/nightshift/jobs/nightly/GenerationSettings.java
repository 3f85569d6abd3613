package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.OverflowPolicy;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;

/**
 * A task's {@code generation:} settings in a form that travels to executors ({@link GenerationOptions} is not
 * serializable). Validated by building the engine's options, so the ranges are the engine's.
 *
 * @param maxNewTokens      most tokens to generate
 * @param temperature       0 = greedy
 * @param topK              0 = off
 * @param topP              1 = off
 * @param repetitionPenalty 1 = off
 * @param seed              per-row sampling seed
 * @param stop              stop strings
 * @param overflow          error, truncate_head or truncate_middle (prompts longer than the context)
 */
public record GenerationSettings(int maxNewTokens, double temperature, int topK, double topP, double repetitionPenalty,
                                 long seed, List<String> stop, OverflowPolicy overflow) implements Serializable {

    public GenerationSettings {
        stop = List.copyOf(stop);
        overflow = overflow == null ? OverflowPolicy.ERROR : overflow;
        new GenerationOptions(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, stop, overflow);
    }

    public static GenerationSettings greedy(int maxNewTokens) {
        return new GenerationSettings(maxNewTokens, 0, 0, 1, 1, 0, List.of(), OverflowPolicy.ERROR);
    }

    public GenerationOptions options() {
        return new GenerationOptions(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, stop, overflow);
    }

    /** A stable text form for hashing: a change to any setting changes every affected row's input hash. */
    public String canonical() {
        return String.format(Locale.ROOT, "max_new_tokens=%d;temperature=%s;top_k=%d;top_p=%s;repetition_penalty=%s;"
                        + "seed=%d;stop=%s;overflow=%s", maxNewTokens, temperature, topK, topP, repetitionPenalty, seed,
                Hashing.canonicalList(stop), overflow.name());
    }
}
