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
     * The first JSON object in a model's answer, reduced to exactly {@code fields} (missing ones null; nested values
     * kept as JSON). Lenient: code fences, text around the object, single quotes, unquoted keys and trailing commas
     * are accepted. When there is no readable object, the fields are null and the warning says why.
     */
    public static Trimmed fields(String text, List<String> fields) {
        String answer = text == null ? "" : text;
        JsonNode parsed = null;
        String problem = "no JSON object in the output";
        int start = answer.indexOf('{');
        while (start >= 0 && parsed == null) {
            try (JsonParser parser = LENIENT.createParser(answer.substring(start))) {
                JsonNode node = LENIENT.readTree(parser);
                if (node instanceof ObjectNode) {
                    parsed = node;
                }
            } catch (Exception e) {
                problem = "the output's JSON object does not parse: " + Reason.of(e);
            }
            start = answer.indexOf('{', start + 1);
        }
        if (parsed == null) {
            return new Trimmed(null, "extract: " + problem);
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
        return new Trimmed(out.toString(), warning);
    }

}
