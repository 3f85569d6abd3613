package dev.nightshift.engine;

/**
 * One non-empty line that says why something failed, for every message shown to a user. Exception messages are not
 * made for one line: Spark 4's parse errors start with a newline and put the SQL and a caret on later lines, some
 * exceptions have no message at all, and wrappers repeat their cause. Keeping "the first line" of those gives an
 * empty reason ("... is not a valid condition on the source: "), so this takes the first line with text in it, and
 * falls back to the cause and finally to the exception's kind.
 */
public final class Reason {

    private Reason() {
    }

    /** "Kind: first non-blank line", or the cause's reason when this one has no text, or the kind alone. */
    public static String withKind(Throwable e) {
        String line = text(e);
        return e.getClass().getSimpleName() + (line.isEmpty() ? "" : ": " + line);
    }

    /** The first non-blank line of the message, else of a cause's, else the exception's kind; never empty. */
    public static String of(Throwable e) {
        String line = text(e);
        return line.isEmpty() ? e.getClass().getSimpleName() : line;
    }

    /** The first line of {@code message} that has text in it, trimmed; "" for null or blank messages. */
    public static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        return message.lines().map(String::strip).filter(line -> !line.isEmpty()).findFirst().orElse("");
    }

    private static String text(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String line = firstLine(t.getMessage());
            if (!line.isEmpty()) {
                return line;
            }
        }
        return "";
    }
}
