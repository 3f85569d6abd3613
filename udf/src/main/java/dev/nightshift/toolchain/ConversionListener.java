package dev.nightshift.toolchain;

/** Receives conversion progress; the library never prints, the command line draws the bar. */
@FunctionalInterface
public interface ConversionListener {

    ConversionListener NONE = (stage, done, total) -> { };

    /** @param done parameters written so far, out of {@code total} */
    void progress(String stage, long done, long total);
}
