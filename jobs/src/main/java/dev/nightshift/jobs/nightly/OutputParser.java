package dev.nightshift.jobs.nightly;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

/** Generated text to what the results table stores: trimmed summaries, and extracted fields as JSON. */
public final class OutputParser {

    private static final ObjectMapper LENIENT = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES, JsonReadFeature.ALLOW_UNQUOTED_FIELD_NAMES,
                    JsonReadFeature.ALLOW_TRAILING_COMMA, JsonReadFeature.ALLOW_JAVA_COMMENTS,
                    JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS, JsonReadFeature.ALLOW_UNESCAPED_CONTROL_CHARS)
            .build();
    private static final ObjectMapper STRICT = new ObjectMapper();

    private OutputParser() {
    }

    /** A summary: surrounding whitespace removed, cut to {@code maxWords} words (0 = no limit). */
    public static Trimmed summary(String text, int maxWords) {
        String stripped = text == null ? "" : text.strip();
        if (maxWords <= 0 || stripped.isEmpty()) {
            return new Trimmed(stripped, null);
        }
        String[] words = stripped.split("\\s+");
        if (words.length <= maxWords) {
            return new Trimmed(stripped, null);
        }
        return new Trimmed(String.join(" ", List.of(words).subList(0, maxWords)),
                "summary cut from " + words.length + " to " + maxWords + " words (max_words)");
    }

    /** A text after cleanup, and a note when something was changed or could not be read. */
    public record Trimmed(String text, String warning) {
    }

    /**
     * What an extract answer gave.
     *
     * @param json    a JSON object with exactly the task's fields, or null
     * @param warning what was missing, ignored or unreadable (the row still succeeds), or null
     * @param error   {@code "[CODE] message"} when the answer is unusable because it was cut ({@code OUTPUT_TRUNCATED}),
     *                else null
     */
    public record Extracted(String json, String warning, String error) {
    }

    /**
     * The first complete top-level JSON object in a model's answer, reduced to exactly {@code fields} (missing ones
     * null; nested values kept as JSON). Lenient: code fences, text around the object, single quotes, unquoted keys and
     * trailing commas are accepted. Objects are found by a scan that tracks string literals and brace depth, so an
     * object nested inside another is never taken for the answer: an outer object left open at the end of the output
     * (cut by {@code max_new_tokens}) is an {@code OUTPUT_TRUNCATED} error when generation stopped for length, and
     * a warning otherwise; when no object is readable, the fields are null and the warning says why.
     *
     * @param cutByLength  whether generation stopped at {@code max_new_tokens}
     * @param maxNewTokens the task's limit, named in the error
     */
    public static Extracted fields(String text, List<String> fields, boolean cutByLength, int maxNewTokens) {
        String answer = text == null ? "" : text;
        JsonNode parsed = null;
        String problem = "no JSON object in the output";
        Scan scan = scan(answer);
        for (int[] object : scan.objects()) {
            try (JsonParser parser = LENIENT.createParser(answer.substring(object[0], object[1]))) {
                JsonNode node = LENIENT.readTree(parser);
                if (node instanceof ObjectNode) {
                    parsed = node;
                    break;
                }
            } catch (Exception e) {
                problem = "the output's JSON object does not parse: " + Reason.of(e);
            }
        }
        if (parsed == null && scan.openAt() >= 0) {
            String message = "the output's JSON object starting at character " + scan.openAt()
                    + " is not closed: the output ended inside it";
            if (cutByLength) {
                return new Extracted(null, null, dev.nightshift.engine.ErrorCode.OUTPUT_TRUNCATED.message(message
                        + " at max_new_tokens (" + maxNewTokens + "); raise generation.max_new_tokens for this task"));
            }
            problem = message;
        }
        if (parsed == null) {
            return new Extracted(null, "extract: " + problem, null);
        }
        ObjectNode out = STRICT.createObjectNode();
        List<String> missing = new ArrayList<>();
        for (String field : fields) {
            JsonNode value = parsed.get(field);
            if (value == null || value.isNull()) {
                out.putNull(field);
                if (value == null) {
                    missing.add(field);
                }
            } else {
                out.set(field, value);
            }
        }
        List<String> extra = new ArrayList<>();
        parsed.fieldNames().forEachRemaining(name -> {
            if (!fields.contains(name)) {
                extra.add(name);
            }
        });
        String warning = null;
        if (!missing.isEmpty() || !extra.isEmpty()) {
            warning = "extract:" + (missing.isEmpty() ? "" : " missing fields " + missing + " set to null;")
                    + (extra.isEmpty() ? "" : " ignored fields " + extra + ";");
            warning = warning.substring(0, warning.length() - 1);
        }
        return new Extracted(out.toString(), warning, null);
    }

    /**
     * Top-level {...} spans of a text and where an unclosed one starts.
     *
     * @param objects [start, end) of each complete top-level object, in order
     * @param openAt  start of a top-level object still open at the end of the text, or -1
     */
    record Scan(List<int[]> objects, int openAt) {
    }

    /** Finds top-level objects by brace depth, skipping braces inside double- or single-quoted strings. */
    static Scan scan(String text) {
        List<int[]> objects = new ArrayList<>();
        int depth = 0;
        int start = -1;
        char quote = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (depth > 0 && (c == '"' || c == '\'')) {
                quote = c;
            } else if (c == '{') {
                if (depth++ == 0) {
                    start = i;
                }
            } else if (c == '}' && depth > 0) {
                if (--depth == 0) {
                    objects.add(new int[]{start, i + 1});
                }
            }
        }
        return new Scan(objects, depth > 0 ? start : -1);
    }

}
