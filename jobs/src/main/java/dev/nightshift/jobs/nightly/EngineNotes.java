package dev.nightshift.jobs.nightly;

import org.apache.spark.SparkContext;
import org.apache.spark.util.CollectionAccumulator;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The provider the engines used and what they warned about when they opened, gathered on the driver from the
 * driver's own engine (local mode) and, through an accumulator, from every executor's. Reported in the run's
 * {@code provider} and {@code warnings}.
 */
final class EngineNotes {

    /** Prefix of provider notes in the accumulator; other notes are warnings. */
    static final String PROVIDER_NOTE = "provider:";

    private final Set<String> providers = new TreeSet<>();
    private final Set<String> warnings = new LinkedHashSet<>();
    private final CollectionAccumulator<String> fromExecutors;

    EngineNotes(SparkContext spark) {
        this.fromExecutors = spark.collectionAccumulator("nightshift engine notes");
    }

    /** What executors add to ({@link #PROVIDER_NOTE} + provider, or a warning). */
    CollectionAccumulator<String> accumulator() {
        return fromExecutors;
    }

    /** Takes in what executors reported so far (called after each chunk). */
    void gather() {
        addAll(fromExecutors.value());
    }

    void provider(String provider) {
        providers.add(provider);
    }

    void addAll(List<String> notes) {
        for (String note : notes) {
            if (note.startsWith(PROVIDER_NOTE)) {
                providers.add(note.substring(PROVIDER_NOTE.length()));
            } else {
                warnings.add(note);
            }
        }
    }

    /** "cpu", "cpu,cuda" when executors differed, or null when no engine opened. */
    String provider() {
        return providers.isEmpty() ? null : String.join(",", providers);
    }

    List<String> warnings() {
        return List.copyOf(warnings);
    }
}
