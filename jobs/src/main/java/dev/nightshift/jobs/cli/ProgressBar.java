package dev.nightshift.jobs.cli;

import java.io.PrintWriter;
import java.util.Locale;

/** A one-line progress bar on stderr, redrawn at most every 200 ms. */
final class ProgressBar {

    private static final int WIDTH = 30;
    private final PrintWriter err;
    private long lastDraw;
    private boolean drawn;
    private boolean complete;

    ProgressBar(PrintWriter err) {
        this.err = err;
    }

    void update(long done, long total) {
        long now = System.nanoTime();
        if (complete || (now - lastDraw < 200_000_000L && done < total)) {
            return;
        }
        complete = done >= total;
        lastDraw = now;
        double fraction = total <= 0 ? 1 : Math.min(1, (double) done / total);
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
