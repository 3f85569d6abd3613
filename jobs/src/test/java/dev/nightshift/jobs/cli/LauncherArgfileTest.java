package dev.nightshift.jobs.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ObjectInputStream;
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
