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
        OutputParser.Trimmed parsed = OutputParser.fields("Sure! ```json\n{company: 'Acme', amount: 12, extra: 1,}\n```",
                List.of("company", "amount", "date"));
        assertEquals("{\"company\":\"Acme\",\"amount\":12,\"date\":null}", parsed.text());
        assertEquals("extract: missing fields [date] set to null; ignored fields [extra]", parsed.warning());

        OutputParser.Trimmed none = OutputParser.fields("no json here", List.of("company"));
        assertNull(none.text());
        assertEquals("extract: no JSON object in the output", none.warning());
    }
}
