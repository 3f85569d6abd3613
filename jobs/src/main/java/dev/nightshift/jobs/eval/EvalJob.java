package dev.nightshift.jobs.eval;

import dev.nightshift.jobs.nightly.JobConfig;
import dev.nightshift.jobs.nightly.JobConfigException;
import dev.nightshift.jobs.nightly.JobListener;
import dev.nightshift.jobs.nightly.NightlyJob;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.function.UnaryOperator;

/**
 * An evaluation from start to end: pick the task, read the candidate files, sample the labelled documents and check
 * their gold values (all before the model runs: bad input is a {@link JobConfigException}), run the task through the
 * nightly pipeline ({@link EvalRunner}), compute the metrics ({@link Evaluation}), check the gates, append the Delta
 * tables ({@link EvalTables}) and write the HTML report ({@link HtmlReport}).
 *
 * <pre>{@code
 * EvalReport report = EvalJob.run(spark, JobConfigLoader.load(file), EvalSettings.load(file),
 *         new EvalJob.Options("label", null, 200, Map.of(), null, Path.of("eval.html"), Map.of()), JobListener.NONE,
 *         job -> job);
 * }</pre>
 */
public final class EvalJob {

    /** The default sample size when neither {@code --sample} nor {@code eval.sample} says. */
    public static final int DEFAULT_SAMPLE = 200;

    /**
     * What the command line adds to (and overrides in) the config's {@code eval:} section.
     *
     * @param goldColumn the source column holding the gold value
     * @param task       the task to evaluate, or null when the job has exactly one task eval can score
     * @param sample     documents, or null for the config's (else {@value #DEFAULT_SAMPLE})
     * @param candidates candidate name (= its prices.apis entry) → JSON lines file, in order
     * @param output     the eval tables' folder, or null for the config's {@code eval.output.path}
     * @param report     the HTML file to write
     * @param gates      gate overrides, e.g. min_accuracy → 0.8
     */
    public record Options(String goldColumn, String task, Integer sample, Map<String, Path> candidates, String output,
                          Path report, Map<String, Double> gates) {
    }

    private EvalJob() {
    }

    public static EvalReport run(SparkSession spark, JobConfig config, EvalSettings settings, Options options,
                                 JobListener listener, UnaryOperator<NightlyJob> engines) throws IOException {
        Instant started = Instant.now();
        String evalId = "eval-" + DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT).withZone(ZoneOffset.UTC)
                .format(started) + "-" + UUID.randomUUID().toString().substring(0, 8);
        JobConfig.Task task = task(config, options.task());
        int sample = options.sample() != null ? options.sample() : settings.sample() != null ? settings.sample() : DEFAULT_SAMPLE;
        String output = options.output() != null ? options.output() : settings.output();
        if (output == null) {
            throw new JobConfigException("no folder for the eval tables: add eval: {output: {path: FOLDER}} to "
                    + config.locations().file() + " or pass --output FOLDER");
        }
        Map<String, Double> gates = new LinkedHashMap<>(settings.gates());
        gates.putAll(options.gates());

        // 1. Candidate files and prices, then the sample and its gold values: all before the model runs.
        Evaluation.checkPriced(List.copyOf(options.candidates().keySet()), config.prices().apis());
        Map<String, Map<String, Prediction>> recorded = new LinkedHashMap<>();
        for (Map.Entry<String, Path> candidate : options.candidates().entrySet()) {
            recorded.put(candidate.getKey(), CandidateFile.read(candidate.getValue()));
        }
        EvalRunner runner = new EvalRunner(spark, config, task, options.goldColumn());
        listener.stage("eval sample", "up to " + sample + " documents by sha256(id), gold column " + options.goldColumn());
        EvalRunner.Sample drawn = runner.sample(sample);
        Evaluation evaluation = new Evaluation(task, drawn.gold(), config.prices().apis(), settings.calibrationBins());
        QualityGates.checkApplicable(gates, evaluation.metricNames(), evaluation.kind());

        // 2. The job's own model on the sample, through the nightly pipeline, under a scratch folder.
        String scratch = output + "/_scratch/" + evalId;
        EvalRunner.OwnResults own;
        try {
            own = runner.run(drawn, scratch, listener, engines);
        } catch (RuntimeException | Error failed) {
            // the run's own failure is the one to report; a scratch folder left behind only costs space
            try {
                runner.deleteScratch(scratch);
            } catch (RuntimeException cleanup) {
                failed.addSuppressed(cleanup);
            }
            throw failed;
        }
        runner.deleteScratch(scratch);

        // 3. Metrics, gates, tables, report.
        List<CandidateResult> results = new ArrayList<>();
        CandidateResult ours = evaluation.own(own.predictions(),
                new Evaluation.OwnRun(own.run().wallSeconds(), own.run().clusterCostUsd()));
        results.add(ours);
        List<String> notes = new ArrayList<>();
        for (Map.Entry<String, Map<String, Prediction>> candidate : recorded.entrySet()) {
            CandidateResult result = evaluation.candidate(candidate.getKey(), candidate.getValue(), own.predictions());
            results.add(result);
            if (result.missing() > 0) {
                notes.add(candidate.getKey() + " has no answer for " + result.missing() + " of the " + drawn.gold().ids().size()
                        + " sampled documents (" + options.candidates().get(candidate.getKey()) + "); they count as errors");
            }
        }
        List<QualityGates.Outcome> outcomes = QualityGates.check(gates, ours.metrics());
        EvalReport report = new EvalReport(evalId, config.name(), task.name(), evaluation.kind(), options.goldColumn(),
                drawn.gold().ids().size(), results, outcomes, notes);
        listener.stage("eval tables", output + "/eval_rows, " + output + "/eval_summary");
        EvalTables.append(spark, output, evalId, started, config.name(), task.name(), results);
        HtmlReport.write(options.report(), report);
        return report;
    }

    /** The named task, or the job's only task that eval can score; otherwise a clear error. */
    static JobConfig.Task task(JobConfig config, String name) {
        List<String> names = config.tasks().stream().map(JobConfig.Task::name).toList();
        if (name != null) {
            if (!names.contains(name)) {
                throw new JobConfigException("--task " + name + ": the job has no such task; its tasks: " + String.join(", ", names));
            }
            return config.task(name);
        }
        if (config.tasks().size() == 1) {
            return config.tasks().get(0);
        }
        throw new JobConfigException("the job has " + names.size() + " tasks (" + String.join(", ", names)
                + "); say which one the gold column belongs to with --task NAME");
    }
}
