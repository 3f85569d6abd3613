package dev.nightshift.jobs.workflow;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs each attempt in this JVM through a command function (the {@code nightshift} command line's
 * {@code run(args, out, err)}), sharing one Spark session: faster than a child JVM, but a timeout can only stop
 * waiting and interrupt the task's thread, not kill it. Only the Nightshift command line's main class runs this way.
 */
public final class InProcessLauncher implements TaskLauncher {

    /** A command line that returns its exit code instead of exiting. */
    public interface Command {
        int run(String[] args, PrintWriter out, PrintWriter err);
    }

    private final String mainClass;
    private final Command command;

    /** @param mainClass the one main class this launcher stands in for; other tasks fail with exit code 2 */
    public InProcessLauncher(String mainClass, Command command) {
        this.mainClass = mainClass;
        this.command = command;
    }

    @Override
    public Attempt launch(WorkflowTask task, List<String> args, Duration timeout, PrintWriter out) {
        if (!task.mainClass().equals(mainClass)) {
            out.println("[" + task.key() + "] --in-process runs only " + mainClass + " tasks, not " + task.mainClass()
                    + "; run without --in-process");
            return Attempt.exited(2);
        }
        ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "workflow-task-" + task.key());
            t.setDaemon(true);
            return t;
        });
        try {
            Future<Integer> code = thread.submit(() -> command.run(args.toArray(String[]::new), out, out));
            return Attempt.exited(timeout == null ? code.get() : code.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
        } catch (TimeoutException e) {
            return Attempt.timeout();
        } catch (ExecutionException e) {
            out.println("[" + task.key() + "] " + e.getCause());
            return Attempt.exited(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Attempt.exited(130);
        } finally {
            thread.shutdownNow();
        }
    }
}
