package dev.nightshift.engine;

import org.apache.lucene.util.automaton.Automaton;
import org.apache.lucene.util.automaton.Operations;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which JSON texts a schema's automaton accepts: one canonical layout, every type of the subset, clear refusals. */
class JsonSchemaGrammarTest {

    static final String INVOICE = """
            {"type": "object",
             "properties": {
               "vendor": {"type": "string", "description": "who sent it"},
               "amount": {"type": "number"},
               "lines": {"type": "integer"},
               "paid": {"type": "boolean"},
               "due": {"type": "string", "format": "date"},
               "status": {"enum": ["open", "closed"]},
               "tags": {"type": "array", "items": {"type": "string"}},
               "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": ["string", "null"]}},
                           "required": ["city", "zip"]}
             },
             "required": ["vendor", "amount", "lines", "paid", "due", "status", "tags", "address"]}
            """;

    private static boolean accepts(Automaton grammar, String text) {
        return Operations.run(grammar, text);
    }

    @Test
    void acceptsTheCanonicalLayoutOfEveryType() {
        Automaton grammar = JsonSchemaGrammar.of(INVOICE);
        String valid = "{\"vendor\": \"ACME \\\"Tools\\\" Ünïcode ✓ 🚀\", \"amount\": -12.50e+2, \"lines\": 3, \"paid\": false, "
                + "\"due\": \"2026-02-28\", \"status\": \"open\", \"tags\": [\"a\", \"b\"], "
                + "\"address\": {\"city\": \"Oslo\", \"zip\": null}}";
        assertTrue(accepts(grammar, valid));
        assertTrue(accepts(grammar, " \n" + valid), "leading whitespace");
        assertFalse(accepts(grammar, "     " + valid), "five whitespace characters before the object");
        assertTrue(accepts(grammar, valid.replace("[\"a\", \"b\"]", "[]")), "empty list");
    }

    @Test
    void refusesWhatTheSchemaDoesNot() {
        Automaton grammar = JsonSchemaGrammar.of(INVOICE);
        String valid = "{\"vendor\": \"x\", \"amount\": 1, \"lines\": 3, \"paid\": true, \"due\": \"2026-02-28\", "
                + "\"status\": \"closed\", \"tags\": [], \"address\": {\"city\": \"Oslo\", \"zip\": \"0150\"}}";
        assertTrue(accepts(grammar, valid));
        assertFalse(accepts(grammar, valid.replace("\"lines\": 3", "\"lines\": 3.5")), "integer");
        assertFalse(accepts(grammar, valid.replace("\"lines\": 3", "\"lines\": 03")), "leading zero");
        assertTrue(accepts(grammar, valid.replace("\"amount\": 1,", "\"amount\": 1.5e-12,")), "exponent");
        assertFalse(accepts(grammar, valid.replace("\"amount\": 1,", "\"amount\": 4E444,")), "beyond a double");
        assertFalse(accepts(grammar, valid.replace("\"vendor\": \"x\"", "\"vendor\": null")), "required string");
        assertFalse(accepts(grammar, valid.replace("closed", "pending")), "enum");
        assertFalse(accepts(grammar, valid.replace("2026-02-28", "2026-13-01")), "month");
        // only days that exist: what the grammar allows, java.time reads (found: a random model wrote 0927-02-31)
        for (String day : new String[]{"2026-12-31", "2024-02-29", "2000-02-29", "0000-02-29", "1904-02-29", "2026-04-30",
                "0001-01-01", "9999-12-31"}) {
            assertTrue(accepts(grammar, valid.replace("2026-02-28", day)), day);
            java.time.LocalDate.parse(day);
        }
        for (String day : new String[]{"0927-02-31", "2026-02-29", "1900-02-29", "2100-02-29", "2026-04-31", "2026-06-31",
                "2026-00-10", "2026-01-00", "2026-01-32"}) {
            assertFalse(accepts(grammar, valid.replace("2026-02-28", day)), day);
            org.junit.jupiter.api.Assertions.assertThrows(java.time.format.DateTimeParseException.class,
                    () -> java.time.LocalDate.parse(day), day);
        }
        assertFalse(accepts(grammar, valid.replace("\"x\"", "\"a\nb\"")), "raw newline in a string");
        assertFalse(accepts(grammar, valid.replace("\"x\"", "\"\\q\"")), "unknown escape");
        assertFalse(accepts(grammar, valid.replace("\"amount\": 1, \"lines\"", "\"lines\"")), "missing property");
        assertFalse(accepts(grammar, valid.replace(", \"lines\"", ",\"lines\"")), "another layout");
        assertFalse(accepts(grammar, valid + " "), "text after the object");
        assertFalse(accepts(grammar, valid.replace("\"paid\": true", "\"paid\": True")), "boolean spelling");
    }

    @Test
    void everyPropertyIsWrittenAndNullOnlyWhereItsTypeAllows() {
        // what standard validators accept: an optional property may be absent, but when written it has its type
        Automaton grammar = JsonSchemaGrammar.of("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"integer\"}, "
                + "\"b\": {\"type\": [\"integer\", \"null\"]}}}");
        assertTrue(accepts(grammar, "{\"a\": 7, \"b\": null}"));
        assertFalse(accepts(grammar, "{\"a\": null, \"b\": 1}"));
        assertFalse(accepts(grammar, "{\"b\": 1}"));
    }

    @Test
    void refusesWhatItCannotConstrainByName() {
        IllegalArgumentException keyword = assertThrows(IllegalArgumentException.class, () -> JsonSchemaGrammar.of(
                "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\", \"maxLength\": 3}}}"));
        assertTrue(keyword.getMessage().contains("'maxLength' at $.a"), keyword.getMessage());
        IllegalArgumentException top = assertThrows(IllegalArgumentException.class,
                () -> JsonSchemaGrammar.of("{\"type\": \"string\"}"));
        assertTrue(top.getMessage().contains("must be a JSON object"), top.getMessage());
        IllegalArgumentException format = assertThrows(IllegalArgumentException.class, () -> JsonSchemaGrammar.of(
                "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\", \"format\": \"email\"}}}"));
        assertTrue(format.getMessage().contains("'email'"), format.getMessage());
        IllegalArgumentException required = assertThrows(IllegalArgumentException.class, () -> JsonSchemaGrammar.of(
                "{\"type\": \"object\", \"properties\": {}, \"required\": [\"a\"]}"));
        assertTrue(required.getMessage().contains("'a' is required"), required.getMessage());
        assertThrows(IllegalArgumentException.class, () -> JsonSchemaGrammar.of("{not json"));
        // a pattern would be validated but not decoded under: refused rather than ignored
        IllegalArgumentException pattern = assertThrows(IllegalArgumentException.class, () -> JsonSchemaGrammar.of(
                "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\", \"pattern\": \"^x\"}}}"));
        assertTrue(pattern.getMessage().contains("'pattern' at $.a"), pattern.getMessage());
    }
}
