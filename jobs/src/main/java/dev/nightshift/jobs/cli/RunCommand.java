package dev.nightshift.jobs.cli;

import dev.nightshift.jobs.nightly.JobConfig;
import dev.nightshift.jobs.nightly.JobConfigLoader;
import dev.nightshift.jobs.nightly.NightlyJob;
import dev.nightshift.jobs.nightly.RunSummary;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run a nightly job: read the source, skip unchanged (document, task) rows, run the model on the rest "
                + "in chunks, and MERGE the results into Delta. Writes one row per run to the runs table.",
                "",
                "With --dry-run: every check, the source read and the anti-join, then the rows to process, exact prompt "
                        + "tokens, expected output tokens, and the time and cost estimate; nothing is written.",
                "",
                "Exit codes: 0 done (or dry run); 1 the failure rate exceeded run.max_failure_rate, the budget "
                        + "(run.max_cost_usd, run.max_wall_minutes) stopped the run (the next run continues), or the job "
                        + "failed; 2 bad config or input (nothing was inferred)."},
        footer = {"", "Examples:",
                "  bin/nightshift run --config conf/nightly-example.yaml",
                "  bin/nightshift run --config conf/nightly-example.yaml --retry-failed",
                "  bin/nightshift run --config conf/nightly-example.yaml --dry-run",
                "  bin/nightshift run --config conf/nightly-example.yaml --dry-run \\",
                "      --write-prompts /tmp/prompts.jsonl",
                "  conf/spark-submit.sh conf/nightly-example.yaml -- --master yarn"})
final class RunCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "The job's YAML file (see README, \"Job config reference\").")
    Path config;

    @Option(names = "--retry-failed", description = "Reprocess only rows whose current result has an error.")
    boolean retryFailed;

    @Option(names = "--dry-run", description = "Check, read and plan, count tokens and estimate time and cost; write nothing.")
    boolean dryRun;

    @Option(names = "--write-prompts", paramLabel = "FILE", description = "With --dry-run: also write every pending "
            + "row's rendered prompt, task and engine settings to FILE (JSON lines), for `bench --prompts FILE`.")
    Path writePrompts;

    @Option(names = "--calibration-file", paramLabel = "FILE",
            description = "--dry-run's cache of measured model speed (default: $NIGHTSHIFT_CACHE_DIR/calibration.properties, "
                    + "else ~/.cache/nightshift/calibration.properties).")
    Path calibrationFile;

    @Option(names = "--master", defaultValue = "local[*]", description = "Spark master when not set by spark-submit (default: ${DEFAULT-VALUE}).")
    String master;

    @Option(names = "--warehouse", defaultValue = "warehouse", paramLabel = "DIR",
            description = "spark.sql.warehouse.dir when not set by spark-submit (default: ${DEFAULT-VALUE}).")
    Path warehouse;

    @Option(names = "--crash-after-chunks", hidden = true, defaultValue = "0",
            description = "Fault injection: fail after committing this many chunks.")
    int crashAfterChunks;

    @Override
    public Integer call() throws Exception {
        if (writePrompts != null && !dryRun) {
            throw new UserError.Usage("--write-prompts goes with --dry-run (a real run does not write the prompts)");
        }
        JobConfig job = JobConfigLoader.load(config);
        SparkSession spark = JobConsole.session(master, warehouse);
        NightlyJob nightly = NightlyJob.of(spark, job).retryFailed(retryFailed).crashAfterChunks(crashAfterChunks)
                .calibrationFile(calibrationFile).listener(JobConsole.progress(spec.commandLine().getErr()));
        if (dryRun) {
            JobConsole.printDryRun(nightly.dryRun(writePrompts), spec.commandLine().getOut());
            return 0;
        }
        RunSummary run = nightly.run();
        JobConsole.printSummary(run, spec.commandLine().getOut());
        return run.exitCode();
    }
}
