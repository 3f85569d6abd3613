package dev.nightshift.task;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.engine.GenerationResult;

import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What backs each extracted field: how sure the model was of its value, and where a string value occurs in the
 * document.
 *
 * <p><b>Confidence</b> of a top-level field: the lowest probability the model gave any token whose text overlaps the
 * field's value in the answer (quotes included, so choosing a string over {@code null} counts), under the
 * distribution it sampled from after the constraint's mask ({@link GenerationResult#tokenLogprobs()}). The minimum,
 * not the mean: one unsure token (a digit of an amount) makes the whole value unsure. A value every token of which
 * the schema forced has confidence 1.
 *
 * <p><b>Evidence</b>: for each non-empty string value (top-level and in objects, as {@code parent.child}; enum values
 * included, lists not) that occurs verbatim (same characters, same case) in the document text, its first occurrence
 * as code points {@code [start, end)} ({@link TaskOutput.Span}); absent when it does not occur.
 */
final class FieldEvidence {

    private static final JsonFactory JSON = new JsonFactory();
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private FieldEvidence() {
    }

    /**
     * Per top-level field of the answer's first complete JSON object, its confidence; empty when the result carries no
     * token probabilities or offsets (an engine that does not report them) or the object does not parse.
     *
     * @param answer the generated text the offsets refer to
     */
    static Map<String, Double> confidence(String answer, GenerationResult result) {
        Map<String, Double> out = new LinkedHashMap<>();
        double[] logprobs = result.tokenLogprobs();
        int[] ends = result.tokenTextEnds();
        if (answer == null || logprobs.length == 0 || ends.length != logprobs.length) {
            return out;
        }
        List<int[]> objects = ExtractTask.scan(answer).objects();
        if (objects.isEmpty()) {
            return out;
        }
        int base = objects.get(0)[0];
        try (JsonParser parser = JSON.createParser(answer.substring(base, objects.get(0)[1]))) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return out;
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                parser.nextToken();
                int start = base + (int) parser.currentTokenLocation().getCharOffset();
                if (parser.currentToken().isStructStart()) {
                    parser.skipChildren();
                } else {
                    parser.finishToken();   // strings are read lazily: the location would stop at the opening quote
                }
                int end = base + (int) parser.currentLocation().getCharOffset();
                out.put(name, lowestProbability(logprobs, ends, start, end));
            }
        } catch (IOException e) {
            return new LinkedHashMap<>();
        }
        return out;
    }

    /** The lowest token probability over the tokens whose text overlaps characters [start, end) of the answer. */
    static double lowestProbability(double[] logprobs, int[] ends, int start, int end) {
        double lowest = 0;
        int tokenStart = 0;
        for (int i = 0; i < ends.length; i++) {
            int tokenEnd = ends[i];
            // a token that completes no character belongs to the character it starts
            boolean overlaps = tokenEnd > tokenStart ? tokenStart < end && tokenEnd > start
                    : tokenStart >= start && tokenStart < end;
            if (overlaps) {
                lowest = Math.min(lowest, logprobs[i]);
            }
            tokenStart = tokenEnd;
        }
        return Math.exp(lowest);
    }

    /**
     * Where each string value of {@code fieldsJson} first occurs verbatim in {@code document}; empty when there is no
     * document or no such value.
     */
    static Map<String, TaskOutput.Span> evidence(String fieldsJson, String document) {
        Map<String, TaskOutput.Span> out = new LinkedHashMap<>();
        if (fieldsJson == null || document == null || document.isEmpty()) {
            return out;
        }
        try {
            collect(MAPPER.readTree(fieldsJson), "", document, out);
        } catch (IOException e) {
            return out;
        }
        return out;
    }

    private static void collect(JsonNode object, String prefix, String document, Map<String, TaskOutput.Span> out) {
        for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            JsonNode value = field.getValue();
            if (value.isObject() && prefix.isEmpty()) {
                collect(value, field.getKey() + ".", document, out);
            } else if (value.isTextual() && !value.asText().isEmpty()) {
                int at = document.indexOf(value.asText());
                if (at >= 0) {
                    int start = document.codePointCount(0, at);
                    out.put(prefix + field.getKey(),
                            new TaskOutput.Span(start, start + value.asText().codePointCount(0, value.asText().length())));
                }
            }
        }
    }
}
