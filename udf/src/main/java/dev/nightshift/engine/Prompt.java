package dev.nightshift.engine;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * One row to complete: its text in parts that say where each piece came from.
 *
 * <p>Where text comes from decides two things. <b>Special tokens</b>: only {@link Kind#INSTRUCTION} text (what the
 * prompt's author wrote) may contain special-token text that becomes special tokens; text from a table
 * ({@link Kind#DOCUMENT}, {@link Kind#DATA}) is encoded with special-token matching off, so a document cannot end the
 * prompt or forge a chat turn. <b>Truncation</b>: an overflow policy shortens only the {@link Kind#DOCUMENT} parts,
 * never the instruction around them (when no part is marked as the document, the whole text is).
 *
 * @param parts   the prompt's text, in order; their concatenation is {@link #text()}
 * @param chat    wrap the text in the model's chat template as a user message
 * @param options generation settings
 */
public record Prompt(List<Part> parts, boolean chat, GenerationOptions options) implements Serializable {

    /** Where a part's text comes from. */
    public enum Kind {
        /** Written by the prompt's author (a task template): special-token text is honoured; never shortened. */
        INSTRUCTION,
        /** The document being processed (a text column): no special tokens; the part an overflow policy shortens. */
        DOCUMENT,
        /** Other values from the data (a title, an id, extra columns): no special tokens; never shortened. */
        DATA
    }

    /** A piece of the prompt. */
    public record Part(String text, Kind kind) implements Serializable {
        public Part {
            text = text == null ? "" : text;
            if (kind == null) {
                throw new IllegalArgumentException("a prompt part needs a kind");
            }
        }
    }

    public Prompt {
        parts = List.copyOf(parts);
        if (options == null) {
            throw new IllegalArgumentException("generation options are required");
        }
    }

    /**
     * A prompt written whole by its author, with the text before the first document value (its instruction) as
     * a shared prefix that the engine prefills once and reuses for every row.
     *
     * @param sharedPrefix text that starts every prompt of a task, or "": it must be a prefix of {@code text}
     */
    public Prompt(String text, String sharedPrefix, boolean chat, GenerationOptions options) {
        this(split(text == null ? "" : text, sharedPrefix == null ? "" : sharedPrefix), chat, options);
    }

    private static List<Part> split(String text, String sharedPrefix) {
        if (!text.startsWith(sharedPrefix)) {
            throw new IllegalArgumentException("shared prefix is not a prefix of the prompt text");
        }
        List<Part> parts = new ArrayList<>();
        if (!sharedPrefix.isEmpty()) {
            parts.add(new Part(sharedPrefix, Kind.INSTRUCTION));
        }
        parts.add(new Part(text.substring(sharedPrefix.length()), Kind.INSTRUCTION));
        return parts;
    }

    /** A prompt the caller wrote whole (trusted text, shortened as a whole by an overflow policy). */
    public static Prompt of(String text, GenerationOptions options) {
        return new Prompt(text, "", false, options);
    }

    /** The whole prompt text (the user message when {@link #chat()}). */
    public String text() {
        StringBuilder out = new StringBuilder();
        parts.forEach(p -> out.append(p.text()));
        return out.toString();
    }

    /** The instruction that starts every prompt of a task: the first part when it is an instruction, else "". */
    public String sharedPrefix() {
        return parts.isEmpty() || parts.get(0).kind() != Kind.INSTRUCTION || parts.size() == 1 ? ""
                : parts.get(0).text();
    }

    /** Whether some part is marked as the document (else an overflow policy shortens the whole text). */
    public boolean hasDocument() {
        return parts.stream().anyMatch(p -> p.kind() == Kind.DOCUMENT);
    }
}
