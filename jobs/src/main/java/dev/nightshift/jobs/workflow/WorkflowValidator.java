package dev.nightshift.jobs.workflow;

import dev.nightshift.engine.Reason;
import dev.nightshift.jobs.nightly.JobConfigLoader;
import picocli.CommandLine;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Checks a workflow without running it: every task's main class is on the classpath and has a {@code main}; where the
 * main class is a picocli command (the Nightshift command line), its parameters parse with that very command line; and
 * every {@code --config} they name exists and loads with {@link JobConfigLoader}. The file's shape, keys, dependencies
 * and cycles are checked by {@link Workflow#read} before.
 */
public final class WorkflowValidator {

    private WorkflowValidator() {
    }

    /**
     * @param parameters job parameter overrides, as for a run
     * @return every problem found, each naming the task and the fix; empty when the workflow is valid
     */
    public static List<String> problems(Workflow workflow, Map<String, String> parameters) {
        List<String> problems = new ArrayList<>();
        try {
            workflow.checkOverrides(parameters);
        } catch (WorkflowException e) {
            return e.problems();
        }
        for (WorkflowTask task : workflow.tasks()) {
            String where = workflow.file() + ": task " + task.key() + ": ";
            Class<?> main;
            try {
                main = Class.forName(task.mainClass(), false, WorkflowValidator.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                problems.add(where + "main class " + task.mainClass() + " is not on the classpath; the Nightshift command line is "
                        + "dev.nightshift.jobs.cli.NightshiftCli");
                continue;
            }
            if (!hasMain(main)) {
                problems.add(where + task.mainClass() + " has no public static void main(String[])");
                continue;
            }
            if (!main.isAnnotationPresent(CommandLine.Command.class)) {
                continue;
            }
            List<String> args = workflow.resolve(task, parameters);
            CommandLine.ParseResult parsed;
            try {
                parsed = new CommandLine(main.getDeclaredConstructor().newInstance()).parseArgs(args.toArray(String[]::new));
            } catch (CommandLine.ParameterException e) {
                problems.add(where + "its parameters " + args + " do not parse: " + e.getMessage()
                        + " (see bin/nightshift " + (args.isEmpty() ? "" : args.get(0) + " ") + "--help)");
                continue;
            } catch (ReflectiveOperationException e) {
                problems.add(where + "cannot create " + task.mainClass() + ": " + Reason.of(e));
                continue;
            }
            for (CommandLine.ParseResult command = parsed; command != null; command = command.subcommand()) {
                if (command.hasMatchedOption("--config")) {
                    String config = command.matchedOption("--config").getValue().toString();
                    String problem = configProblem(Path.of(config));
                    if (problem != null) {
                        problems.add(where + "--config " + config + ": " + problem);
                    }
                }
            }
        }
        return problems;
    }

    private static boolean hasMain(Class<?> main) {
        try {
            Method method = main.getMethod("main", String[].class);
            return Modifier.isStatic(method.getModifiers()) && method.getReturnType() == void.class;
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    private static String configProblem(Path config) {
        if (!Files.isRegularFile(config)) {
            return "no such file (relative paths are read from " + Path.of("").toAbsolutePath()
                    + "; set the job parameter with --param NAME=VALUE)";
        }
        try {
            JobConfigLoader.load(config);
            return null;
        } catch (IOException | RuntimeException e) {
            return Reason.of(e);
        }
    }
}
