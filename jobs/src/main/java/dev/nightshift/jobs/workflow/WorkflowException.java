package dev.nightshift.jobs.workflow;

import java.util.List;

/** A workflow file that cannot be run: every problem found, each naming the file, the task and the fix. */
public final class WorkflowException extends Exception {

    private final List<String> problems;

    public WorkflowException(List<String> problems) {
        super(problems.size() == 1 ? problems.get(0)
                : problems.size() + " problems: " + String.join("; ", problems));
        this.problems = List.copyOf(problems);
    }

    public WorkflowException(String problem) {
        this(List.of(problem));
    }

    public List<String> problems() {
        return problems;
    }
}
