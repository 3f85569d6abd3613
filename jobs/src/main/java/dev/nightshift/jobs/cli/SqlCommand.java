package dev.nightshift.jobs.cli;

import dev.nightshift.engine.Reason;
import dev.nightshift.jobs.nightly.JobConfig;
import dev.nightshift.jobs.nightly.JobConfigLoader;
import dev.nightshift.jobs.nightly.TableRef;
import dev.nightshift.sql.LlmSetupException;
import dev.nightshift.sql.SqlModel;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.concurrent.Callable;

@Command(name = "sql", mixinStandardHelpOptions = true,
        description = {"Run Spark SQL (Delta enabled) and print the result as a table.",
                "With --config, the job's tables are also available as the views `results` and `runs`.",
                "The llm_* functions run the --model folder, else the --config job's model."},
        // Examples are pasted into a shell: single quotes (no backtick or $ expansion), lines under 80 columns so help
        // never wraps inside an argument. HelpExamplesTest parses and runs them.
        footer = {"", "Examples:",
                "  bin/nightshift sql --config nightshift-work/demo.yaml \\",
                "      'SELECT task, label, count(*) FROM results GROUP BY task, label'",
                "  bin/nightshift sql \\",
                "      'SELECT * FROM delta.`/data/nightshift/runs` ORDER BY started_at DESC'",
                "  bin/nightshift sql --model models/stories260K \\",
                "      'SELECT llm_classify(\"a refund\", array(\"billing\", \"refund\")).label'"})
final class SqlCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SQL", description = "One SQL statement.")
    String sql;

    @Option(names = "--config", paramLabel = "FILE", description = "A job config whose tables become the views results and runs.")
    Path config;

    @Option(names = "--model", paramLabel = "DIR",
            description = "A converted model folder for the llm_* SQL functions (default: the --config job's model).")
    Path model;

    @Option(names = "--max-rows", defaultValue = "50", description = "Rows to print (default: ${DEFAULT-VALUE}).")
    int maxRows;

    @Option(names = "--width", defaultValue = "60", description = "Longest cell before it is cut (default: ${DEFAULT-VALUE}).")
    int width;

    @Option(names = "--master", defaultValue = "local[*]", description = "Spark master when not set by spark-submit (default: ${DEFAULT-VALUE}).")
    String master;

    @Option(names = "--warehouse", paramLabel = "DIR",
            description = "spark.sql.warehouse.dir when not set by spark-submit (default: a temporary folder, deleted at exit).")
    Path warehouse;

    /** delta.`path` table names in a statement; Delta resolves only absolute paths the way users expect. */
    private static final Pattern DELTA_PATH = Pattern.compile("(?i)\\bdelta\\.`([^`]*)`");

    @Override
    public Integer call() throws Exception {
        if (maxRows < 1 || width < 4) {
            throw new UserError.Usage("--max-rows must be at least 1 and --width at least 4");
        }
        checkDeltaPaths(sql);
        JobConfig job = config == null ? null : JobConfigLoader.load(config);
        // A query needs no warehouse of its own: without --warehouse, a temporary one, so ./warehouse never appears.
        SparkSession spark = JobConsole.session(master, warehouse != null ? warehouse : temporaryWarehouse());
        useModel(spark, job);
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
                throw new UserError.Usage(describe((org.apache.spark.sql.AnalysisException) e));
            }
            throw e;
        }
        try {
            JobConsole.printTable(result, maxRows, width, spec.commandLine().getOut());
        } catch (LlmSetupException e) {
            throw new UserError.Usage(e.getMessage());
        }
        return 0;
    }

    /** The model the llm_* functions run: --model, else the job's (path and engine settings), else none. */
    private void useModel(SparkSession spark, JobConfig job) {
        if (model != null) {
            if (!Files.isDirectory(model)) {
                throw new UserError.Usage("--model " + model + " is not a folder; convert a model with "
                        + "`bin/nightshift convert` or fix the path");
            }
            spark.conf().set(SqlModel.PATH, model.toAbsolutePath().normalize().toString());
        } else if (job != null) {
            JobConfig.Model m = job.model();
            spark.conf().set(SqlModel.PATH, m.path());
            spark.conf().set(SqlModel.PREFIX + "model.provider", m.provider());
            spark.conf().set(SqlModel.PREFIX + "model.threads", Integer.toString(m.threads()));
            spark.conf().set(SqlModel.PREFIX + "model.batch_budget_mb", Long.toString(m.batchBudgetMb()));
            spark.conf().set(SqlModel.PREFIX + "model.max_batch_rows", Integer.toString(m.maxBatchRows()));
            spark.conf().set(SqlModel.PREFIX + "model.kv_cache", m.kvCache());
            spark.conf().set(SqlModel.PREFIX + "model.require_gpu", Boolean.toString(m.requireGpu()));
            for (JobConfig.ApiPrice api : job.prices().apis()) {
                spark.conf().set(SqlModel.PREFIX + "prices." + api.name() + ".input_per_1m_usd",
                        Double.toString(api.inputPer1M()));
            }
        }
    }

    /** A relative delta.`path` would be resolved against the warehouse, not the working directory: say so. */
    static void checkDeltaPaths(String sql) {
        Matcher matcher = DELTA_PATH.matcher(sql);
        while (matcher.find()) {
            String path = matcher.group(1);
            if (!path.startsWith("/") && !path.matches("[A-Za-z][A-Za-z0-9+.-]*:.*")) {
                throw new UserError.Usage("delta.`" + path + "` is a relative path; Delta path tables need an absolute "
                        + "path or URI: delta.`" + Path.of(path).toAbsolutePath().normalize() + "`");
            }
        }
    }

    /**
     * Spark wraps an llm_* function's refusal of its arguments in a type-mismatch error quoting the whole call; the
     * function and its own sentence are what the user needs.
     */
    private static final Pattern LLM_CALL_REFUSED = Pattern.compile("Cannot resolve \"(llm_[a-z_]+)\\(.*?\\)\" due to data "
            + "type mismatch: (?:llm_[a-z_]+: )?(.*?)\\. SQLSTATE[^;]*;(?: line (\\d+) pos (\\d+))?", Pattern.DOTALL);

    /** The line a query Spark refused gets: a bad llm_* call by its function, anything else as Spark says it. */
    String describe(org.apache.spark.sql.AnalysisException e) {
        Matcher call = LLM_CALL_REFUSED.matcher(String.valueOf(e.getMessage()));
        if (call.find()) {
            String where = call.group(3) == null ? "" : " (line " + call.group(3) + " pos " + call.group(4) + ")";
            return "bad " + call.group(1) + " call" + where + ": " + call.group(2);
        }
        return "bad SQL: " + Reason.of(e) + hint(e);
    }

    private String hint(org.apache.spark.sql.AnalysisException e) {
        if (!"TABLE_OR_VIEW_NOT_FOUND".equals(e.getCondition())) {
            return "";
        }
        return config == null
                ? "; to query a job's tables, add --config FILE (views results and runs) or name a path table: "
                + "delta.`/absolute/path/results`"
                : "; --config " + config + " provides the views results and runs, each once its table exists "
                + "(has the job run?)";
    }

    private static Path temporaryWarehouse() throws IOException {
        Path folder = Files.createTempDirectory("nightshift-sql-warehouse");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try (Stream<Path> paths = Files.walk(folder)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException | UncheckedIOException e) {
                // best effort: a temporary folder
            }
        }));
        return folder;
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
