package dev.nightshift.jobs.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ObjectInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bin/nightshift passes every program argument through a java @argfile, so no user input can push the JVM's command
 * line past the ~4 KB at which ONNX Runtime 1.29 crashes (a 2.7 KB --prompt used to end in SIGSEGV, exit 139).
 */
class LauncherArgfileTest {

    private static final Path BIN = Path.of("..", "bin").toAbsolutePath().normalize();

    @Test
    void a100KbPromptAndEveryAwkwardCharacterReachTheProgramUnchanged(@TempDir Path dir) throws Exception {
        String prompt = "Summarize: \"quoted\" and 'single', back\\slash \\n literal, $HOME `date` #hash @file\n"
                + "second line\r\nthird\ttabbed\fform feed, unicode é ✓ \uD83D\uDE00 ".repeat(1)
                + "x".repeat(100_000);
        String[] program = {"generate", "--prompt", prompt, "--prompt", "", "--stop", "\\", "--stop", "\"", "@not-a-file",
                "  spaced  ", "#"};
        Path argfile = dir.resolve("args");
        Path echoed = dir.resolve("echoed.bin");
        List<String> write = new ArrayList<>(List.of("bash", "-c",
                "source \"$0\" && nightshift_argfile \"$@\"", BIN.resolve("argfile.sh").toString(), argfile.toString(),
                "-Decho.out=" + echoed, "-cp", testClasses().toString(), ArgsEcho.class.getName()));
        write.addAll(List.of(program));
        run(write);

        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        run(List.of(java.toString(), "@" + argfile));

        try (ObjectInputStream in = new ObjectInputStream(Files.newInputStream(echoed))) {
            assertArrayEquals(program, (String[]) in.readObject());
        }
        assertTrue(Files.readString(argfile).lines().allMatch(line -> line.startsWith("\"") && line.endsWith("\"")),
                "one quoted argument per line");
    }

    /**
     * The launcher's exec line without its build step: a fresh JVM with the launcher's flags, started with only an
     * @argfile, runs generate with a 100 KB prompt on a tiny model (ONNX Runtime included) and exits 0, not 139.
     */
    @Test
    void a100KbPromptRunsGenerateInAFreshJvm(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("tiny");
        StringWriter convert = new StringWriter();
        assertEquals(0, NightshiftCli.run(new String[]{"convert", "--random", "tiny", "--to", model.toString()},
                new PrintWriter(convert), new PrintWriter(convert)), convert.toString());
        Path argfile = dir.resolve("nightshift.args");
        run(List.of("bash", "-c", "source \"$0\" && nightshift_argfile \"$@\"", BIN.resolve("argfile.sh").toString(),
                argfile.toString(), "-Dnightshift.argfile=" + argfile, "-cp", System.getProperty("java.class.path"),
                NightshiftCli.class.getName(), "generate", "--model", model.toString(), "--max-new-tokens", "2",
                "--overflow", "truncate_head", "--prompt", "Once upon a \"time\" \\ ".repeat(5000)));
        assertTrue(Files.size(argfile) > 100_000);

        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        String flags = Files.readString(Path.of("target/classes/nightshift-jvm.flags"));
        for (String flag : flags.trim().split("\\s+")) {
            if (!flag.equals("--add-modules=jdk.incubator.vector")) {
                command.add(flag);
            }
        }
        command.add("@" + argfile);
        assertTrue(String.join(" ", command).length() < 4096, "the java command line stays short");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertEquals(0, process.waitFor(), output);
        assertTrue(output.contains("finish length (prompt truncated)"), output);
        assertFalse(Files.exists(argfile), "the program deletes its argument file");
    }

    @Test
    void theLauncherPutsNoProgramArgumentOnTheJavaCommandLine() throws Exception {
        List<String> script = Files.readAllLines(BIN.resolve("nightshift"));
        String exec = script.stream().filter(line -> line.startsWith("exec java")).findFirst().orElseThrow();
        assertFalse(exec.contains("$@") || exec.contains("$*"), exec);
        assertTrue(exec.endsWith("@\"$argfile\""), exec);
        assertTrue(script.stream().anyMatch(line -> line.contains("dev.nightshift.jobs.cli.NightshiftCli \"$@\"")),
                "the program arguments go into the argfile");
    }

    private static Path testClasses() throws Exception {
        return Path.of(ArgsEcho.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    private static void run(List<String> command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertEquals(0, process.waitFor(), String.join(" ", command).substring(0, Math.min(200, String.join(" ", command).length())) + "\n" + output);
    }
}
