package dev.nightshift.jobs.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The token counts {@code bench} measures with, fitted to the model's context: defaults shrink to fit (with a note
 * saying so), values the user gave are checked and refused with a usage error that names the context length.
 *
 * <p>A generation run needs {@code promptTokens + newTokens <= context} (the engine would otherwise cut the
 * completion short and the decode figure would count tokens that were never generated). The shared-prefix run needs
 * {@code prefixTokens + documentTokens + 2 <= context}: one BOS and the one token it generates.
 *
 * @param prefixTokens 0 when the shared-prefix measurement is skipped
 * @param notes        one line per default that was changed, for the command to print
 */
record BenchSizes(int promptTokens, int newTokens, int prefixTokens, int documentTokens, List<String> notes) {

    static final int DEFAULT_PROMPT = 256;
    static final int DEFAULT_NEW = 64;
    static final int DEFAULT_PREFIX = 300;
    static final int DEFAULT_DOCUMENT = 200;
    /** BOS plus the one token the shared-prefix rows generate. */
    private static final int PREFIX_OVERHEAD = 2;

    /**
     * Sizes for a model of {@code context} tokens; a null argument means the user did not give that option.
     *
     * @throws UserError.Usage when a value the user gave is out of range or does not fit the context
     */
    static BenchSizes fit(Integer prompt, Integer generated, Integer prefix, Integer document, int context) {
        requirePositive("--prompt-tokens", prompt);
        requirePositive("--new-tokens", generated);
        requirePositive("--document-tokens", document);
        if (prefix != null && prefix < 0) {
            throw new UserError.Usage("--prefix-tokens must be 0 (skip) or more, got " + prefix);
        }
        List<String> notes = new ArrayList<>();

        int newTokens;
        int promptTokens;
        if (prompt != null && generated != null) {
            promptTokens = prompt;
            newTokens = generated;
        } else if (prompt != null) {
            promptTokens = prompt;
            newTokens = Math.min(DEFAULT_NEW, context - prompt);
        } else if (generated != null) {
            newTokens = generated;
            promptTokens = Math.min(DEFAULT_PROMPT, context - generated);
        } else {
            // keep the defaults' 4:1 ratio of prompt to completion when they have to shrink
            newTokens = Math.min(DEFAULT_NEW, Math.max(1, context / 5));
            promptTokens = Math.min(DEFAULT_PROMPT, context - newTokens);
        }
        if (promptTokens < 1 || newTokens < 1 || promptTokens + newTokens > context) {
            throw new UserError.Usage(String.format("--prompt-tokens %d + --new-tokens %d = %d tokens do not fit the model's "
                    + "context of %d tokens; give smaller values", prompt != null ? prompt : promptTokens,
                    generated != null ? generated : newTokens,
                    (prompt != null ? prompt : promptTokens) + (generated != null ? generated : newTokens), context));
        }
        if (prompt == null && promptTokens != DEFAULT_PROMPT || generated == null && newTokens != DEFAULT_NEW) {
            notes.add(String.format("note: prompt %d tokens and %d new tokens (defaults %d and %d) to fit the model's context "
                    + "of %d tokens", promptTokens, newTokens, DEFAULT_PROMPT, DEFAULT_NEW, context));
        }

        int room = context - PREFIX_OVERHEAD;
        int prefixTokens;
        int documentTokens;
        if (prefix != null && prefix == 0) {
            return new BenchSizes(promptTokens, newTokens, 0, document != null ? document : DEFAULT_DOCUMENT, List.copyOf(notes));
        } else if (prefix != null && document != null) {
            prefixTokens = prefix;
            documentTokens = document;
        } else if (prefix != null) {
            prefixTokens = prefix;
            documentTokens = Math.min(DEFAULT_DOCUMENT, room - prefix);
        } else if (document != null) {
            documentTokens = document;
            prefixTokens = Math.min(DEFAULT_PREFIX, room - document);
        } else if (DEFAULT_PREFIX + DEFAULT_DOCUMENT <= room) {
            prefixTokens = DEFAULT_PREFIX;
            documentTokens = DEFAULT_DOCUMENT;
        } else {
            // scale both down, keeping the instruction:document ratio of the defaults
            prefixTokens = room * DEFAULT_PREFIX / (DEFAULT_PREFIX + DEFAULT_DOCUMENT);
            documentTokens = room - prefixTokens;
        }
        if (prefixTokens < 1 || documentTokens < 1 || prefixTokens + documentTokens > room) {
            int shownPrefix = prefix != null ? prefix : prefixTokens;
            int shownDocument = document != null ? document : documentTokens;
            throw new UserError.Usage(String.format("--prefix-tokens %d + --document-tokens %d + 2 (BOS and one generated token) "
                    + "= %d tokens do not fit the model's context of %d tokens; give smaller values or --prefix-tokens 0 to skip",
                    shownPrefix, shownDocument, shownPrefix + shownDocument + PREFIX_OVERHEAD, context));
        }
        if (prefix == null && prefixTokens != DEFAULT_PREFIX || document == null && documentTokens != DEFAULT_DOCUMENT) {
            notes.add(String.format("note: shared-prefix test with a %d-token instruction and %d-token documents (defaults %d "
                    + "and %d) to fit the model's context of %d tokens", prefixTokens, documentTokens, DEFAULT_PREFIX,
                    DEFAULT_DOCUMENT, context));
        }
        return new BenchSizes(promptTokens, newTokens, prefixTokens, documentTokens, List.copyOf(notes));
    }

    private static void requirePositive(String option, Integer value) {
        if (value != null && value < 1) {
            throw new UserError.Usage(option + " must be at least 1, got " + value);
        }
    }
}
