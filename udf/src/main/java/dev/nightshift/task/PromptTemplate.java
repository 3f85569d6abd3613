package dev.nightshift.task;

import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.Prompt;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A prompt with {@code {name}} placeholders for source columns ({text}, {title}, {id}, extra columns) and task
 * constants ({labels}, {fields}, {max_words}). {@code {{} and {@code }}} are literal braces, so JSON examples can be
 * written in extract prompts.
 *
 * <p>The literal text before the first column placeholder is the prompt's shared prefix: the engine prefills it once
 * and reuses it for every row of the task.
 */
public final class PromptTemplate implements Serializable {

    /** A literal piece of text, or a placeholder (exactly one is non-null). */
    private record Part(String literal, String placeholder) implements Serializable {
    }

    private final String source;
    private final List<Part> parts;

    private PromptTemplate(String source, List<Part> parts) {
        this.source = source;
        this.parts = List.copyOf(parts);
    }

    /**
     * Parses a template.
     *
     * @throws IllegalArgumentException for an unclosed or empty placeholder, or a stray single brace
     */
    public static PromptTemplate parse(String template) {
        List<Part> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        int i = 0;
        while (i < template.length()) {
            char c = template.charAt(i);
            if (c == '{' && template.startsWith("{{", i)) {
                literal.append('{');
                i += 2;
            } else if (c == '}' && template.startsWith("}}", i)) {
                literal.append('}');
                i += 2;
            } else if (c == '{') {
                int end = template.indexOf('}', i);
                int nested = template.indexOf('{', i + 1);
                if (end < 0 || (nested >= 0 && nested < end)) {
                    throw new IllegalArgumentException("prompt has an unclosed placeholder at character " + i
                            + " (write {{ for a literal brace)");
                }
                String name = template.substring(i + 1, end).trim();
                if (name.isEmpty()) {
                    throw new IllegalArgumentException("prompt has an empty placeholder {} at character " + i);
                }
                if (!literal.isEmpty()) {
                    parts.add(new Part(literal.toString(), null));
                    literal.setLength(0);
                }
                parts.add(new Part(null, name));
                i = end + 1;
            } else if (c == '}') {
                throw new IllegalArgumentException("prompt has a stray } at character " + i + " (write }} for a literal brace)");
            } else {
                literal.append(c);
                i++;
            }
        }
        if (!literal.isEmpty()) {
            parts.add(new Part(literal.toString(), null));
        }
        return new PromptTemplate(template, parts);
    }

    /** The placeholder names, in order of first use. */
    public Set<String> placeholders() {
        Set<String> names = new LinkedHashSet<>();
        parts.stream().filter(p -> p.placeholder() != null).forEach(p -> names.add(p.placeholder()));
        return names;
    }

    /** The index of the first part that is {@code placeholder} (as {@link #renderParts} orders them), or -1. */
    public int placeholderIndex(String placeholder) {
        for (int i = 0; i < parts.size(); i++) {
            if (placeholder.equals(parts.get(i).placeholder())) {
                return i;
            }
        }
        return -1;
    }

    /** The same template with some placeholders replaced by fixed text (the task constants). */
    public PromptTemplate bind(Map<String, String> constants) {
        List<Part> bound = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        for (Part part : parts) {
            String text = part.literal() != null ? part.literal() : constants.get(part.placeholder());
            if (text != null) {
                literal.append(text);
                continue;
            }
            if (!literal.isEmpty()) {
                bound.add(new Part(literal.toString(), null));
                literal.setLength(0);
            }
            bound.add(part);
        }
        if (!literal.isEmpty()) {
            bound.add(new Part(literal.toString(), null));
        }
        return new PromptTemplate(source, bound);
    }

    /** The prompt for one row; a null column value renders as "". */
    public String render(Function<String, String> values) {
        return String.join("", renderParts(values));
    }

    /** The text of each part for one row, in order (literals as written, placeholders filled; null renders as ""). */
    public List<String> renderParts(Function<String, String> values) {
        List<String> out = new ArrayList<>(parts.size());
        for (Part part : parts) {
            if (part.literal() != null) {
                out.add(part.literal());
            } else {
                String value = values.apply(part.placeholder());
                out.add(value == null ? "" : value);
            }
        }
        return out;
    }

    /**
     * The engine prompt for one row from the texts {@link #renderParts} gave: literal text is the task's instruction
     * (special-token text in it is honoured), {@code {text}} is the document (the part an overflow policy shortens,
     * encoded without special tokens), other placeholders are data (encoded without special tokens, never shortened).
     *
     * @throws IllegalArgumentException when {@code texts} does not match this template's parts
     */
    public Prompt prompt(List<String> texts, boolean chat, GenerationOptions options) {
        if (texts.size() != parts.size()) {
            throw new IllegalArgumentException("prompt has " + parts.size() + " parts, got " + texts.size() + " texts");
        }
        List<Prompt.Part> out = new ArrayList<>(parts.size());
        for (int i = 0; i < parts.size(); i++) {
            Part part = parts.get(i);
            Prompt.Kind kind = part.literal() != null ? Prompt.Kind.INSTRUCTION
                    : "text".equals(part.placeholder()) ? Prompt.Kind.DOCUMENT : Prompt.Kind.DATA;
            out.add(new Prompt.Part(texts.get(i), kind));
        }
        return new Prompt(out, chat, options);
    }

    /** The literal text before the first placeholder ("" when the template starts with one). */
    public String sharedPrefix() {
        return parts.isEmpty() || parts.get(0).literal() == null ? "" : parts.get(0).literal();
    }

    /** The template as written in the config. */
    public String source() {
        return source;
    }

    @Override
    public String toString() {
        return source;
    }
}
