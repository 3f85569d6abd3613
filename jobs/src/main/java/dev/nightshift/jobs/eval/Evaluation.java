package dev.nightshift.jobs.eval;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nightshift.jobs.nightly.JobConfig;
import dev.nightshift.task.TaskType;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compares candidates' predictions with the gold values of one task: quality metrics by task kind, then the
 * operational ones (errors, tokens, latency, throughput, cost). Pure Java: the Spark side hands it values.
 *
 * <p>Operational figures: {@code rows}, {@code errors} (failed rows plus documents missing from a candidate file),
 * {@code error_rate}, {@code tokens_in}/{@code tokens_out} (successful rows), {@code latency_p50_ms}/{@code _p95_ms}
 * (nearest rank over rows with a latency), {@code rows_per_second} (Nightshift: sampled rows / the run's wall time;
 * recorded candidates have none), {@code cost_per_1k_rows_usd} (Nightshift: the run's cluster cost, executors × hours
 * × {@code prices.executor_hour_usd}, per 1,000 sampled rows; a candidate: its tokens at its API's price, where a row
 * without token counts is priced at Nightshift's counts for the same document, said in the note), and for
 * Nightshift {@code api_cost_per_1k_rows_usd[API]}: its own tokens at each configured API's price.
 */
public final class Evaluation {

    /** The name of the job's own candidate. */
    public static final String NIGHTSHIFT = "nightshift";

    /**
     * What the job's run cost.
     *
     * @param wallSeconds the eval run's wall time
     * @param costUsd     its cluster cost
     */
    public record OwnRun(double wallSeconds, double costUsd) {
    }

    private final JobConfig.Task task;
    private final GoldValues gold;
    private final List<JobConfig.ApiPrice> prices;
    private final int bins;

    public Evaluation(JobConfig.Task task, GoldValues gold, List<JobConfig.ApiPrice> prices, int bins) {
        this.task = task;
        this.gold = gold;
        this.prices = List.copyOf(prices);
        this.bins = bins;
        gold.requirePresent();
        if (kind().equals("classify") || kind().equals("multi-label classify")) {
            // Parsed now so that bad gold values stop the command before the model runs.
            if (multiLabel()) {
                gold.labelSets(task);
            } else {
                gold.labels(task);
            }
        } else if (task.type() == TaskType.EXTRACT) {
            gold.objects(task.type());
        }
    }

    public boolean multiLabel() {
        return task.type() == TaskType.CLASSIFY && gold.multiLabel(task.labels());
    }

    /** classify, multi-label classify, summarize, generate or extract. */
    public String kind() {
        return task.type() == TaskType.CLASSIFY && gold.multiLabel(task.labels()) ? "multi-label classify" : task.type().id();
    }

    /** The metric names this evaluation computes (for checking gates before running). */
    public List<String> metricNames() {
        List<String> names = new ArrayList<>(switch (task.type()) {
            case CLASSIFY -> multiLabel() ? List.of("subset_accuracy", "micro_f1", "macro_f1") : List.of("accuracy", "macro_f1", "ece");
            case SUMMARIZE, GENERATE -> List.of("rouge1_f", "rouge2_f", "rougeL_f");
            case EXTRACT -> List.of("exact_mean", "schema_validity");
        });
        names.add("error_rate");
        return names;
    }

    /** The sampled ids' predictions from the job's own run. */
    public CandidateResult own(Map<String, Prediction> predictions, OwnRun run) {
        List<Prediction> rows = aligned(predictions, "no result row for this document in the eval run");
        List<Metric> ops = operations(rows);
        int n = rows.size();
        ops.add(Metric.of("rows_per_second", run.wallSeconds() > 0 ? n / run.wallSeconds() : Double.NaN));
        ops.add(new Metric("cost_per_1k_rows_usd", n == 0 ? Double.NaN : run.costUsd() / n * 1000,
                "executors x wall hours x prices.executor_hour_usd"));
        for (JobConfig.ApiPrice price : prices) {
            ops.add(new Metric("api_cost_per_1k_rows_usd[" + price.name() + "]", n == 0 ? Double.NaN
                    : apiCost(rows, null, price) / n * 1000, "Nightshift's tokens at " + price.name() + "'s price"));
        }
        return result(NIGHTSHIFT, rows, ops, 0);
    }

    /** A recorded candidate, priced at its API entry; ids it lacks are errors. */
    public CandidateResult candidate(String name, Map<String, Prediction> predictions, Map<String, Prediction> own) {
        JobConfig.ApiPrice price = prices.stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
        List<Prediction> rows = aligned(predictions, "missing from the candidate file");
        int missing = (int) gold.ids().stream().filter(id -> !predictions.containsKey(id)).count();
        List<Prediction> ownRows = aligned(own, "no result row");
        List<Metric> ops = operations(rows);
        ops.add(new Metric("rows_per_second", Double.NaN, "recorded outputs have no wall time"));
        int n = rows.size();
        boolean estimated = rows.stream().anyMatch(p -> !p.failed() && (p.promptTokens() == null || p.outputTokens() == null));
        ops.add(new Metric("cost_per_1k_rows_usd", n == 0 ? Double.NaN : apiCost(rows, ownRows, price) / n * 1000,
                price.name() + "'s price" + (estimated ? "; rows without token counts priced at Nightshift's tokens" : "")));
        ops.add(Metric.of("missing", missing));
        return result(name, rows, ops, missing);
    }

    private List<Prediction> aligned(Map<String, Prediction> predictions, String whyMissing) {
        List<Prediction> rows = new ArrayList<>();
        for (String id : gold.ids()) {
            Prediction p = predictions.get(id);
            rows.add(p != null ? p : Prediction.missing(id, whyMissing));
        }
        return rows;
    }

    private CandidateResult result(String name, List<Prediction> rows, List<Metric> ops, int missing) {
        List<Metric> metrics = new ArrayList<>();
        List<CandidateResult.RowOutcome> outcomes = new ArrayList<>();
        ClassifyMetrics.Result classify = null;
        String quality;
        switch (task.type()) {
            case CLASSIFY -> {
                if (multiLabel()) {
                    List<Set<String>> sets = gold.labelSets(task);
                    metrics.addAll(MultiLabelMetrics.compute(task.labels(), sets, rows));
                    for (int i = 0; i < rows.size(); i++) {
                        Set<String> predicted = MultiLabelMetrics.predicted(rows.get(i));
                        outcomes.add(outcome(rows.get(i), String.join(",", sets.get(i)), String.join(",", predicted),
                                sets.get(i).equals(predicted) ? 1 : 0));
                    }
                    quality = "micro_f1";
                } else {
                    List<String> labels = gold.labels(task);
                    classify = ClassifyMetrics.compute(task.labels(), labels, rows, bins);
                    metrics.addAll(classify.metrics());
                    for (int i = 0; i < rows.size(); i++) {
                        Prediction p = rows.get(i);
                        outcomes.add(outcome(p, labels.get(i), p.failed() ? null : p.label(),
                                !p.failed() && labels.get(i).equals(p.label()) ? 1 : 0));
                    }
                    quality = "accuracy";
                }
            }
            case SUMMARIZE, GENERATE -> {
                List<String> references = gold.texts();
                metrics.addAll(SummarizeMetrics.compute(references, rows));
                for (int i = 0; i < rows.size(); i++) {
                    Prediction p = rows.get(i);
                    outcomes.add(outcome(p, references.get(i), p.failed() ? null : p.output(),
                            SummarizeMetrics.row(references.get(i), p).rougeL().fmeasure()));
                }
                quality = "rougeL_f";
            }
            case EXTRACT -> {
                List<JsonNode> objects = gold.objects(task.type());
                metrics.addAll(ExtractMetrics.compute(task.fieldSpecs(), objects, rows));
                for (int i = 0; i < rows.size(); i++) {
                    Prediction p = rows.get(i);
                    outcomes.add(outcome(p, objects.get(i).toString(), p.failed() ? null : p.fields(),
                            ExtractMetrics.rowExact(task.fieldSpecs(), objects.get(i), p)));
                }
                quality = "exact_mean";
            }
            default -> throw new IllegalStateException(task.type().toString());
        }
        metrics.addAll(ops);
        return new CandidateResult(name, metrics, outcomes, classify, quality, missing);
    }

    private static CandidateResult.RowOutcome outcome(Prediction p, String gold, String predicted, double quality) {
        return new CandidateResult.RowOutcome(p.docId(), gold, predicted, p.failed() ? null : p.score(), quality,
                p.promptTokens(), p.outputTokens(), p.latencyMs(), p.error());
    }

    private static List<Metric> operations(List<Prediction> rows) {
        int errors = 0;
        long tokensIn = 0;
        long tokensOut = 0;
        List<Double> latencies = new ArrayList<>();
        for (Prediction p : rows) {
            if (p.failed()) {
                errors++;
                continue;
            }
            tokensIn += p.promptTokens() == null ? 0 : p.promptTokens();
            tokensOut += p.outputTokens() == null ? 0 : p.outputTokens();
            if (p.latencyMs() != null) {
                latencies.add((double) p.latencyMs());
            }
        }
        List<Metric> metrics = new ArrayList<>();
        metrics.add(Metric.of("rows", rows.size()));
        metrics.add(Metric.of("errors", errors));
        metrics.add(Metric.of("error_rate", rows.isEmpty() ? Double.NaN : (double) errors / rows.size()));
        metrics.add(Metric.of("tokens_in", tokensIn));
        metrics.add(Metric.of("tokens_out", tokensOut));
        metrics.add(Metric.of("latency_p50_ms", Stats.percentile(latencies, 0.5)));
        metrics.add(Metric.of("latency_p95_ms", Stats.percentile(latencies, 0.95)));
        return metrics;
    }

    /** USD for the successful rows' tokens at one API's price; {@code fallback} supplies tokens a row lacks. */
    private static double apiCost(List<Prediction> rows, List<Prediction> fallback, JobConfig.ApiPrice price) {
        double usd = 0;
        for (int i = 0; i < rows.size(); i++) {
            Prediction p = rows.get(i);
            if (p.failed()) {
                continue;
            }
            Prediction f = fallback == null ? null : fallback.get(i);
            Integer in = p.promptTokens() != null ? p.promptTokens() : f == null || f.failed() ? null : f.promptTokens();
            Integer out = p.outputTokens() != null ? p.outputTokens() : f == null || f.failed() ? null : f.outputTokens();
            usd += (in == null ? 0 : in) * price.inputPer1M() / 1e6 + (out == null ? 0 : out) * price.outputPer1M() / 1e6;
        }
        return usd;
    }

    /** Candidates by name must be priced; unknown names are refused with the configured ones. */
    public static void checkPriced(List<String> names, List<JobConfig.ApiPrice> prices) {
        List<String> configured = prices.stream().map(JobConfig.ApiPrice::name).toList();
        for (String name : names) {
            if (name.equals(NIGHTSHIFT)) {
                throw new IllegalArgumentException("--candidate name '" + NIGHTSHIFT + "' is taken by the job's own model; "
                        + "name candidates after their prices.apis entry");
            }
            if (!configured.contains(name)) {
                throw new IllegalArgumentException("--candidate " + name + ": no prices.apis entry named '" + name + "'; "
                        + (configured.isEmpty() ? "the config has no prices.apis entries; add one, e.g. {name: " + name
                        + ", input_per_1m_usd: 0.15, output_per_1m_usd: 0.60}"
                        : "configured: " + String.join(", ", configured)));
            }
        }
    }
}
