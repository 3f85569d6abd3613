package dev.nightshift.jobs.cli;

import java.io.IOException;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes the arguments it received to the file named by {@code -Decho.out}, exactly (the launcher test's program). */
public final class ArgsEcho {

    private ArgsEcho() {
    }

    public static void main(String[] args) throws IOException {
        try (ObjectOutputStream out = new ObjectOutputStream(Files.newOutputStream(Path.of(System.getProperty("echo.out"))))) {
            out.writeObject(args);
        }
    }
}
