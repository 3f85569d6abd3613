package dev.nightshift.jobs.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * The {@code nightshift} command line. Started by {@code bin/nightshift}; every subcommand has
 * {@code --help}. Exit codes: 0 success, 1 the work failed, 2 bad usage or bad input (with a one-line reason).
 */
@Command(name = "nightshift", mixinStandardHelpOptions = true, version = "nightshift 0.1.0",
        description = "LLM batch inference for Apache Spark on ONNX Runtime.",
        subcommands = {ConvertCommand.class, GenerateCommand.class, BenchCommand.class, RunCommand.class, EvalCommand.class, SqlCommand.class,
                DemoCommand.class, WorkflowCommand.class, CommandLine.HelpCommand.class})
public final class NightshiftCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        deleteArgumentFile();
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /**
     * bin/nightshift passes the program arguments in a temporary @argfile (a long java command line crashes ONNX
     * Runtime) and names it here; the launcher has read it, so it goes now rather than lingering with the prompts.
     */
    private static void deleteArgumentFile() {
        String file = System.getProperty("nightshift.argfile");
        if (file != null) {
            try {
                java.nio.file.Files.deleteIfExists(java.nio.file.Path.of(file));
            } catch (java.io.IOException | RuntimeException e) {
                System.err.println("nightshift: could not delete the argument file " + file + ": " + e.getMessage());
            }
        }
    }

    /** Runs a command line and returns its exit code (tests call this instead of main). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine line = new CommandLine(new NightshiftCli());
        line.setOut(out);
        line.setErr(err);
        line.setParameterExceptionHandler((ex, arguments) -> {
            err.println("nightshift: " + ex.getMessage());
            err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return 2;
        });
        line.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            err.println("nightshift " + commandLine.getCommandName() + ": " + UserError.describe(ex));
            return ex instanceof UserError.Usage || UserError.isInputProblem(ex) ? 2 : 1;
        });
        return line.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
