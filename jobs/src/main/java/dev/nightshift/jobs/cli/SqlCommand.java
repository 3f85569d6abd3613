package dev.nightshift.jobs.cli;

import dev.nightshift.jobs.nightly.JobConfig;
import dev.nightshift.jobs.nightly.JobConfigLoader;
import dev.nightshift.jobs.nightly.Reason;
import dev.nightshift.jobs.nightly.TableRef;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "sql", mixinStandardHelpOptions = true,
        description = {"Run Spark SQL (Delta enabled) and print the result as a table.",
                "With --config, the job's tables are also available as the views `results` and `runs`."},
        footer = {"", "Examples:",
                "  nightshift sql --config nightshift-work/demo.yaml \"SELECT task, label, count(*) FROM results GROUP BY task, label\"",
                "  nightshift sql \"SELECT * FROM delta.`/data/nightshift/runs` ORDER BY started_at DESC\""})
final class SqlCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SQL", description = "One SQL statement.")
    String sql;

    @Option(names = "--config", paramLabel = "FILE", description = "A job config whose tables become the views results and runs.")
    Path config;

    @Option(names = "--max-rows", defaultValue = "50", description = "Rows to print (default: ${DEFAULT-VALUE}).")
    int maxRows;

    @Option(names = "--width", defaultValue = "60", description = "Longest cell before it is cut (default: ${DEFAULT-VALUE}).")
    int width;

    @Option(names = "--master", defaultValue = "local[*]", description = "Spark master when not set by spark-submit (default: ${DEFAULT-VALUE}).")
    String master;

    @Option(names = "--warehouse", defaultValue = "warehouse", paramLabel = "DIR",
            description = "spark.sql.warehouse.dir when not set by spark-submit (default: ${DEFAULT-VALUE}).")
    Path warehouse;

    @Override
    public Integer call() throws Exception {
        if (maxRows < 1 || width < 4) {
            throw new UserError.Usage("--max-rows must be at least 1 and --width at least 4");
        }
        JobConfig job = config == null ? null : JobConfigLoader.load(config);
        SparkSession spark = JobConsole.session(master, warehouse);
        if (job != null) {
            view(spark, "results", job.output().results());
            view(spark, "runs", job.output().runs());
        }
        org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> result;
        try {
            result = spark.sql(sql);
        } catch (Exception e) {
            if (e instanceof org.apache.spark.sql.AnalysisException) {
                // Parse and analysis errors are the user's SQL: exit code 2 with Spark's first line.
                throw new UserError.Usage("bad SQL: " + Reason.of(e));
            }
            throw e;
        }
        JobConsole.printTable(result, maxRows, width, spec.commandLine().getOut());
        return 0;
    }

    private static void view(SparkSession spark, String name, TableRef table) {
        if (table.isPath()) {
            if (io.delta.tables.DeltaTable.isDeltaTable(spark, table.path())) {
                spark.read().format("delta").load(table.path()).createOrReplaceTempView(name);
            }
        } else if (spark.catalog().tableExists(table.name())) {
            spark.read().table(table.name()).createOrReplaceTempView(name);
        }
    }
}
