package dev.nightshift.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.TextNode;
import org.apache.lucene.util.automaton.Automata;
import org.apache.lucene.util.automaton.Automaton;
import org.apache.lucene.util.automaton.Operations;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The language of JSON texts that conform to a JSON schema, as a finite automaton over Unicode code points
 * (Lucene's {@link Automaton}), for decoding constrained token by token ({@link TokenConstraint}).
 *
 * <p>The schema subset is what extraction needs, and each construct has a regular language:
 * <ul>
 *   <li>{@code {"type": "object", "properties": {...}, "required": [...]}}: every property, in the schema's order,
 *       written {@code {"a": 1, "b": "x"}} (one space after each colon and comma, none elsewhere), required or not
 *       (a property may be {@code null} only where its type allows it). Objects nest. {@code additionalProperties}
 *       is accepted and needs nothing: no other key is ever written.</li>
 *   <li>{@code "string"} (no control characters; escapes {@code \" \\ \/ \b \f \n \r \t}), {@code "string"} with
 *       {@code "format": "date"} (YYYY-MM-DD, only days that exist: February 29 in leap years only;
 *       {@code ExtractTask} checks it again), {@code "integer"} (at most 18 digits, so it
 *       fits a long), {@code "number"} (JSON's number syntax, at most 18 integer and 15 fraction digits and a
 *       two-digit exponent, so every number is a finite double),
 *       {@code "boolean"}, {@code "null"}, a list of types with {@code "null"} ({@code ["string", "null"]}),
 *       {@code "enum"} of strings, numbers or null, and {@code {"type": "array", "items": ...}}.</li>
 * </ul>
 * Fixed key order and spacing keep the automaton small and leave the model no choice that does not change the
 * answer. Up to four whitespace characters before the object are allowed (SentencePiece vocabularies start words
 * with a space).
 * Anything outside the subset is refused with the keyword's name. {@code description} and {@code title} are
 * ignored: they are for the prompt.
 */
public final class JsonSchemaGrammar {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> IGNORED = Set.of("description", "title", "$schema", "additionalProperties",
            "$comment");
    private static final int MAX_INTEGER_DIGITS = 18;
    private static final int MAX_FRACTION_DIGITS = 15;
    private static final int MAX_LEADING_WHITESPACE = 4;

    private JsonSchemaGrammar() {
    }

    /**
     * The automaton of JSON texts that conform to {@code schema} (JSON text of a schema in the subset above).
     *
     * @throws IllegalArgumentException naming the unsupported keyword or type, or the JSON error
     */
    public static Automaton of(String schema) {
        JsonNode root;
        try {
            root = JSON.readTree(schema);
        } catch (IOException e) {
            throw new IllegalArgumentException("the JSON schema does not parse: " + Reason.of(e), e);
        }
        if (root == null || !"object".equals(root.path("type").asText())) {
            throw new IllegalArgumentException("a constrained output must be a JSON object: the schema's top level needs "
                    + "\"type\": \"object\"");
        }
        // a little whitespace before the object (SentencePiece words start with a space), never an endless run of it
        Automaton whitespace = Operations.repeat(union(List.of(Automata.makeChar(' '), Automata.makeChar('\n'),
                Automata.makeChar('\t'), Automata.makeChar('\r'))), 0, MAX_LEADING_WHITESPACE);
        Automaton value = Operations.concatenate(whitespace, value(root, "$"));
        try {
            return Operations.determinize(Operations.removeDeadStates(value), Operations.DEFAULT_DETERMINIZE_WORK_LIMIT);
        } catch (org.apache.lucene.util.automaton.TooComplexToDeterminizeException e) {
            throw new IllegalArgumentException("the JSON schema is too complex to decode under (its automaton exceeds "
                    + Operations.DEFAULT_DETERMINIZE_WORK_LIMIT + " states of work); use fewer fields or enum values", e);
        }
    }

    private static Automaton value(JsonNode schema, String path) {
        for (Iterator<String> keys = schema.fieldNames(); keys.hasNext(); ) {
            String key = keys.next();
            if (!IGNORED.contains(key) && !Set.of("type", "properties", "required", "enum", "format", "items").contains(key)) {
                throw new IllegalArgumentException("the JSON schema keyword '" + key + "' at " + path
                        + " is not supported by constrained decoding (supported: type, properties, required, enum, "
                        + "format: date, items)");
            }
        }
        if (schema.has("enum")) {
            List<Automaton> options = new ArrayList<>();
            for (JsonNode option : schema.get("enum")) {
                if (!(option.isTextual() || option.isNumber() || option.isNull() || option.isBoolean())) {
                    throw new IllegalArgumentException("enum values at " + path + " must be strings, numbers, booleans or null");
                }
                options.add(Automata.makeString(option.toString()));
            }
            if (options.isEmpty()) {
                throw new IllegalArgumentException("the enum at " + path + " has no values");
            }
            return union(options);
        }
        JsonNode type = schema.path("type");
        List<String> types = new ArrayList<>();
        if (type.isArray()) {
            type.forEach(t -> types.add(t.asText()));
        } else if (type.isTextual()) {
            types.add(type.asText());
        } else {
            throw new IllegalArgumentException("the schema at " + path + " needs a \"type\" (or an \"enum\")");
        }
        List<Automaton> options = new ArrayList<>();
        for (String t : types) {
            options.add(switch (t) {
                case "object" -> object(schema, path);
                case "array" -> array(schema, path);
                case "string" -> "date".equals(schema.path("format").asText(null)) ? date() : string();
                case "integer" -> integer();
                case "number" -> number();
                case "boolean" -> union(List.of(Automata.makeString("true"), Automata.makeString("false")));
                case "null" -> Automata.makeString("null");
                default -> throw new IllegalArgumentException("the type '" + t + "' at " + path + " is not a JSON schema type");
            });
        }
        if (schema.has("format") && !types.contains("string")) {
            throw new IllegalArgumentException("\"format\" at " + path + " applies to strings only");
        }
        if (schema.has("format") && !"date".equals(schema.path("format").asText())) {
            throw new IllegalArgumentException("the format '" + schema.path("format").asText() + "' at " + path
                    + " is not supported by constrained decoding (supported: date)");
        }
        return union(options);
    }

    private static Automaton object(JsonNode schema, String path) {
        Set<String> required = new HashSet<>();
        schema.path("required").forEach(name -> required.add(name.asText()));
        List<Automaton> parts = new ArrayList<>();
        parts.add(Automata.makeChar('{'));
        boolean first = true;
        for (Iterator<Map.Entry<String, JsonNode>> it = schema.path("properties").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> property = it.next();
            parts.add(Automata.makeString((first ? "" : ", ") + TextNode.valueOf(property.getKey()) + ": "));
            // every property is written, required or not; null only where its type allows it
            parts.add(value(property.getValue(), path + "." + property.getKey()));
            first = false;
        }
        for (String name : required) {
            if (!schema.path("properties").has(name)) {
                throw new IllegalArgumentException("'" + name + "' is required at " + path + " but not among its properties");
            }
        }
        parts.add(Automata.makeChar('}'));
        return Operations.concatenate(parts);
    }

    private static Automaton array(JsonNode schema, String path) {
        if (!schema.has("items")) {
            throw new IllegalArgumentException("the array at " + path + " needs \"items\"");
        }
        Automaton item = value(schema.get("items"), path + "[]");
        Automaton more = Operations.repeat(Operations.concatenate(Automata.makeString(", "), item));
        Automaton items = Operations.optional(Operations.concatenate(item, more));
        return Operations.concatenate(List.of(Automata.makeChar('['), items, Automata.makeChar(']')));
    }

    /** A JSON string: no control characters, no lone surrogates, the two-character escapes. */
    private static Automaton string() {
        Automaton plain = union(List.of(Automata.makeCharRange(0x20, 0x21), Automata.makeCharRange(0x23, 0x5B),
                Automata.makeCharRange(0x5D, 0xD7FF), Automata.makeCharRange(0xE000, 0x10FFFF)));
        List<Automaton> escaped = new ArrayList<>();
        for (char c : "\"\\/bfnrt".toCharArray()) {
            escaped.add(Automata.makeString("\\" + c));
        }
        Automaton character = union(List.of(plain, union(escaped)));
        return Operations.concatenate(List.of(Automata.makeChar('"'), Operations.repeat(character), Automata.makeChar('"')));
    }

    /**
     * "YYYY-MM-DD" of a day that exists in the proleptic Gregorian calendar (as {@code java.time.LocalDate} reads
     * it): days 01–28 in any month, 29–30 outside February, 31 in the seven long months, and February 29 in leap years
     * only (divisible by 4; centuries only when divisible by 400, year 0000 included).
     */
    private static Automaton date() {
        String leapYear = "([0-9][0-9](0[48]|[2468][048]|[13579][26])|(0[048]|[2468][048]|[13579][26])00)";
        String day = "[0-9]{4}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
                + "|" + leapYear + "-02-29";
        return Operations.concatenate(List.of(Automata.makeChar('"'),
                new org.apache.lucene.util.automaton.RegExp(day).toAutomaton(), Automata.makeChar('"')));
    }

    private static Automaton integer() {
        Automaton digits = union(List.of(Automata.makeChar('0'), Operations.concatenate(Automata.makeCharRange('1', '9'),
                Operations.repeat(Automata.makeCharRange('0', '9'), 0, MAX_INTEGER_DIGITS - 1))));
        return Operations.concatenate(Operations.optional(Automata.makeChar('-')), digits);
    }

    private static Automaton number() {
        Automaton digit = Automata.makeCharRange('0', '9');
        Automaton fraction = Operations.optional(Operations.concatenate(Automata.makeChar('.'),
                Operations.repeat(digit, 1, MAX_FRACTION_DIGITS)));
        Automaton exponent = Operations.optional(Operations.concatenate(List.of(
                union(List.of(Automata.makeChar('e'), Automata.makeChar('E'))),
                Operations.optional(union(List.of(Automata.makeChar('+'), Automata.makeChar('-')))),
                Operations.repeat(digit, 1, 2))));
        return Operations.concatenate(List.of(integer(), fraction, exponent));
    }

    private static Automaton union(List<Automaton> options) {
        return options.size() == 1 ? options.get(0) : Operations.union(options);
    }
}
