package dev.nightshift.jobs.cli;


import dev.nightshift.engine.Reason;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;

/** Turns exceptions into the one-line reasons the command line prints. */
final class UserError {

    private UserError() {
    }

    /** Bad usage that picocli cannot see (conflicting options, for instance): exit code 2. */
    static final class Usage extends RuntimeException {
        Usage(String message) {
            super(message);
        }
    }

    /** Bad input files and arguments, as opposed to failures of the work itself. */
    static boolean isInputProblem(Throwable e) {
        // NoSuchFileException and FileNotFoundException are IOExceptions: a named file problem is the user's input.
        return e instanceof IllegalArgumentException || (e instanceof IOException && e.getMessage() != null);
    }

    static String describe(Throwable e) {
        if (e instanceof NoSuchFileException missing) {
            return "no such file: " + missing.getFile();
        }
        if (e instanceof UncheckedIOException unchecked && unchecked.getMessage() != null) {
            return Reason.of(unchecked);
        }
        return Reason.of(e);
    }
}
