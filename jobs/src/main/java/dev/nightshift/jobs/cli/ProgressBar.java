package dev.nightshift.jobs.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A one-line progress bar on stderr, redrawn at most every 200 ms on a terminal; elsewhere (a log, a pipe) a plain
 * line per tenth, with no {@code \r}.
 */
final class ProgressBar {

    private static final int WIDTH = 30;
    private final PrintWriter err;
    private final boolean terminal;
    private long lastDraw;
    private int lastTenth = -1;
    private boolean drawn;
    private boolean complete;

    ProgressBar(PrintWriter err) {
        this(err, JobConsole.interactive());
    }

    ProgressBar(PrintWriter err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    void update(long done, long total) {
        long now = System.nanoTime();
        if (complete || (now - lastDraw < 200_000_000L && done < total)) {
            return;
        }
        complete = done >= total;
        lastDraw = now;
        double fraction = total <= 0 ? 1 : Math.min(1, (double) done / total);
        if (!terminal) {
            int tenth = (int) (fraction * 10);
            if (tenth != lastTenth) {
                lastTenth = tenth;
                err.printf(Locale.ROOT, "  %3d%%%n", tenth * 10);
                err.flush();
            }
            return;
        }
        int filled = (int) Math.round(fraction * WIDTH);
        err.printf(Locale.ROOT, "\r[%s%s] %5.1f%%", "#".repeat(filled), ".".repeat(WIDTH - filled), fraction * 100);
        err.flush();
        drawn = true;
    }

    /** Ends the bar's line, once. */
    void finish() {
        if (drawn) {
            err.println();
            drawn = false;
        }
        complete = true;
    }
}
