package dev.nightshift.jobs.cli;

import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The examples in every command's --help and in the README's command sections can be pasted: they are parsed out of
 * the text itself (so they cannot rot), checked the way bash would read them (nothing expands inside them, no line
 * is wrapped inside an argument, every option exists), and those that can run here in seconds are run, with tiny
 * fixtures in place of their paths. The rest are listed in {@link #NOT_RUN} with the reason.
 */
class HelpExamplesTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final List<String> COMMANDS = List.of("convert", "generate", "bench", "run", "sql", "demo", "eval", "workflow");

    /** Examples too heavy or needing what this machine lacks; each is still parsed and checked. */
    private static final Map<String, String> NOT_RUN = Map.of(
            "bin/nightshift demo", "the whole nightly job with Delta MERGEs (NightlyEndToEndTest covers it)",
            "bin/nightshift bench", "a benchmark: minutes",
            "bin/nightshift run --config conf/nightly-example.yaml", "needs the example's model and documents",
            "bin/nightshift convert --from /models/", "needs a Hugging Face download",
            "bin/nightshift convert --random llama-3.2-1b", "writes a 1B-parameter model",
            "bin/nightshift generate --model models/llama32-1b-int4", "needs a converted 1B model",
            "conf/spark-submit.sh", "needs SPARK_HOME and a cluster",
            "bin/nightshift eval", "runs the model on a labelled sample (EvalJobTest covers it)",
            "bin/nightshift workflow", "runs nightly jobs in child JVMs (WorkflowRunnerTest and NightlyWorkflowTest cover it)");

    @Test
    void everyHelpExampleIsOneUnwrappedShellSafeCommandLineWithKnownOptions() {
        for (String command : COMMANDS) {
            List<String> examples = helpExamples(command);
            assertFalse(examples.isEmpty(), command + " --help has no examples");
            for (String example : examples) {
                check(example);
            }
        }
    }

    @Test
    void everyReadmeCommandExampleIsShellSafeWithKnownOptions() throws Exception {
        List<String> examples = readmeExamples();
        assertTrue(examples.size() >= 4, examples.toString());
        for (String example : examples) {
            check(example);
        }
    }

    @Test
    void theExamplesThatCanRunHereRunWithTinyFixtures(@TempDir Path dir) throws Exception {
        // Fixtures: a random tiny model for generate, Delta tables and a job config for sql.
        assertEquals(0, cli(List.of("convert", "--random", "tiny", "--to", dir.resolve("models/stories260K").toString())));
        SparkSession spark = JobConsole.session("local[2]", dir.resolve("warehouse"));
        Path results = dir.resolve("tables/results");
        Path runs = dir.resolve("tables/runs");
        spark.sql("CREATE TABLE delta.`" + results + "` (task STRING, label STRING) USING delta");
        spark.sql("INSERT INTO delta.`" + results + "` VALUES ('topic', 'World'), ('topic', 'World')");
        spark.sql("CREATE TABLE delta.`" + runs + "` (run_id STRING, started_at TIMESTAMP) USING delta");
        Path config = Files.writeString(dir.resolve("demo.yaml"), """
                source: {path: %s, format: json}
                tasks: [{name: topic, type: classify, labels: [World, Sports]}]
                model: {path: %s}
                output: {results: {path: %s}, runs: {path: %s}}
                """.formatted(dir.resolve("docs.jsonl"), dir.resolve("models/stories260K"), results, runs));

        List<String> examples = new ArrayList<>();
        COMMANDS.forEach(command -> examples.addAll(helpExamples(command)));
        examples.addAll(readmeExamples());
        int ran = 0;
        for (String example : examples) {
            if (NOT_RUN.keySet().stream().anyMatch(example::startsWith)) {
                continue;
            }
            List<String> words = ShellWords.split(example);
            // convert writes a fresh folder per example; everything else reads the fixture model.
            Path models = words.get(1).equals("convert") ? dir.resolve("converted-" + ran) : dir.resolve("models");
            List<String> args = new ArrayList<>();
            for (String word : words.subList(1, words.size())) {
                args.add(word.replace("nightshift-work/demo.yaml", config.toString())
                        .replace("/data/nightshift/runs", runs.toString())
                        .replace("../shared/", ROOT.resolve("../shared").normalize() + "/")
                        .replaceFirst("^models/", models + "/"));
            }
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = NightshiftCli.run(args.toArray(String[]::new), new PrintWriter(out), new PrintWriter(err));
            assertEquals(0, code, example + "\n" + out + err);
            ran++;
        }
        assertTrue(ran >= 5, "ran " + ran + " examples");

        // a bad llm_* call is reported by its function and our message, not inside Spark's type-mismatch wrapper
        StringWriter err = new StringWriter();
        int code = NightshiftCli.run(new String[]{"sql", "--model", dir.resolve("models/stories260K").toString(),
                "SELECT llm_classify('some text', array('only'))"}, new PrintWriter(new StringWriter()), new PrintWriter(err));
        assertEquals(2, code, err.toString());
        assertEquals("nightshift sql: bad llm_classify call (line 1 pos 7): classify needs at least two distinct, non-empty "
                + "labels, got [only]", err.toString().strip().lines().findFirst().orElse(""), err.toString());
    }

    @Test
    void sqlWithoutConfigHintsAtConfigAndPathTables() {
        StringWriter err = new StringWriter();
        int code = NightshiftCli.run(new String[]{"sql", "SELECT * FROM no_such_results_view"},
                new PrintWriter(new StringWriter()), new PrintWriter(err));
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains("TABLE_OR_VIEW_NOT_FOUND"), err.toString());
        assertTrue(err.toString().contains("add --config FILE (views results and runs) or name a path table"), err.toString());
    }

    /**
     * In a fresh JVM (this one's Spark session is shared by other tests), in an empty working directory. Looking up a
     * table makes Spark create its warehouse folder, which used to be ./warehouse.
     */
    @Test
    void sqlLeavesNoWarehouseInTheWorkingDirectory(@TempDir Path workingDirectory) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(arg -> arg.startsWith("--add-") || arg.startsWith("-Xmx")).toList());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), NightshiftCli.class.getName(),
                "sql", "SELECT * FROM results"));
        Process process = new ProcessBuilder(command).directory(workingDirectory.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertEquals(2, process.waitFor(), output);
        assertTrue(output.contains("TABLE_OR_VIEW_NOT_FOUND") && output.contains("add --config FILE"), output);
        try (java.util.stream.Stream<Path> left = Files.list(workingDirectory)) {
            assertEquals(List.of(), left.map(p -> p.getFileName().toString()).toList(), "sql wrote into the working directory");
        }
    }

    @Test
    void aRelativeDeltaPathIsRefusedWithItsAbsoluteForm() {
        StringWriter err = new StringWriter();
        int code = NightshiftCli.run(new String[]{"sql", "SELECT * FROM delta.`nightshift-work/warehouse/runs`"},
                new PrintWriter(new StringWriter()), new PrintWriter(err));
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains("delta.`nightshift-work/warehouse/runs` is a relative path; Delta path tables "
                + "need an absolute path or URI: delta.`" + Path.of("nightshift-work/warehouse/runs").toAbsolutePath()
                + "`"), err.toString());
    }

    // --- examples out of the texts ---------------------------------------------------------------------------

    /** A command's --help examples: the lines after "Examples:", continuation lines ("\" at the end) joined. */
    static List<String> helpExamples(String command) {
        StringWriter out = new StringWriter();
        assertEquals(0, NightshiftCli.run(new String[]{command, "--help"}, new PrintWriter(out), new PrintWriter(new StringWriter())));
        String help = out.toString();
        int start = help.indexOf("Examples:");
        assertTrue(start >= 0, command + " --help has no Examples section");
        List<String> examples = new ArrayList<>();
        StringBuilder current = null;
        for (String line : help.substring(start + "Examples:".length()).lines().toList()) {
            if (line.isBlank()) {
                continue;
            }
            if (current != null) {
                // The previous line ended in "\": this one continues it, indented.
                assertTrue(line.startsWith("      "), command + " --help: continuation line not indented: '" + line + "'");
                current.append(' ').append(line.strip());
            } else {
                assertTrue(line.startsWith("  bin/nightshift ") || line.startsWith("  conf/spark-submit.sh "),
                        command + " --help: a line that is no command (wrapped inside an argument?): '" + line + "'");
                current = new StringBuilder(line.strip());
            }
            assertTrue(line.length() <= 80, command + " --help: line over 80 columns would wrap: '" + line + "'");
            if (current.toString().endsWith("\\")) {
                current.setLength(current.length() - 1);
                current = new StringBuilder(current.toString().strip());
            } else {
                examples.add(current.toString());
                current = null;
            }
        }
        assertEquals(null, current, command + " --help ends inside a continued example");
        return examples;
    }

    /**
     * The README's runnable command examples: lines of ```bash blocks and inline code spans that start with
     * {@code bin/nightshift} (the synopsis blocks, with [OPTIONS] placeholders, are plain ``` blocks and not examples);
     * {@code a && b} is two examples.
     */
    static List<String> readmeExamples() {
        String readme;
        try {
            readme = Files.readString(ROOT.resolve("README.md"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        List<String> found = new ArrayList<>();
        Matcher block = Pattern.compile("```bash\n(.*?)```", Pattern.DOTALL).matcher(readme);
        while (block.find()) {
            for (String line : block.group(1).lines().toList()) {
                if (line.startsWith("bin/nightshift ")) {
                    found.add(line.replaceAll("\\s+#.*$", "").strip());
                }
            }
        }
        Matcher inline = Pattern.compile("(?<!`)`(bin/nightshift [^`]+)`(?!`)").matcher(readme);
        while (inline.find()) {
            found.add(inline.group(1).replaceAll("\\s*\n\\s*", " ").strip());
        }
        List<String> examples = new ArrayList<>();
        for (String example : found) {
            for (String part : example.split(" && ")) {
                examples.add(part.strip());
            }
        }
        return examples;
    }

    /** Checks an example the way bash reads it, then that picocli knows every option and argument. */
    private static void check(String example) {
        List<String> words = ShellWords.split(example);
        if (words.get(0).equals("conf/spark-submit.sh")) {
            assertTrue(Files.isExecutable(ROOT.resolve(words.get(0))), example);
            return;
        }
        assertEquals("bin/nightshift", words.get(0), example);
        try {
            new CommandLine(new NightshiftCli()).parseArgs(words.subList(1, words.size()).toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            fail("'" + example + "' does not parse: " + e.getMessage());
        }
    }

    /** Splits a command line like bash, and fails on anything bash would expand or glob. */
    static final class ShellWords {

        static List<String> split(String line) {
            List<String> words = new ArrayList<>();
            StringBuilder word = null;
            for (int i = 0; i < line.length(); i++) {
                char c = line.charAt(i);
                if (c == '\'') {
                    int end = line.indexOf('\'', i + 1);
                    assertTrue(end > 0, "unclosed ' in: " + line);
                    word = (word == null ? new StringBuilder() : word).append(line, i + 1, end);
                    i = end;
                } else if (c == '"') {
                    word = word == null ? new StringBuilder() : word;
                    for (i++; i < line.length() && line.charAt(i) != '"'; i++) {
                        char d = line.charAt(i);
                        assertFalse(d == '`' || d == '$', "bash expands " + d + " inside double quotes in: " + line);
                        if (d == '\\' && i + 1 < line.length() && "\"\\$`".indexOf(line.charAt(i + 1)) >= 0) {
                            d = line.charAt(++i);
                        }
                        word.append(d);
                    }
                    assertTrue(i < line.length(), "unclosed \" in: " + line);
                } else if (Character.isWhitespace(c)) {
                    if (word != null) {
                        words.add(word.toString());
                        word = null;
                    }
                } else {
                    assertFalse("`$*?[]{};|<>&()#~!".indexOf(c) >= 0 && !(c == '#' && word != null),
                            "bash would treat '" + c + "' specially in: " + line);
                    if (c == '\\' && i + 1 < line.length()) {
                        c = line.charAt(++i);
                    }
                    word = (word == null ? new StringBuilder() : word).append(c);
                }
            }
            if (word != null) {
                words.add(word.toString());
            }
            return words;
        }
    }

    private static int cli(List<String> args) {
        StringWriter out = new StringWriter();
        int code = NightshiftCli.run(args.toArray(String[]::new), new PrintWriter(out), new PrintWriter(out));
        assertEquals(0, code, out.toString());
        return code;
    }
}
