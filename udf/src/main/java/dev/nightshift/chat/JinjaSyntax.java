package dev.nightshift.chat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The delimiter-level syntax checks of Python's jinja2 lexer that jinjava skips: jinjava prints an unclosed
 * {@code {{ x }} } or {@code {# c} as text, where jinja2 refuses to compile the template. Also hands back every
 * expression the template holds, so they can all be parsed at load time, not just those a render reaches.
 *
 * <p>As in jinja2's lexer, brackets inside a tag are balanced and {@code }}} or {@code %}} only closes the tag when
 * no bracket is open (so {@code {{ {'a': {'b': 1}} }}} is one expression), and strings are skipped whole.
 */
final class JinjaSyntax {

    /** An expression of the template and the line it starts on (1-based). */
    record Expression(String text, int line) {
    }

    /** A template jinja2 would not compile; {@code line} is 1-based. */
    static final class SyntaxError extends IllegalArgumentException {
        final int line;

        SyntaxError(String message, int line) {
            super(message + " (line " + line + ")");
            this.line = line;
        }
    }

    private static final Pattern END_RAW = Pattern.compile("\\{%[-+]?\\s*endraw\\s*[-+]?%}");
    private static final Pattern SET = Pattern.compile("^set\\s+[\\w.,\\s]+?=(?!=)(.*)$", Pattern.DOTALL);
    private static final Pattern FOR = Pattern.compile("^for\\s+.+?\\s+in\\s+(.*?)(\\s+recursive)?$", Pattern.DOTALL);
    private static final Pattern CONDITION = Pattern.compile("^(?:if|elif)\\s+(.*)$", Pattern.DOTALL);

    private JinjaSyntax() {
    }

    /**
     * Checks the template's tags and returns the expressions inside them: the body of each {@code {{ }}}, the
     * condition of {@code if}/{@code elif}, the value of {@code set} and the iterable of {@code for}.
     *
     * @throws SyntaxError for an unclosed tag, comment or string, or an unbalanced bracket
     */
    static List<Expression> expressions(String template) {
        List<Expression> found = new ArrayList<>();
        int i = 0;
        while (true) {
            int start = nextTag(template, i);
            if (start < 0) {
                return found;
            }
            char kind = template.charAt(start + 1);
            int line = line(template, start);
            if (kind == '#') {
                int end = template.indexOf("#}", start + 2);
                if (end < 0) {
                    throw new SyntaxError("missing end of comment tag: '{#' is never closed by '#}'", line);
                }
                i = end + 2;
                continue;
            }
            int end = tagEnd(template, start, kind == '{', line);
            String body = strip(template.substring(start + 2, end - 2));
            if (kind == '{') {
                if (body.isEmpty()) {
                    throw new SyntaxError("expected an expression, got '" + template.substring(start, end) + "'", line);
                }
                found.add(new Expression(body, line));
                i = end;
                continue;
            }
            if (body.equals("raw")) {
                Matcher endRaw = END_RAW.matcher(template);
                if (!endRaw.find(end)) {
                    throw new SyntaxError("missing end tag: {% raw %} is never closed by {% endraw %}", line);
                }
                i = endRaw.end();
                continue;
            }
            for (Pattern statement : List.of(CONDITION, SET, FOR)) {
                Matcher m = statement.matcher(body);
                if (m.matches()) {
                    found.add(new Expression(m.group(1).strip(), line));
                    break;
                }
            }
            i = end;
        }
    }

    private static int nextTag(String template, int from) {
        for (int at = template.indexOf('{', from); at >= 0 && at + 1 < template.length(); at = template.indexOf('{', at + 1)) {
            char next = template.charAt(at + 1);
            if (next == '{' || next == '%' || next == '#') {
                return at;
            }
        }
        return -1;
    }

    /** The index just past the tag that opens at {@code start}. */
    private static int tagEnd(String template, int start, boolean print, int line) {
        String what = print ? "print statement ('}}')" : "statement block ('%}')";
        Deque<Character> open = new ArrayDeque<>();
        int k = start + 2;
        while (k < template.length()) {
            char c = template.charAt(k);
            if (open.isEmpty()) {
                int close = closes(template, k, print);
                if (close > 0) {
                    return close;
                }
            }
            if (c == '\'' || c == '"') {
                k = stringEnd(template, k, line);
                continue;
            }
            if (c == '(' || c == '[' || c == '{') {
                open.push(c == '(' ? ')' : c == '[' ? ']' : '}');
            } else if (c == ')' || c == ']' || c == '}') {
                if (open.isEmpty()) {
                    throw new SyntaxError("unexpected '" + c + "' in " + template.substring(start, Math.min(template.length(), k + 1))
                            + " (expected the end of the " + what + ")", line(template, k));
                }
                char expected = open.pop();
                if (expected != c) {
                    throw new SyntaxError("unexpected '" + c + "', expected '" + expected + "'", line(template, k));
                }
            }
            k++;
        }
        throw new SyntaxError("unexpected end of template, expected the end of the " + what + " opened by '"
                + abbreviate(template.substring(start)) + "'", line);
    }

    /** The index past the closing delimiter at {@code k}, or -1 if none is there. */
    private static int closes(String template, int k, boolean print) {
        int at = k;
        if (template.charAt(at) == '-' || (!print && template.charAt(at) == '+')) {
            at++;
        }
        String close = print ? "}}" : "%}";
        return template.startsWith(close, at) ? at + 2 : -1;
    }

    private static int stringEnd(String template, int quote, int line) {
        char q = template.charAt(quote);
        for (int k = quote + 1; k < template.length(); k++) {
            char c = template.charAt(k);
            if (c == '\\') {
                k++;
            } else if (c == q) {
                return k + 1;
            }
        }
        throw new SyntaxError("unterminated string starting " + abbreviate(template.substring(quote)), line);
    }

    /** The tag body without whitespace-control markers and surrounding space. */
    private static String strip(String body) {
        String s = body;
        if (s.startsWith("-") || s.startsWith("+")) {
            s = s.substring(1);
        }
        if (s.endsWith("-") || s.endsWith("+")) {
            s = s.substring(0, s.length() - 1);
        }
        return s.strip();
    }

    private static int line(String template, int index) {
        int line = 1;
        for (int i = 0; i < index; i++) {
            if (template.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }

    private static String abbreviate(String text) {
        String oneLine = text.replace("\n", "\\n");
        return oneLine.length() > 40 ? oneLine.substring(0, 40) + "..." : oneLine;
    }
}
