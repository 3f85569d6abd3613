package dev.nightshift.jobs.workflow;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a workflow's task graph on this machine, one task at a time in dependency order: each task is attempted up to
 * {@code 1 + max_retries} times ({@code min_retry_interval_millis} apart; a timed-out attempt only with
 * {@code retry_on_timeout}), and a task whose dependency did not succeed is not run ({@code upstream_failed}).
 *
 * <pre>{@code
 * List<TaskRun> runs = new WorkflowRunner(ChildJvmLauncher.withNightshiftFlags(), out)
 *         .run(Workflow.read(Path.of("conf/workflows/nightly.json")), Map.of());
 * }</pre>
 */
public final class WorkflowRunner {

    /** One task's outcome: its status, attempts made, last exit code (null if never run) and seconds spent. */
    public record TaskRun(String key, TaskStatus status, int attempts, Integer exitCode, double seconds) {
    }

    private final TaskLauncher launcher;
    private final PrintWriter out;

    public WorkflowRunner(TaskLauncher launcher, PrintWriter out) {
        this.launcher = launcher;
        this.out = out;
    }

    /** Runs every task and returns their outcomes in the order they were considered. */
    public List<TaskRun> run(Workflow workflow, Map<String, String> parameters) throws WorkflowException {
        workflow.checkOverrides(parameters);
        Map<String, TaskStatus> statuses = new HashMap<>();
        List<TaskRun> runs = new ArrayList<>();
        for (WorkflowTask task : workflow.order()) {
            List<String> failed = task.dependsOn().stream().filter(d -> statuses.get(d) != TaskStatus.SUCCEEDED).toList();
            if (!failed.isEmpty()) {
                out.println("== " + task.key() + ": not run, " + String.join(", ", failed) + " did not succeed");
                statuses.put(task.key(), TaskStatus.UPSTREAM_FAILED);
                runs.add(new TaskRun(task.key(), TaskStatus.UPSTREAM_FAILED, 0, null, 0));
                continue;
            }
            TaskRun run = attempt(task, workflow.resolve(task, parameters));
            statuses.put(task.key(), run.status());
            runs.add(run);
        }
        out.flush();
        return runs;
    }

    private TaskRun attempt(WorkflowTask task, List<String> args) {
        Duration timeout = task.timeoutSeconds() > 0 ? Duration.ofSeconds(task.timeoutSeconds()) : null;
        long start = System.nanoTime();
        TaskLauncher.Attempt attempt = null;
        int attempts = 0;
        while (attempts <= task.maxRetries()) {
            if (attempts > 0) {
                out.println("== " + task.key() + ": retry " + attempts + " of " + task.maxRetries()
                        + (task.minRetryIntervalMillis() > 0 ? " in " + task.minRetryIntervalMillis() + " ms" : ""));
                out.flush();
                sleep(task.minRetryIntervalMillis());
            }
            attempts++;
            out.println("== " + task.key() + ": " + task.mainClass() + " " + String.join(" ", args)
                    + (timeout == null ? "" : " (timeout " + task.timeoutSeconds() + " s)"));
            out.flush();
            attempt = launcher.launch(task, args, timeout, out);
            if (attempt.exitCode() == 0 || (attempt.timedOut() && !task.retryOnTimeout())) {
                break;
            }
        }
        TaskStatus status = attempt.exitCode() == 0 ? TaskStatus.SUCCEEDED : attempt.timedOut() ? TaskStatus.TIMED_OUT : TaskStatus.FAILED;
        return new TaskRun(task.key(), status, attempts, attempt.timedOut() ? null : attempt.exitCode(),
                (System.nanoTime() - start) / 1e9);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The per-task status table: task, status, attempts, exit code, seconds. */
    public static String table(List<TaskRun> runs) {
        int width = Math.max(4, runs.stream().mapToInt(r -> r.key().length()).max().orElse(4));
        StringBuilder table = new StringBuilder(String.format("%-" + width + "s  %-15s  %8s  %9s  %9s%n", "task", "status",
                "attempts", "exit code", "seconds"));
        for (TaskRun run : runs) {
            table.append(String.format("%-" + width + "s  %-15s  %8d  %9s  %9.1f%n", run.key(), run.status().word(),
                    run.attempts(), run.exitCode() == null ? "-" : run.exitCode().toString(), run.seconds()));
        }
        return table.toString();
    }
}
