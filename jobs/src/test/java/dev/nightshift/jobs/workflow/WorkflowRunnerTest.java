package dev.nightshift.jobs.workflow;

import dev.nightshift.jobs.cli.NightshiftCli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code workflow run} and {@code workflow validate} on small graphs whose tasks are child JVMs of {@link TestTasks}
 * (a real timeout kills the child), and the shipped conf/workflows/nightly.json validated with the real command line.
 */
class WorkflowRunnerTest {

    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    static String task(String key, String main, String dependsOn, String extra, String... args) {
        return """
                {"task_key": "%s", %s "spark_jar_task": {"main_class_name": "%s", "parameters": [%s]} %s}"""
                .formatted(key, dependsOn == null ? "" : "\"depends_on\": [{\"task_key\": \"" + dependsOn + "\"}],",
                        TestTasks.class.getName() + "$" + main,
                        String.join(", ", java.util.Arrays.stream(args).map(a -> "\"" + a + "\"").toList()), extra);
    }

    Path workflow(String... tasks) throws IOException {
        return Files.writeString(dir.resolve("wf.json"), "{\"name\": \"t\", \"parameters\": [{\"name\": \"dir\", \"default\": \""
                + dir + "\"}], \"tasks\": [" + String.join(",\n", tasks) + "]}");
    }

    static int cli(StringWriter out, String... args) {
        PrintWriter writer = new PrintWriter(out, true);
        int code = NightshiftCli.run(args, writer, writer);
        writer.flush();
        return code;
    }

    @Test
    void retriesTimeoutsAndUpstreamFailuresShowInTheStatusTable() throws IOException {
        Path order = dir.resolve("order.txt");
        Path file = workflow(
                task("flaky", "Flaky", null, ", \"max_retries\": 1", "{{job.parameters.dir}}/marker"),
                task("after_flaky", "Record", "flaky", "", "after_flaky", order.toString()),
                task("slow", "Sleep", null, ", \"timeout_seconds\": 2, \"max_retries\": 2", "60"),
                task("after_slow", "Record", "slow", "", "after_slow", order.toString()),
                task("last", "Record", "after_slow", "", "last", order.toString()));
        StringWriter out = new StringWriter();
        long start = System.nanoTime();
        int code = cli(out, "workflow", "run", file.toString());
        double seconds = (System.nanoTime() - start) / 1e9;

        assertEquals(1, code, out.toString());
        String table = out.toString().substring(out.toString().lastIndexOf("\ntask ") + 1);
        List<String> rows = table.lines().skip(1).map(line -> String.join(" ", List.of(line.trim().split("\\s+")).subList(0, 4))).toList();
        assertEquals(List.of("flaky succeeded 2 0", "after_flaky succeeded 1 0",
                "slow timed_out 1 -", "after_slow upstream_failed 0 -", "last upstream_failed 0 -"), rows, out.toString());
        assertEquals("after_flaky\n", Files.readString(order), "downstream of a failed task nothing runs");
        assertTrue(out.toString().contains("[flaky] first attempt: failing") && out.toString().contains("[flaky] second attempt: fine"),
                out.toString());
        // The 60 s sleeper was killed at its 2 s timeout, and not retried (retry_on_timeout is false by default).
        assertTrue(seconds < 40, "took " + seconds + " s");
    }

    @Test
    void theShippedWorkflowIsValidWithTheRealCommandLine() {
        StringWriter out = new StringWriter();
        int code = cli(out, "workflow", "validate", ROOT.resolve("conf/workflows/nightly.json").toString(),
                "--param", "conf=" + ROOT.resolve("conf/workflows"));
        assertEquals(0, code, out.toString());
        assertTrue(out.toString().contains("valid (4 tasks, in order: summarize -> classify -> eval_gate -> report)"), out.toString());
    }

    @Test
    void aCycleIsRefusedNamingItsTasks() throws IOException {
        Path file = workflow(task("a", "Sleep", "b", "", "0"), task("b", "Sleep", "a", "", "0"), task("c", "Sleep", null, "", "0"));
        StringWriter out = new StringWriter();
        assertEquals(2, cli(out, "workflow", "run", file.toString()), out.toString());
        assertTrue(out.toString().contains("the dependencies form a cycle: a -> b -> a; remove one of its depends_on entries"),
                out.toString());
    }

    @Test
    void everyProblemIsNamedWithItsTaskAndFix() throws IOException {
        String cli = NightshiftCli.class.getName();
        Path file = Files.writeString(dir.resolve("bad.json"), """
                {"tasks": [
                  {"task_key": "typo", "spark_jar_task": {"main_class_name": "%s", "parameters": ["run", "--confgi", "x.yaml"]}},
                  {"task_key": "missing", "spark_jar_task": {"main_class_name": "%s", "parameters": ["run", "--config", "%s/none.yaml"]}},
                  {"task_key": "nomain", "depends_on": [{"task_key": "typo"}], "spark_jar_task": {"main_class_name": "com.example.Nope"}}
                ]}""".formatted(cli, cli, dir));
        StringWriter out = new StringWriter();
        assertEquals(2, cli(out, "workflow", "validate", file.toString()), out.toString());
        assertTrue(out.toString().contains("task typo: its parameters [run, --confgi, x.yaml] do not parse: "),
                out.toString());
        assertTrue(out.toString().contains("task missing: --config " + dir + "/none.yaml: no such file"), out.toString());
        assertTrue(out.toString().contains("task nomain: main class com.example.Nope is not on the classpath"), out.toString());

        Path shape = Files.writeString(dir.resolve("shape.json"), """
                {"tasks": [{"task_key": "a", "spark_jar_task": {"main_class_name": "x"}},
                           {"task_key": "a", "spark_jar_task": {"main_class_name": "x"}},
                           {"task_key": "b", "depends_on": [{"task_key": "z"}], "spark_jar_task": {"main_class_name": "x", "parameters": ["{{job.parameters.p}}"]}}]}""");
        out = new StringWriter();
        assertEquals(2, cli(out, "workflow", "validate", shape.toString()), out.toString());
        assertTrue(out.toString().contains("task a appears twice; task keys must be unique"), out.toString());
        assertTrue(out.toString().contains("task b depends on 'z', which is no task_key; known: a, b"), out.toString());
        assertTrue(out.toString().contains("task b refers to {{job.parameters.p}}, which the job's \"parameters\" do not define"),
                out.toString());
    }
}
