package dev.nightshift.jobs.workflow;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;

/** Runs one attempt of a workflow task: in a child JVM ({@link ChildJvmLauncher}) or in this one ({@link InProcessLauncher}). */
public interface TaskLauncher {

    /**
     * @param task    the task (its key names the output lines)
     * @param args    its parameters, job parameters resolved
     * @param timeout the attempt's limit, or null for none
     * @param out     where the task's output goes
     */
    Attempt launch(WorkflowTask task, List<String> args, Duration timeout, PrintWriter out);

    /** How an attempt ended: its exit code, or that it ran past its timeout (then the code is -1). */
    record Attempt(int exitCode, boolean timedOut) {
        static Attempt exited(int code) {
            return new Attempt(code, false);
        }

        static Attempt timeout() {
            return new Attempt(-1, true);
        }
    }
}
