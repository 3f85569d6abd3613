package dev.nightshift.jobs.nightly;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.Serializable;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.util.Map;

/**
 * Checks one CSV file's row shape with line numbers, which Spark cannot report: every record must have the header's
 * number of fields, every quoted value must be closed, and a closing quote must be followed by the separator or a line
 * end. Spark's CSV reader accepts all three silently (an unclosed quote swallows the following lines into one value, an
 * extra field is dropped, a short row is padded with nulls), so the job checks before Spark reads.
 *
 * <p>The rules follow the options the job gives Spark ({@code escape} is the quote character, so {@code ""} inside a
 * quoted value is a literal quote; a quote inside an unquoted value is literal; empty lines are skipped).
 */
final class CsvShapeCheck implements Serializable {

    private final char separator;
    private final int quote;
    private final int escape;
    private final int comment;
    private final boolean header;
    private final String charset;
    private final boolean fieldCounts;

    private CsvShapeCheck(char separator, int quote, int escape, int comment, boolean header, String charset,
                          boolean fieldCounts) {
        this.separator = separator;
        this.quote = quote;
        this.escape = escape;
        this.comment = comment;
        this.header = header;
        this.charset = charset;
        this.fieldCounts = fieldCounts;
    }

    /**
     * The check for Spark reader options as the job passes them (keys compared case-insensitively, like Spark).
     *
     * @param fieldCounts whether a record with another field count than the header's is a problem; with
     *                    {@code source.bad_rows: error_rows} Spark flags those records itself and they become error rows
     */
    static CsvShapeCheck of(Map<String, String> options, boolean fieldCounts) {
        String sep = option(options, "sep", option(options, "delimiter", ","));
        String separator = sep.equals("\\t") ? "\t" : sep;
        if (separator.length() != 1) {
            throw new IllegalArgumentException("separator '" + sep + "' is not one character; nightshift checks every CSV "
                    + "row's fields and supports one-character separators such as ',', ';', '|' or '\\t'");
        }
        return new CsvShapeCheck(separator.charAt(0), oneChar(option(options, "quote", "\"")),
                oneChar(option(options, "escape", "\\")), oneChar(option(options, "comment", "")),
                !option(options, "header", "false").equalsIgnoreCase("false"),
                option(options, "encoding", option(options, "charset", "UTF-8")), fieldCounts);
    }

    private static String option(Map<String, String> options, String key, String fallback) {
        return options.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(key)).map(Map.Entry::getValue)
                .findFirst().orElse(fallback);
    }

    private static int oneChar(String value) {
        return value.isEmpty() || value.equals("\u0000") ? -1 : value.charAt(0);
    }

    /** The file's first problem and how many records are malformed, or null when every record has the right shape. */
    FileProblem check(String file, InputStream in) throws IOException {
        Reader reader = new BufferedReader(new InputStreamReader(in, Charset.forName(charset).newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)), 1 << 16);
        Scan scan = new Scan(file);
        try {
            scan.run(reader);
        } catch (CharacterCodingException e) {
            return scan.problem(1, scan.line, "is not valid " + charset + " text; convert the file or set "
                    + "source.options.encoding to its character set");
        }
        return scan.result;
    }

    /** One pass over a file: a small state machine over characters, counting lines and fields. */
    private final class Scan {
        final String file;
        long line = 1;
        long recordLine = 1;
        int fields = 1;
        int expected = -1;
        boolean recordEmpty = true;
        long badRecords;
        FileProblem result;

        Scan(String file) {
            this.file = file;
        }

        void run(Reader reader) throws IOException {
            boolean quoted = false;
            boolean fieldStart = true;
            boolean afterQuote = false;
            boolean inComment = false;
            int c = reader.read();
            while (c != -1) {
                int next = reader.read();
                if (inComment) {
                    if (c == '\n' || (c == '\r' && next != '\n')) {
                        inComment = false;
                        line++;
                        recordLine = line;
                    }
                } else if (quoted) {
                    if (c == escape && escape != quote && next != -1) {
                        if (next == '\n') {
                            line++;
                        }
                        next = reader.read();
                    } else if (c == quote && next == quote && escape == quote) {
                        next = reader.read();
                    } else if (c == quote) {
                        quoted = false;
                        afterQuote = true;
                    } else if (c == '\n' || (c == '\r' && next != '\n')) {
                        line++;
                    }
                } else if (c == '\n' || c == '\r') {
                    if (c == '\r' && next == '\n') {
                        next = reader.read();
                    }
                    endRecord();
                    line++;
                    recordLine = line;
                    fieldStart = true;
                    afterQuote = false;
                } else if (c == separator) {
                    fields++;
                    recordEmpty = false;
                    fieldStart = true;
                    afterQuote = false;
                } else if (afterQuote && c != ' ' && c != '\t') {
                    problem(1, line, "has '" + (char) c + "' after a closing quote instead of the separator '"
                            + separator + "' or a line end (a quote inside a quoted value must be doubled: \"\")");
                    afterQuote = false;
                    fieldStart = false;
                } else if (c == quote && fieldStart) {
                    quoted = true;
                    recordEmpty = false;
                    fieldStart = false;
                } else if (c == comment && recordEmpty && fieldStart && fields == 1) {
                    inComment = true;
                } else {
                    recordEmpty = false;
                    fieldStart = false;
                }
                c = next;
            }
            if (quoted) {
                problem(1, recordLine, "opens a quoted value that is never closed, so every line after it would be "
                        + "read as part of one value; close the quote, or double quotes inside values (\"\")");
            }
            endRecord();
            if (result != null && badRecords > 0 && result.count() < badRecords) {
                result = new FileProblem(result.file(), badRecords, result.line(), result.problem(), result.fieldCount());
            }
        }

        private void endRecord() {
            if (recordEmpty && fields == 1) {
                return;
            }
            if (expected < 0) {
                expected = fields;
            } else if (fields != expected && fieldCounts) {
                badRecords++;
                problem(badRecords, recordLine, true, "has " + fields + " field" + (fields == 1 ? "" : "s") + " where the "
                        + (header ? "header has " : "first row has ") + expected + " (separator '" + separator
                        + "'); quote values that contain the separator");
            }
            fields = 1;
            recordEmpty = true;
        }

        /** Keeps the first problem by line; counts malformed records. */
        FileProblem problem(long count, long at, String what) {
            return problem(count, at, false, what);
        }

        FileProblem problem(long count, long at, boolean fieldCount, String what) {
            if (result == null) {
                result = new FileProblem(file, count, at, what, fieldCount);
            }
            return result;
        }
    }

    /**
     * A file's first problem: how many records (or lines) are affected, the first one's line, what is wrong, and
     * whether it is a field count ({@code source.bad_rows: error_rows} can keep such records as error rows).
     */
    record FileProblem(String file, long count, long line, String problem, boolean fieldCount) implements Serializable {
    }
}
