package dev.nightshift;

import java.nio.file.Files;
import java.nio.file.Path;


/** Locates the read-only ../shared folder (models and data sets that tests use but the repo must not copy). */
public final class SharedFiles {

    private SharedFiles() {
    }

    /** The shared folder: system property {@code nightshift.shared}, else the first {@code shared} beside a parent folder. */
    public static Path root() {
        String configured = System.getProperty("nightshift.shared");
        if (configured != null && Files.isDirectory(Path.of(configured))) {
            return Path.of(configured).toAbsolutePath().normalize();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolveSibling("shared");
            if (Files.isDirectory(candidate.resolve("models"))) {
                return candidate.normalize();
            }
        }
        throw new IllegalStateException("cannot find ../shared (set -Dnightshift.shared=/path/to/shared)");
    }

    /** A path inside the shared folder; fails the test with a clear message when it is missing. */
    public static Path get(String relative) {
        Path path = root().resolve(relative);
        if (!Files.exists(path)) {
            throw new IllegalStateException("missing shared test input " + path + " (the tests need ../shared beside the repo)");
        }
        return path;
    }

    public static Path stories260K() {
        return get("models/stories260K/stories260K.bin");
    }

    public static Path tok512() {
        return get("models/stories260K/tok512.bin");
    }

    public static Path storiesReference() {
        return get("models/stories260K/reference.json");
    }
}
