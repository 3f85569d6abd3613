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
                "Exit codes: 0 done; 1 the failure rate exceeded run.max_failure_rate, or the job failed; "
                        + "2 bad config or input (nothing was inferred)."},
        footer = {"", "Examples:",
                "  bin/nightshift run --config conf/nightly-example.yaml",
                "  bin/nightshift run --config conf/nightly-example.yaml --retry-failed",
                "  conf/spark-submit.sh conf/nightly-example.yaml -- --master yarn"})
final class RunCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "The job's YAML file (see README, \"Job config reference\").")
    Path config;

    @Option(names = "--retry-failed", description = "Reprocess only rows whose current result has an error.")
    boolean retryFailed;

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
        JobConfig job = JobConfigLoader.load(config);
        SparkSession spark = JobConsole.session(master, warehouse);
        RunSummary run = NightlyJob.of(spark, job).retryFailed(retryFailed).crashAfterChunks(crashAfterChunks)
                .listener(JobConsole.progress(spec.commandLine().getErr())).run();
        JobConsole.printSummary(run, spec.commandLine().getOut());
        return run.exitCode();
    }
}
