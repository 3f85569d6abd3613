package dev.nightshift.task;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/** sha256 of texts, and the canonical forms hashed for lineage (prompt and input hashes). */
public final class Hashes {

    private Hashes() {
    }

    /** Hex sha256 of the parts, each length-prefixed so that ("ab","c") and ("a","bc") differ. */
    public static String sha256(String... parts) {
        MessageDigest digest = digest();
        for (String part : parts) {
            byte[] bytes = (part == null ? "\u0000null" : part).getBytes(StandardCharsets.UTF_8);
            digest.update(Integer.toString(bytes.length).getBytes(StandardCharsets.US_ASCII));
            digest.update((byte) ':');
            digest.update(bytes);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    public static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
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
