package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.ModelSettings;
import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.task.FieldSpec;
import dev.nightshift.task.TaskType;

import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A nightly job as its YAML file describes it (see README, "Job config reference"). Built and checked by
 * {@link JobBuilder#build()}, which {@link JobConfigLoader} fills from a YAML file and {@link Nightshift#job} from
 * Java; {@link NightlyJob} checks the rest (columns, tables, model folder) before any inference.
 *
 * @param name      the job's name, recorded in the runs table
 * @param source    the documents
 * @param tasks     what to do with each document (at least one; names unique)
 * @param model     the model folder and how to run it
 * @param output    the results and runs tables
 * @param run       chunking, parallelism, the failure threshold and the budget
 * @param prices    the cost report's price list
 * @param hash      sha256 of the config file's bytes, recorded per run
 * @param locations where each setting was written, for error messages
 */
public record JobConfig(String name, Source source, List<Task> tasks, Model model, Output output, Run run,
                        Prices prices, String hash, Locations locations) {

    public JobConfig {
        tasks = List.copyOf(tasks);
    }

    public Task task(String name) {
        return tasks.stream().filter(t -> t.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no task named '" + name + "'"));
    }

    /** The same job with other tasks (tests and the demo edit a loaded config this way). */
    public JobConfig withTasks(List<Task> value) {
        return new JobConfig(name, source, value, model, output, run, prices, hash, locations);
    }

    public JobConfig withModel(Model value) {
        return new JobConfig(name, source, tasks, value, output, run, prices, hash, locations);
    }

    public JobConfig withSource(Source value) {
        return new JobConfig(name, value, tasks, model, output, run, prices, hash, locations);
    }

    public JobConfig withRun(Run value) {
        return new JobConfig(name, source, tasks, model, output, value, prices, hash, locations);
    }

    /** What to do when two source rows share an id. */
    public enum Duplicates {
        /** Stop before inference, naming a few of the duplicated ids (the default). */
        ERROR,
        /** Keep the row with the greatest {@code latest_by} value per id. */
        KEEP_LATEST
    }

    /**
     * The documents.
     *
     * @param table      where they are
     * @param id         the id column (any type; stored as a string)
     * @param text       the text column
     * @param title      an optional title column, usable in prompts as {title}
     * @param columns    further columns usable in prompts as {name}
     * @param filter     an optional Spark SQL boolean expression applied before anything else
     * @param duplicates what to do with repeated ids
     * @param latestBy   the column that orders versions of a document, for {@code keep_latest}
     * @param badRows    what to do with malformed CSV records
     */
    public record Source(TableRef table, String id, String text, String title, List<String> columns, String filter,
                         Duplicates duplicates, String latestBy, BadRows badRows) {
        public Source {
            Objects.requireNonNull(table, "source table");
            columns = List.copyOf(columns);
            badRows = badRows == null ? BadRows.ERROR : badRows;
        }

        /** A source whose malformed records stop the run (the default). */
        public Source(TableRef table, String id, String text, String title, List<String> columns, String filter,
                      Duplicates duplicates, String latestBy) {
            this(table, id, text, title, columns, filter, duplicates, latestBy, BadRows.ERROR);
        }
    }

    /** What to do with a CSV record whose field count differs from the header's. */
    public enum BadRows {
        /** Stop before inference with the file and line (the default). */
        ERROR,
        /** Keep the record as a document whose results are error rows naming the problem; nothing is inferred for it. */
        ERROR_ROWS
    }

    /**
     * One task.
     *
     * @param name       result rows carry it in the {@code task} column
     * @param type       summarize, classify, extract or generate
     * @param prompt     the prompt template: {column} placeholders, {{ and }} for literal braces
     * @param chat       wrap prompts in the model's chat template: "auto" (when the model has one), "true", "false"
     * @param labels     classify: the candidate labels
     * @param fieldSpecs extract: the typed JSON fields to extract (decoding is constrained to their schema)
     * @param maxWords   summarize: the longest summary in words (0 for no limit)
     * @param classify   classify: label descriptions, examples, multi-label, label column, calibration (else NONE)
     * @param generation decoding settings
     */
    public record Task(String name, TaskType type, String prompt, String chat, List<String> labels, List<FieldSpec> fieldSpecs,
                       int maxWords, dev.nightshift.task.ClassifyOptions classify, GenerationOptions generation) {
        public Task {
            classify = classify == null ? dev.nightshift.task.ClassifyOptions.NONE : classify;
            labels = List.copyOf(labels);
            fieldSpecs = List.copyOf(fieldSpecs);
        }

        /** Extract: the field names, in order. */
        public List<String> fields() {
            return fieldSpecs.stream().map(FieldSpec::name).toList();
        }

        public Task withPrompt(String value) {
            return new Task(name, type, value, chat, labels, fieldSpecs, maxWords, classify, generation);
        }

        /**
         * The task-layer task this config describes (what the job, the SQL functions and eval run).
         *
         * @throws dev.nightshift.task.TaskOptionException when an option is unusable ({@link JobBuilder#build()} has checked them)
         */
        public dev.nightshift.task.Task definition() {
            return type.create(prompt, labels, fieldSpecs, maxWords, classify, generation);
        }
    }

    /**
     * The model.
     *
     * @param path          the converted model folder (a local path, or a mount every executor can read)
     * @param provider      cpu or cuda
     * @param threads       ONNX Runtime threads per engine; 0 = all cores of the executor
     * @param batchBudgetMb KV-cache megabytes one engine batch may use
     * @param maxBatchRows  most rows per engine batch
     * @param kvCache       host or device: where a GroupQueryAttention graph's KV cache lives
     *                      ({@link dev.nightshift.engine.EngineOptions#kvCache()})
     * @param requireGpu    with provider cuda: fail the job when CUDA cannot be used, instead of running on CPU with
     *                      a warning
     */
    public record Model(String path, String provider, int threads, long batchBudgetMb, int maxBatchRows, String kvCache,
                        boolean requireGpu) {
        public ModelSettings settings() {
            return new ModelSettings(path, dev.nightshift.engine.EngineOptions.defaults().withProvider(provider)
                    .withThreads(threads).withKvBudget(batchBudgetMb << 20).withMaxBatchSize(maxBatchRows)
                    .withKvCache(kvCache).withDevice(0, requireGpu));
        }

        public Model withPath(String value) {
            return new Model(value, provider, threads, batchBudgetMb, maxBatchRows, kvCache, requireGpu);
        }
    }

    /**
     * Where results go.
     *
     * @param results the results table (one row per document and task)
     * @param runs    the runs table (one row per run)
     * @param staging folder for per-chunk staging tables (deleted after each chunk's MERGE)
     */
    public record Output(TableRef results, TableRef runs, String staging) {
    }

    /**
     * How the run is cut up, and when it stops early.
     *
     * @param chunkRows      most result rows per MERGE (a crash loses at most one chunk's work)
     * @param partitions     Spark partitions per chunk; 0 = the cluster's default parallelism
     * @param maxFailureRate failed rows / processed rows above which the run exits with code 1
     * @param maxCostUsd     budget: the run's cost here (executors × hours × {@code prices.executor_hour_usd}, USD)
     *                       after which it stops after the chunk in flight; null = no limit
     * @param maxWallMinutes budget: minutes since the run started after which it stops after the chunk in flight;
     *                       null = no limit
     */
    public record Run(int chunkRows, int partitions, double maxFailureRate, Double maxCostUsd, Double maxWallMinutes) {
        public Run {
            if (chunkRows < 1) {
                throw new IllegalArgumentException("run.chunk_rows must be at least 1, got " + chunkRows);
            }
            if (partitions < 0) {
                throw new IllegalArgumentException("run.partitions must be 0 (default parallelism) or more, got " + partitions);
            }
            if (!(maxFailureRate >= 0 && maxFailureRate <= 1)) {
                throw new IllegalArgumentException("run.max_failure_rate must be between 0 and 1, got " + maxFailureRate);
            }
            if (maxCostUsd != null && !(maxCostUsd > 0)) {
                throw new IllegalArgumentException("run.max_cost_usd must be above 0, got " + maxCostUsd);
            }
            if (maxWallMinutes != null && !(maxWallMinutes > 0)) {
                throw new IllegalArgumentException("run.max_wall_minutes must be above 0, got " + maxWallMinutes);
            }
        }

        /** A run without a budget. */
        public Run(int chunkRows, int partitions, double maxFailureRate) {
            this(chunkRows, partitions, maxFailureRate, null, null);
        }

        /** Whether a budget may stop the run early. */
        public boolean hasBudget() {
            return maxCostUsd != null || maxWallMinutes != null;
        }
    }

    /**
     * The price list of the cost report.
     *
     * @param executorHourUsd what one executor costs per hour on this cluster
     * @param apis            hosted APIs this job replaces
     */
    public record Prices(double executorHourUsd, List<ApiPrice> apis) {
        public Prices {
            apis = List.copyOf(apis);
        }
    }

    /** One hosted API's price per million input and output tokens, in USD. */
    public record ApiPrice(String name, double inputPer1M, double outputPer1M) implements Serializable {
    }

    /** Where each setting sits in the config file ("source.text" -> line 7), for error messages. */
    public record Locations(String file, Map<String, Integer> lines) {
        public Locations {
            lines = Map.copyOf(lines);
        }

        public static Locations none() {
            return new Locations("config", Map.of());
        }

        /** "conf/job.yaml line 7 (source.text)", or the file and key when the line is unknown. */
        public String of(String key) {
            Integer line = lines.get(key);
            return file + (line == null ? "" : " line " + line) + " (" + key + ")";
        }
    }
}
