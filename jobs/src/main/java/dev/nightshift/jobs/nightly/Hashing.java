package dev.nightshift.jobs.nightly;

import java.util.List;

/** The canonical forms hashed for lineage (the hashing itself is {@link dev.nightshift.engine.Sha256}'s). */
public final class Hashing {

    private Hashing() {
    }

    /** A list as text that cannot collide with another list (each item length-prefixed). */
    static String canonicalList(List<String> items) {
        StringBuilder out = new StringBuilder("[");
        for (String item : items) {
            out.append(item.length()).append(':').append(item).append(',');
        }
        return out.append(']').toString();
    }
}
