package dev.nightshift.engine;

import java.io.Serializable;
import java.util.List;

/**
 * Per-row generation settings. Serializable, so a task's settings travel to Spark executors as they are.
 *
 * @param maxNewTokens      most tokens to generate (at least 1)
 * @param temperature       0 for greedy; otherwise logits are divided by it before sampling
 * @param topK              keep the k most likely tokens (0: all)
 * @param topP              nucleus sampling mass (1: all)
 * @param repetitionPenalty CTRL-style penalty on tokens already in the row (1: none)
 * @param seed              per-row seed: a row's samples depend on it alone, not on its batch
 * @param stopStrings       generation stops before any of these; the stop text is removed
 * @param overflow          what to do with prompts longer than the context allows
 * @param ignoreEos         keep generating past end-of-sequence tokens (benchmarks want fixed lengths)
 * @param jsonSchema        null, or a JSON schema (the subset of {@link JsonSchemaGrammar}) the output must conform to:
 *                          decoding is then constrained token by token ({@link TokenConstraint}), and the output ends
 *                          when the object is complete
 */
public record GenerationOptions(int maxNewTokens, double temperature, int topK, double topP,
                                double repetitionPenalty, long seed, List<String> stopStrings,
                                OverflowPolicy overflow, boolean ignoreEos, String jsonSchema)
        implements Serializable {

    public GenerationOptions(int maxNewTokens, double temperature, int topK, double topP, double repetitionPenalty,
                             long seed, List<String> stopStrings, OverflowPolicy overflow) {
        this(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, stopStrings, overflow, false, null);
    }

    public GenerationOptions {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("max_new_tokens must be at least 1, got " + maxNewTokens);
        }
        if (temperature < 0 || Double.isNaN(temperature)) {
            throw new IllegalArgumentException("temperature must be 0 (greedy) or positive, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be 0 (off) or positive, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        }
        if (!(repetitionPenalty > 0)) {
            throw new IllegalArgumentException("repetition_penalty must be positive, got " + repetitionPenalty);
        }
        stopStrings = stopStrings == null ? List.of() : List.copyOf(stopStrings);
        for (String stop : stopStrings) {
            if (stop.isEmpty()) {
                throw new IllegalArgumentException("stop strings must not be empty");
            }
        }
        overflow = overflow == null ? OverflowPolicy.ERROR : overflow;
    }

    /** Greedy decoding of up to {@code maxNewTokens} tokens. */
    public static GenerationOptions greedy(int maxNewTokens) {
        return new GenerationOptions(maxNewTokens, 0, 0, 1, 1, 0, List.of(), OverflowPolicy.ERROR);
    }

    public boolean greedy() {
        return temperature == 0;
    }

    public GenerationOptions withSampling(double temperature, int topK, double topP, long seed) {
        return new GenerationOptions(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, stopStrings, overflow, ignoreEos, jsonSchema);
    }

    public GenerationOptions withRepetitionPenalty(double penalty) {
        return new GenerationOptions(maxNewTokens, temperature, topK, topP, penalty, seed, stopStrings, overflow, ignoreEos, jsonSchema);
    }

    public GenerationOptions withStopStrings(List<String> stops) {
        return new GenerationOptions(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, stops, overflow, ignoreEos, jsonSchema);
    }

    public GenerationOptions withOverflow(OverflowPolicy policy) {
        return new GenerationOptions(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, stopStrings, policy, ignoreEos, jsonSchema);
    }

    public GenerationOptions withIgnoreEos(boolean value) {
        return new GenerationOptions(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, stopStrings, overflow, value, jsonSchema);
    }

    /** The same options with decoding constrained to {@code schema} (null: unconstrained). */
    public GenerationOptions withJsonSchema(String schema) {
        return new GenerationOptions(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, stopStrings, overflow, ignoreEos, schema);
    }

    public GenerationOptions withSeed(long value) {
        return new GenerationOptions(maxNewTokens, temperature, topK, topP, repetitionPenalty, value, stopStrings, overflow, ignoreEos, jsonSchema);
    }
}
