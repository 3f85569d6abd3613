package dev.nightshift.jobs.cli;

import dev.nightshift.jobs.nightly.JobListener;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Progress redraws in place only on a terminal; logs and pipes get plain lines, and not one per second. */
class ProgressOutputTest {

    @Test
    void jobProgressIsPlainLinesWithoutCarriageReturnsWhenStderrIsNotATerminal() {
        StringWriter text = new StringWriter();
        JobListener listener = JobConsole.progress(new PrintWriter(text), false);
        listener.stage("chunk 1/1", "infer, stage, merge");
        for (long done = 1; done <= 50; done++) {
            listener.progress(done, 50, 120, 50 - done);
        }
        listener.chunkTimes(1, 12.34, 4.5);
        listener.chunkCommitted(1, 1, 50, 0);
        String out = text.toString();
        assertFalse(out.contains("\r"), out);
        assertEquals(List.of("[chunk 1/1] infer, stage, merge",
                "  1/50 rows (2%), 120 tokens/s, ETA 0:49",
                "  50/50 rows (100%), 120 tokens/s, ETA 0:00",
                "  chunk 1: inferred and staged in 12.3 s, merged in 4.5 s",
                "  chunk 1/1 merged: 50 rows, 0 failed"), out.lines().toList(), "first and last line only within 10 s");
    }

    @Test
    void onATerminalTheProgressLineIsRedrawnInPlace() {
        StringWriter text = new StringWriter();
        JobListener listener = JobConsole.progress(new PrintWriter(text), true);
        listener.progress(1, 2, 10, 5);
        listener.progress(2, 2, 10, 0);
        assertTrue(text.toString().startsWith("\r  1/2 rows (50%)"), text.toString());
        assertEquals(2, text.toString().chars().filter(c -> c == '\r').count());
    }

    @Test
    void theConversionBarIsOneLinePerTenthWhenNotATerminal() {
        StringWriter text = new StringWriter();
        ProgressBar bar = new ProgressBar(new PrintWriter(text), false);
        for (int done = 0; done <= 1000; done++) {
            bar.update(done, 1000);
        }
        bar.finish();
        assertFalse(text.toString().contains("\r"), text.toString());
        assertTrue(text.toString().endsWith("100%\n"), text.toString());
        assertTrue(text.toString().lines().count() <= 11, text.toString());
    }
}
