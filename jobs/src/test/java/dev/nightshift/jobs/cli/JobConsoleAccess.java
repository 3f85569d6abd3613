package dev.nightshift.jobs.cli;

import dev.nightshift.jobs.nightly.RunSummary;

import java.io.PrintWriter;

/** Opens {@link JobConsole}'s printing to tests in other packages. */
public final class JobConsoleAccess {

    private JobConsoleAccess() {
    }

    public static void printSummary(RunSummary run, PrintWriter out) {
        JobConsole.printSummary(run, out);
    }
}
