package dev.nightshift.jobs.cli;

import dev.nightshift.jobs.workflow.ChildJvmLauncher;
import dev.nightshift.jobs.workflow.InProcessLauncher;
import dev.nightshift.jobs.workflow.TaskLauncher;
import dev.nightshift.jobs.workflow.TaskStatus;
import dev.nightshift.jobs.workflow.Workflow;
import dev.nightshift.jobs.workflow.WorkflowException;
import dev.nightshift.jobs.workflow.WorkflowRunner;
import dev.nightshift.jobs.workflow.WorkflowValidator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "workflow", mixinStandardHelpOptions = true,
        description = {"Try a Databricks workflow file (Jobs API 2.1, e.g. conf/workflows/nightly.json) on this machine: "
                + "'validate' checks it, 'run' runs its task graph in dependency order."},
        subcommands = {WorkflowCommand.Run.class, WorkflowCommand.Validate.class},
        footer = {"", "Examples:",
                "  bin/nightshift workflow validate conf/workflows/nightly.json",
                "  bin/nightshift workflow run conf/workflows/nightly.json",
                "  bin/nightshift workflow run conf/workflows/nightly.json \\",
                "      --param work=/tmp/nightshift-work"})
final class WorkflowCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Options both subcommands take. */
    static class Target {
        @Parameters(index = "0", paramLabel = "FILE", description = "The workflow file (Jobs API 2.1 JSON).")
        Path file;

        @Option(names = "--param", paramLabel = "NAME=VALUE",
                description = "Override a job parameter's default ({{job.parameters.NAME}} in task parameters). Repeatable.")
        Map<String, String> parameters = new LinkedHashMap<>();

        /** Reads the file and checks it, or throws with every problem (exit code 2). */
        Workflow checked() throws WorkflowException {
            Workflow workflow = Workflow.read(file);
            List<String> problems = WorkflowValidator.problems(workflow, parameters);
            if (!problems.isEmpty()) {
                throw new WorkflowException(problems);
            }
            return workflow;
        }
    }

    @Command(name = "validate", mixinStandardHelpOptions = true,
            description = {"Check a workflow file without running it: JSON shape, unique task keys, dependencies that exist and "
                    + "form no cycle, main classes on the classpath, parameters that parse with the real command line, and "
                    + "--config files that exist and load.",
                    "",
                    "Exit codes: 0 valid; 2 invalid (every problem is printed, naming the task and the fix)."})
    static final class Validate implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @picocli.CommandLine.Mixin
        Target target = new Target();

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            try {
                Workflow workflow = target.checked();
                out.printf("%s: valid (%d tasks, in order: %s)%n", target.file, workflow.tasks().size(),
                        String.join(" -> ", workflow.order().stream().map(t -> t.key()).toList()));
                return 0;
            } catch (WorkflowException e) {
                return invalid(e, spec.commandLine().getErr());
            }
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = {"Run a workflow's tasks here, one at a time in dependency order: each spark_jar_task in a child JVM "
                    + "(this command line's classpath and JVM flags) in the current folder, with max_retries, "
                    + "min_retry_interval_millis, timeout_seconds and retry_on_timeout; a task whose dependency did not "
                    + "succeed is not run (upstream_failed). Prints a status table per task. The file is validated first.",
                    "",
                    "Exit codes: 0 every task succeeded; 1 a task failed or timed out; 2 invalid file."})
    static final class Run implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @picocli.CommandLine.Mixin
        Target target = new Target();

        @Option(names = "--in-process", description = "Run the Nightshift tasks in this JVM (one Spark session, faster start); "
                + "a timeout then only stops waiting for the task.")
        boolean inProcess;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            try {
                Workflow workflow = target.checked();
                TaskLauncher launcher = inProcess
                        ? new InProcessLauncher(NightshiftCli.class.getName(), NightshiftCli::run)
                        : ChildJvmLauncher.withNightshiftFlags();
                List<WorkflowRunner.TaskRun> runs = new WorkflowRunner(launcher, out).run(workflow, target.parameters);
                out.println();
                out.print(WorkflowRunner.table(runs));
                out.flush();
                return runs.stream().allMatch(r -> r.status() == TaskStatus.SUCCEEDED) ? 0 : 1;
            } catch (WorkflowException e) {
                return invalid(e, spec.commandLine().getErr());
            }
        }
    }

    private static int invalid(WorkflowException e, PrintWriter err) {
        for (String problem : e.problems()) {
            err.println("nightshift workflow: " + problem);
        }
        err.flush();
        return 2;
    }
}
