package dev.nightshift.task;

import java.util.List;

/** The canonical forms hashed for lineage (prompt and input hashes); the hashing is {@link dev.nightshift.engine.Sha256}'s. */
public final class Hashes {

    private Hashes() {
    }

    /** A list as text that cannot collide with another list (each item length-prefixed). */
    public static String canonicalList(List<String> items) {
        StringBuilder out = new StringBuilder("[");
        for (String item : items) {
            out.append(item.length()).append(':').append(item).append(',');
        }
        return out.append(']').toString();
    }
}
