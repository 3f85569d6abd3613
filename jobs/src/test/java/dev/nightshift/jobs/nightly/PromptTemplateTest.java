package dev.nightshift.jobs.nightly;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PromptTemplateTest {

    @Test
    void rendersColumnsConstantsAndLiteralBraces() {
        PromptTemplate template = PromptTemplate.parse("Answer as {{\"label\": ...}} with one of {labels}.\n{title}: {text}")
                .bind(Map.of("labels", "a, b"));
        assertEquals("Answer as {\"label\": ...} with one of a, b.\n", template.sharedPrefix());
        assertEquals("Answer as {\"label\": ...} with one of a, b.\nT: body",
                template.render(Map.of("title", "T", "text", "body")::get));
        assertEquals(List.of("title", "text"), List.copyOf(template.placeholders()));
    }

    @Test
    void badTemplatesAreRejected() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PromptTemplate.parse("x {text")).getMessage()
                .contains("unclosed placeholder"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PromptTemplate.parse("x } y")).getMessage()
                .contains("stray }"));
    }

    @Test
    void summariesAreCutToMaxWords() {
        OutputParser.Trimmed cut = OutputParser.summary("  one two three four  ", 3);
        assertEquals("one two three", cut.text());
        assertEquals("summary cut from 4 to 3 words (max_words)", cut.warning());
        assertNull(OutputParser.summary("one two", 3).warning());
    }

    @Test
    void extractedFieldsAreParsedLenientlyIntoExactlyTheConfiguredFields() {
        OutputParser.Extracted parsed = OutputParser.fields("Sure! ```json\n{company: 'Acme', amount: 12, extra: 1,}\n```",
                List.of("company", "amount", "date"), false, 64);
        assertEquals("{\"company\":\"Acme\",\"amount\":12,\"date\":null}", parsed.json());
        assertEquals("extract: missing fields [date] set to null; ignored fields [extra]", parsed.warning());

        OutputParser.Extracted none = OutputParser.fields("no json here", List.of("company"), false, 64);
        assertNull(none.json());
        assertEquals("extract: no JSON object in the output", none.warning());
    }

    @Test
    void aTruncatedOuterObjectIsNeverReadFromItsInnerObjects() {
        String cut = "{\"company\": {\"name\": \"Northwind\"}, \"amount\": 1250, \"due\": \"2025-03-";
        OutputParser.Extracted byLength = OutputParser.fields(cut, List.of("company", "amount", "due"), true, 48);
        assertNull(byLength.json());
        assertEquals(dev.nightshift.engine.ErrorCode.OUTPUT_TRUNCATED, dev.nightshift.engine.ErrorCode.split(byLength.error()).code());
        assertTrue(byLength.error().contains("max_new_tokens (48)"), byLength.error());

        OutputParser.Extracted byStop = OutputParser.fields(cut, List.of("company"), false, 48);
        assertNull(byStop.json());
        assertNull(byStop.error());
        assertTrue(byStop.warning().contains("is not closed"), byStop.warning());

        // Braces inside an object's strings do not count; the first complete top-level object is the answer.
        OutputParser.Extracted quoted = OutputParser.fields("Here it's: {\"a\": \"}{\", \"b\": {\"c\": 1}} and {\"a\": 2}",
                List.of("a", "b"), false, 48);
        assertEquals("{\"a\":\"}{\",\"b\":{\"c\":1}}", quoted.json());
    }
}
