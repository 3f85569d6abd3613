package dev.nightshift.task;

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
        SummarizeTask.Trimmed cut = SummarizeTask.summary("  one two three four  ", 3);
        assertEquals("one two three", cut.text());
        assertEquals("summary cut from 4 to 3 words (max_words)", cut.warning());
        assertNull(SummarizeTask.summary("one two", 3).warning());
    }

    @Test
    void extractedFieldsAreParsedLenientlyIntoExactlyTheConfiguredFields() {
        ExtractTask.Extracted parsed = ExtractTask.fields("Sure! ```json\n{company: 'Acme', amount: 12, extra: 1,}\n```",
                List.of("company", "amount", "date"), false, 64);
        assertEquals("{\"company\":\"Acme\",\"amount\":12,\"date\":null}", parsed.json());
        assertEquals("extract: missing fields [date] set to null; ignored fields [extra]", parsed.warning());

        ExtractTask.Extracted none = ExtractTask.fields("no json here", List.of("company"), false, 64);
        assertNull(none.json());
        assertEquals("extract: no JSON object in the output", none.warning());
        ExtractTask.Extracted cut = ExtractTask.fields("         ", List.of("company"), true, 64);
        assertNull(cut.json());
        assertEquals("[OUTPUT_TRUNCATED] no JSON object in the output when the output reached max_new_tokens (64); "
                + ExtractTask.RAISE_LIMIT, cut.error());
    }

    @Test
    void aTruncatedOuterObjectIsNeverReadFromItsInnerObjects() {
        String cut = "{\"company\": {\"name\": \"Northwind\"}, \"amount\": 1250, \"due\": \"2025-03-";
        ExtractTask.Extracted byLength = ExtractTask.fields(cut, List.of("company", "amount", "due"), true, 48);
        assertNull(byLength.json());
        assertEquals(dev.nightshift.engine.ErrorCode.OUTPUT_TRUNCATED, dev.nightshift.engine.ErrorCode.split(byLength.error()).code());
        assertTrue(byLength.error().contains("max_new_tokens (48)"), byLength.error());

        ExtractTask.Extracted byStop = ExtractTask.fields(cut, List.of("company"), false, 48);
        assertNull(byStop.json());
        assertNull(byStop.error());
        assertTrue(byStop.warning().contains("is not closed"), byStop.warning());

        // Braces inside an object's strings do not count; the first complete top-level object is the answer.
        ExtractTask.Extracted quoted = ExtractTask.fields("Here it's: {\"a\": \"}{\", \"b\": {\"c\": 1}} and {\"a\": 2}",
                List.of("a", "b"), false, 48);
        assertEquals("{\"a\":\"}{\",\"b\":{\"c\":1}}", quoted.json());
    }
}
