package dev.nightshift.jobs.workflow;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs each attempt as {@code java <flags> -cp <this JVM's classpath> MAIN ARGS} in the working directory, so a
 * timeout really ends the task (the child and its descendants are killed) and every task gets a fresh Spark driver,
 * as a Databricks task does. The command line goes through an {@code @argfile}: ONNX Runtime 1.29 crashes when a
 * JVM's command line is longer than about 4 KB (README, "Known pitfalls").
 */
public final class ChildJvmLauncher implements TaskLauncher {

    private final List<String> jvmFlags;

    /** @param jvmFlags flags for every child (the module openings Spark needs, heap size) */
    public ChildJvmLauncher(List<String> jvmFlags) {
        this.jvmFlags = List.copyOf(jvmFlags);
    }

    /** The flags {@code bin/nightshift} gives the command line (the resource {@code nightshift-jvm.flags}). */
    public static ChildJvmLauncher withNightshiftFlags() {
        try (InputStream in = ChildJvmLauncher.class.getResourceAsStream("/nightshift-jvm.flags")) {
            String flags = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return new ChildJvmLauncher(Arrays.stream(flags.trim().split("\\s+"))
                    .filter(flag -> !flag.isEmpty() && !flag.equals("--add-modules=jdk.incubator.vector")).toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public Attempt launch(WorkflowTask task, List<String> args, Duration timeout, PrintWriter out) {
        Path argfile = null;
        try {
            argfile = Files.createTempFile("nightshift-task-", ".args",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            List<String> lines = new ArrayList<>(jvmFlags);
            lines.add("-cp");
            lines.add(System.getProperty("java.class.path"));
            lines.add(task.mainClass());
            lines.addAll(args);
            Files.write(argfile, lines.stream().map(ChildJvmLauncher::quote).toList());
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            Process process = new ProcessBuilder(java.toString(), "@" + argfile).redirectErrorStream(true).start();
            Thread pump = pump(process.getInputStream(), task.key(), out);
            boolean finished = timeout == null ? process.waitFor(Long.MAX_VALUE, TimeUnit.DAYS)
                    : process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!finished) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly().waitFor();
            }
            pump.join(5_000);
            return finished ? Attempt.exited(process.exitValue()) : Attempt.timeout();
        } catch (IOException e) {
            out.println("[" + task.key() + "] could not start java: " + e.getMessage());
            return Attempt.exited(127);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Attempt.exited(130);
        } finally {
            if (argfile != null) {
                try {
                    Files.deleteIfExists(argfile);
                } catch (IOException ignored) {
                    // A temporary file in the temp folder; the next boot cleans it.
                }
            }
        }
    }

    /** Copies the child's output line by line, each prefixed with the task key. */
    private static Thread pump(InputStream in, String key, PrintWriter out) {
        Thread thread = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    synchronized (out) {
                        out.println("[" + key + "] " + line);
                        out.flush();
                    }
                }
            } catch (IOException ignored) {
                // The child was killed: its output ends here.
            }
        }, "workflow-output-" + key);
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    /** One argument per line, double-quoted, as java's @argfile reads it (the rules of bin/argfile.sh). */
    static String quote(String arg) {
        StringBuilder quoted = new StringBuilder("\"");
        for (char c : arg.toCharArray()) {
            switch (c) {
                case '\\' -> quoted.append("\\\\");
                case '"' -> quoted.append("\\\"");
                case '\n' -> quoted.append("\\n");
                case '\r' -> quoted.append("\\r");
                case '\t' -> quoted.append("\\t");
                case '\f' -> quoted.append("\\f");
                default -> quoted.append(c);
            }
        }
        return quoted.append('"').toString();
    }
}
