package dev.nightshift.jobs.cli;

import dev.nightshift.jobs.eval.EvalJob;
import dev.nightshift.jobs.eval.EvalReport;
import dev.nightshift.jobs.eval.EvalSettings;
import dev.nightshift.jobs.eval.MarkdownSummary;
import dev.nightshift.jobs.eval.QualityGates;
import dev.nightshift.jobs.nightly.JobConfig;
import dev.nightshift.jobs.nightly.JobConfigLoader;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Evaluate a job's task on a labelled sample: run it through the nightly pipeline (into a scratch "
                + "folder, never the production results), compare with the gold column and with recorded outputs of "
                + "other candidates, append eval_rows and eval_summary Delta tables, write an HTML report and print a "
                + "Markdown summary.",
                "",
                "Exit codes: 0 every quality gate passed; 1 a gate failed (printed with value and threshold); "
                        + "2 bad usage, config or input (nothing was inferred)."},
        footer = {"", "Examples:",
                "  bin/nightshift eval --config conf/nightly-example.yaml --task topic \\",
                "      --gold-column label --sample 200",
                "  bin/nightshift eval --config job.yaml --gold-column label \\",
                "      --candidate gpt-4o-mini=answers.jsonl --gate min_accuracy=0.8",
                "  bin/nightshift eval --config job.yaml --task summary \\",
                "      --gold-column reference_summary --report summary-eval.html"})
final class EvalCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "The job's YAML file; its eval: section is read too.")
    Path config;

    @Option(names = "--gold-column", required = true, paramLabel = "COLUMN",
            description = "Source column with the gold value: a label (a list or comma list for multi-label), a reference text, or a JSON object of the fields.")
    String goldColumn;

    @Option(names = "--task", paramLabel = "NAME", description = "The task to evaluate (required when the job has several).")
    String task;

    @Option(names = "--sample", paramLabel = "N", description = "Documents to evaluate, the smallest sha256(id) first (default: eval.sample, else 200).")
    Integer sample;

    @Option(names = "--candidate", paramLabel = "NAME=FILE",
            description = "Recorded outputs of another candidate, as JSON lines; NAME is its prices.apis entry. Repeatable.")
    List<String> candidates = List.of();

    @Option(names = "--output", paramLabel = "DIR", description = "Folder of the eval_rows and eval_summary tables (default: eval.output.path).")
    String output;

    @Option(names = "--report", paramLabel = "FILE", defaultValue = "eval-report.html",
            description = "The HTML report to write (default: ${DEFAULT-VALUE}).")
    Path report;

    @Option(names = "--gate", paramLabel = "NAME=VALUE", description = "A quality gate, overriding the config's: min_accuracy, "
            + "min_macro_f1, min_micro_f1, min_rouge_l, min_schema_validity, max_error_rate. Repeatable.")
    List<String> gates = List.of();

    @Option(names = "--master", defaultValue = "local[*]", description = "Spark master when not set by spark-submit (default: ${DEFAULT-VALUE}).")
    String master;

    @Option(names = "--warehouse", defaultValue = "warehouse", paramLabel = "DIR",
            description = "spark.sql.warehouse.dir when not set by spark-submit (default: ${DEFAULT-VALUE}).")
    Path warehouse;

    @Override
    public Integer call() throws Exception {
        JobConfig job = JobConfigLoader.load(config);
        EvalSettings settings = EvalSettings.load(config);
        EvalJob.Options options = new EvalJob.Options(goldColumn, task, sample, pairs("--candidate", candidates, Path::of),
                output, report, pairs("--gate", gates, EvalCommand::gateValue));
        options.gates().keySet().forEach(EvalCommand::knownGate);
        SparkSession spark = JobConsole.session(master, warehouse);
        EvalReport result = EvalJob.run(spark, job, settings, options, JobConsole.progress(spec.commandLine().getErr()),
                nightly -> nightly);
        var out = spec.commandLine().getOut();
        out.println(MarkdownSummary.of(result));
        out.println("report: " + report.toAbsolutePath());
        out.flush();
        return result.gatesPassed() ? 0 : 1;
    }

    private static <T> Map<String, T> pairs(String option, List<String> values, java.util.function.Function<String, T> parse) {
        Map<String, T> map = new LinkedHashMap<>();
        for (String value : values) {
            int eq = value.indexOf('=');
            if (eq <= 0 || eq == value.length() - 1) {
                throw new UserError.Usage(option + " " + value + ": expected NAME=VALUE, e.g. "
                        + (option.equals("--gate") ? "--gate min_accuracy=0.8" : "--candidate gpt-4o-mini=answers.jsonl"));
            }
            if (map.put(value.substring(0, eq), parse.apply(value.substring(eq + 1))) != null) {
                throw new UserError.Usage(option + ": " + value.substring(0, eq) + " is given twice");
            }
        }
        return map;
    }

    private static Double gateValue(String text) {
        try {
            double value = Double.parseDouble(text);
            if (value >= 0 && value <= 1) {
                return value;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UserError.Usage("--gate: expected a threshold between 0 and 1, got '" + text + "'");
    }

    private static void knownGate(String name) {
        if (!QualityGates.KNOWN.contains(name)) {
            throw new UserError.Usage("--gate " + name + ": unknown gate; use one of " + String.join(", ", QualityGates.KNOWN));
        }
    }
}
