package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.Reason;
import org.apache.spark.sql.catalyst.parser.CatalystSqlParser$;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every reason shown to a user is one non-empty line that names the problem, whatever the exception looks like. */
class ReasonTest {

    @Test
    void sparksRealParseErrorsGiveTheirErrorClassLine() {
        for (String filter : new String[]{"region = ", "((", "region IN ('a'"}) {
            Exception parse = assertThrows(Exception.class, () -> CatalystSqlParser$.MODULE$.parseExpression(filter), filter);
            String reason = Reason.of(parse);
            assertTrue(reason.startsWith("[PARSE_SYNTAX_ERROR]"), filter + " -> '" + reason + "' from '" + parse.getMessage() + "'");
            assertFalse(reason.contains("\n"), reason);
        }
    }

    @Test
    void messagesStartingWithBlankLinesGiveTheirFirstLineWithText() {
        assertEquals("[X] the problem", Reason.of(new IllegalStateException("\n  \n[X] the problem  \n== SQL ==\nselect")));
    }

    @Test
    void aMissingMessageFallsBackToTheCauseAndThenToTheKind() {
        assertEquals("disk full", Reason.of(new RuntimeException(null, new IOException("disk full"))));
        assertEquals("NullPointerException", Reason.of(new NullPointerException()));
        assertEquals("IllegalStateException", Reason.of(new IllegalStateException("   \n\n")));
        assertEquals("UncheckedIOException: java.io.IOException: gone",
                Reason.withKind(new UncheckedIOException(new IOException("gone"))));
        assertEquals("NullPointerException", Reason.withKind(new NullPointerException()));
    }
}
