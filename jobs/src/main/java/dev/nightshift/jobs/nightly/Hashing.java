package dev.nightshift.jobs.nightly;

import dev.nightshift.task.Hashes;

import java.security.MessageDigest;
import java.util.List;

/** sha256 of texts, and the canonical forms hashed for lineage (the task layer's {@link Hashes}). */
public final class Hashing {

    private Hashing() {
    }

    /** Hex sha256 of the parts, each length-prefixed so that ("ab","c") and ("a","bc") differ. */
    public static String sha256(String... parts) {
        return Hashes.sha256(parts);
    }

    public static String sha256(byte[] bytes) {
        return Hashes.sha256(bytes);
    }

    static MessageDigest digest() {
        return Hashes.digest();
    }

    /** A list as text that cannot collide with another list (each item length-prefixed). */
    static String canonicalList(List<String> items) {
        return Hashes.canonicalList(items);
    }
}
