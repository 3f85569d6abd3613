package dev.nightshift.task;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.nightshift.engine.JsonSchemaGrammar;
import org.apache.lucene.util.automaton.Automaton;
import org.apache.lucene.util.automaton.Operations;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Field specs from config values, their JSON schema, and agreement between the schema's grammar and a validator. */
class FieldSpecTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    static List<FieldSpec> invoiceFields() {
        return FieldSpec.parse(List.of(
                "invoice_number",
                Map.of("name", "amount", "type", "number", "description", "total due", "required", true),
                Map.of("name", "lines", "type", "integer"),
                Map.of("name", "paid", "type", "boolean"),
                Map.of("name", "due", "type", "date"),
                Map.of("name", "status", "type", "enum", "values", List.of("paid", "unpaid")),
                Map.of("name", "items", "type", "list"),
                Map.of("name", "vendor", "type", "object", "fields", List.of(Map.of("name", "name", "type", "string"),
                        Map.of("name", "country", "type", "string", "required", true)))));
    }

    @Test
    void aPlainNameIsAnyScalar() throws Exception {
        FieldSpec field = FieldSpec.parse(List.of("customer")).get(0);
        assertEquals(FieldSpec.FieldType.ANY, field.type());
        assertFalse(field.required());
        assertTrue(field.plain());
        assertEquals("customer (any)", field.describe());
        String schema = FieldSpec.jsonSchema(List.of(field));
        Automaton grammar = JsonSchemaGrammar.of(schema);
        Schema validator = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(schema);
        for (String text : List.of("{\"customer\": \"Acme\"}", "{\"customer\": 12}", "{\"customer\": false}",
                "{\"customer\": null}")) {
            assertTrue(Operations.run(grammar, text), text);
            assertEquals(List.of(), validator.validate(JSON.readTree(text)), text);
        }
        assertFalse(Operations.run(grammar, "{\"customer\": [1]}"));
    }

    @Test
    void theSchemaAndItsGrammarAgreeWithAValidator() throws Exception {
        String schema = FieldSpec.jsonSchema(invoiceFields());
        Automaton grammar = JsonSchemaGrammar.of(schema);
        Schema validator = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(schema);
        List<String> valid = List.of(
                "{\"invoice_number\": \"INV-7\", \"amount\": 12.5, \"lines\": 2, \"paid\": true, \"due\": \"2026-01-31\", "
                        + "\"status\": \"paid\", \"items\": [\"bolts\"], \"vendor\": {\"name\": \"ACME\", \"country\": \"NO\"}}",
                "{\"invoice_number\": null, \"amount\": 0, \"lines\": null, \"paid\": null, \"due\": null, "
                        + "\"status\": null, \"items\": null, \"vendor\": null}");
        for (String text : valid) {
            assertTrue(Operations.run(grammar, text), text);
            assertEquals(List.of(), validator.validate(JSON.readTree(text)), text);
        }
        List<String> invalid = List.of(
                valid.get(1).replace("\"amount\": 0", "\"amount\": null"),          // required
                valid.get(0).replace("\"lines\": 2", "\"lines\": 2.5"),               // integer
                valid.get(0).replace("\"paid\", \"items\"", "\"late\", \"items\""),   // enum
                valid.get(0).replace("\"country\": \"NO\"", "\"country\": null"),     // required inside the object
                valid.get(0).replace("[\"bolts\"]", "[1]"));                         // list of strings
        for (String text : invalid) {
            assertFalse(Operations.run(grammar, text), text);
            assertFalse(validator.validate(JSON.readTree(text)).isEmpty(), text);
        }
    }

    @Test
    void describesEveryFieldForThePrompt() {
        List<String> lines = invoiceFields().stream().map(FieldSpec::describe).toList();
        assertEquals("amount (number, required): total due", lines.get(1));
        assertEquals("status (enum of paid | unpaid)", lines.get(5));
        assertEquals("vendor (object with name (string), country (string, required))", lines.get(7));
    }

    @Test
    void badSpecsNameTheFieldAndTheFix() {
        assertEquals("field 'amount' has type 'money'; use one of any, string, integer, number, boolean, date, enum, list, object",
                assertThrows(TaskOptionException.class, () -> FieldSpec.parse(List.of(Map.of("name", "amount", "type", "money"))))
                        .getMessage());
        assertEquals("enum field 'status' needs values: [a, b, ...]", assertThrows(TaskOptionException.class,
                () -> FieldSpec.parse(List.of(Map.of("name", "status", "type", "enum")))).getMessage());
        assertEquals("field 'a' is listed twice", assertThrows(TaskOptionException.class,
                () -> FieldSpec.parse(List.of("a", "a"))).getMessage());
        assertTrue(assertThrows(TaskOptionException.class, () -> FieldSpec.parse(List.of(Map.of("name", "a", "typo", 1))))
                .getMessage().startsWith("unknown key 'typo'"));
        assertTrue(assertThrows(TaskOptionException.class, () -> FieldSpec.parse(List.of(Map.of("name", "o", "type", "object",
                "fields", List.of(Map.of("name", "p", "type", "object", "fields", List.of("q")))))))
                .getMessage().contains("one level deep"));
        assertEquals("fields", assertThrows(TaskOptionException.class, () -> FieldSpec.parse(List.of("bad name"))).key());
    }
}
