package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.OverflowPolicy;
import dev.nightshift.engine.Sha256;
import dev.nightshift.task.ClassifyOptions;
import dev.nightshift.task.ClassifyTask;
import dev.nightshift.task.ExtractTask;
import dev.nightshift.task.SummarizeTask;
import dev.nightshift.task.Task;
import dev.nightshift.task.FieldSpec;
import dev.nightshift.task.TaskOptionException;
import dev.nightshift.task.TaskType;
import org.apache.spark.sql.SparkSession;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * A nightly job built step by step, in the style of Spark's {@code DataFrameWriter}: {@link Nightshift#job} starts
 * one, {@link #run(SparkSession)} runs it. Setters only record; {@link #build()} checks every value, which makes it
 * the one place job settings are validated: {@link JobConfigLoader} reads a YAML file into this builder, so a bad value
 * fails with the same {@link JobSettingException} text either way (the loader adds the file and line in front).
 * Defaults are those of the YAML reference in the README.
 */
public final class JobBuilder {

    private static final Pattern TASK_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}");
    private static final Pattern SCHEME = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*:/.*");

    private record PendingTask(String name, TaskType type, TaskOptions options) {
    }

    private final String name;
    private TableRef sourceTable;
    private String idColumn = "id";
    private String textColumn = "text";
    private String titleColumn;
    private List<String> columns = List.of();
    private String filter;
    private JobConfig.Duplicates duplicates = JobConfig.Duplicates.ERROR;
    private String latestBy;
    private JobConfig.BadRows badRows = JobConfig.BadRows.ERROR;
    private final List<PendingTask> tasks = new ArrayList<>();
    private String modelPath;
    private String provider = "cpu";
    private String kvCache = "host";
    private boolean requireGpu;
    private int threads = 0;
    private long batchBudgetMb = 1024;
    private int maxBatchRows = 32;
    private TableRef results;
    private TableRef runs;
    private String staging;
    private int chunkRows = 5000;
    private int partitions = 0;
    private double maxFailureRate = 0.05;
    private Double maxCostUsd;
    private Double maxWallMinutes;
    private double executorHourUsd = 0;
    private final List<JobConfig.ApiPrice> apis = new ArrayList<>();
    // Set by the YAML loader only: the file's hash and lines, and numbers as the file wrote them ("1e9").
    private String configHash;
    private JobConfig.Locations locations;
    private final Map<String, String> written = new HashMap<>();

    JobBuilder(String name) {
        this.name = name;
    }

    // --- source --------------------------------------------------------------------------------------------

    /** The documents: a table or path, its id column (any type) and its text column. */
    public JobBuilder source(TableRef table, String idColumn, String textColumn) {
        this.sourceTable = table;
        this.idColumn = idColumn;
        this.textColumn = textColumn;
        return this;
    }

    /** A title column, usable in prompts as {title}. */
    public JobBuilder title(String column) {
        this.titleColumn = column;
        return this;
    }

    /** Further columns usable in prompts as {name}. */
    public JobBuilder columns(List<String> names) {
        this.columns = List.copyOf(names);
        return this;
    }

    public JobBuilder columns(String... names) {
        return columns(List.of(names));
    }

    /** A Spark SQL condition applied to the source before anything else. */
    public JobBuilder filter(String condition) {
        this.filter = condition;
        return this;
    }

    /** What to do with repeated ids; {@code latestBy} orders versions for {@code KEEP_LATEST}. */
    public JobBuilder duplicates(JobConfig.Duplicates policy, String latestBy) {
        this.duplicates = policy;
        this.latestBy = latestBy;
        return this;
    }

    /** Keep one row per id: the one with the greatest {@code latestBy}. */
    public JobBuilder keepLatest(String latestBy) {
        return duplicates(JobConfig.Duplicates.KEEP_LATEST, latestBy);
    }

    public JobBuilder badRows(JobConfig.BadRows policy) {
        this.badRows = policy;
        return this;
    }

    // --- tasks ---------------------------------------------------------------------------------------------

    /** A task of any type; {@code options} sets its prompt, type options and generation settings. */
    public JobBuilder task(String taskName, TaskType type, Consumer<TaskOptions> options) {
        TaskOptions o = new TaskOptions();
        options.accept(o);
        tasks.add(new PendingTask(taskName, type, o));
        return this;
    }

    public JobBuilder summarize(String taskName, Consumer<TaskOptions> options) {
        return task(taskName, TaskType.SUMMARIZE, options);
    }

    public JobBuilder summarize(String taskName) {
        return summarize(taskName, o -> { });
    }

    public JobBuilder classify(String taskName, List<String> labels, Consumer<TaskOptions> options) {
        return task(taskName, TaskType.CLASSIFY, o -> options.accept(o.labels(labels)));
    }

    public JobBuilder classify(String taskName, List<String> labels) {
        return classify(taskName, labels, o -> { });
    }

    public JobBuilder extract(String taskName, List<String> fields, Consumer<TaskOptions> options) {
        return task(taskName, TaskType.EXTRACT, o -> options.accept(o.fields(fields)));
    }

    public JobBuilder extract(String taskName, List<String> fields) {
        return extract(taskName, fields, o -> { });
    }

    /** A free-form task: generate has no default prompt. */
    public JobBuilder generate(String taskName, String prompt, Consumer<TaskOptions> options) {
        return task(taskName, TaskType.GENERATE, o -> options.accept(o.prompt(prompt)));
    }

    public JobBuilder generate(String taskName, String prompt) {
        return generate(taskName, prompt, o -> { });
    }

    // --- model ---------------------------------------------------------------------------------------------

    /** The converted model folder (a local path, or a mount every executor can read). */
    public JobBuilder model(String path) {
        this.modelPath = path;
        return this;
    }

    /** cpu or cuda. */
    public JobBuilder provider(String value) {
        this.provider = value;
        return this;
    }

    /** host (the default) or device: where the KV cache lives ({@link dev.nightshift.engine.EngineOptions#kvCache()}). */
    public JobBuilder kvCache(String value) {
        this.kvCache = value;
        return this;
    }

    /** With provider cuda: fail when CUDA cannot be used instead of running on CPU with a warning. */
    public JobBuilder requireGpu(boolean value) {
        this.requireGpu = value;
        return this;
    }

    /** ONNX Runtime threads per engine; 0 = all cores of the executor. */
    public JobBuilder threads(int value) {
        this.threads = value;
        return this;
    }

    public JobBuilder batchBudgetMb(long value) {
        this.batchBudgetMb = value;
        return this;
    }

    public JobBuilder maxBatchRows(int value) {
        this.maxBatchRows = value;
        return this;
    }

    // --- output --------------------------------------------------------------------------------------------

    /** The results table (Delta): one row per (document, task), MERGEd on (doc_id, task). */
    public JobBuilder mergeInto(TableRef table) {
        this.results = table;
        return this;
    }

    /** The results as a Delta folder. */
    public JobBuilder mergeInto(String deltaPath) {
        return mergeInto(TableRef.delta(deltaPath));
    }

    /** The runs table (Delta): one row per run. */
    public JobBuilder runsTable(TableRef table) {
        this.runs = table;
        return this;
    }

    public JobBuilder runsTable(String deltaPath) {
        return runsTable(TableRef.delta(deltaPath));
    }

    /** Folder for per-chunk staging tables; default: the results folder + "_staging" (required for catalog results). */
    public JobBuilder staging(String folder) {
        this.staging = folder;
        return this;
    }

    // --- run and prices ------------------------------------------------------------------------------------

    public JobBuilder chunkRows(int value) {
        this.chunkRows = value;
        return this;
    }

    public JobBuilder partitions(int value) {
        this.partitions = value;
        return this;
    }

    public JobBuilder maxFailureRate(double value) {
        this.maxFailureRate = value;
        return this;
    }

    /**
     * Budget: stop after the chunk in flight once the run has cost this many US dollars here (executors × hours ×
     * {@link #executorHourUsd}); the run ends {@code budget_exceeded} and the next run continues. Needs an executor price.
     */
    public JobBuilder maxCostUsd(double value) {
        this.maxCostUsd = value;
        return this;
    }

    /** Budget: stop after the chunk in flight once the run has taken this many minutes (status {@code budget_exceeded}). */
    public JobBuilder maxWallMinutes(double value) {
        this.maxWallMinutes = value;
        return this;
    }

    public JobBuilder executorHourUsd(double value) {
        this.executorHourUsd = value;
        return this;
    }

    /** A hosted API this job replaces, for the cost report. */
    public JobBuilder apiPrice(String api, double inputPer1M, double outputPer1M) {
        apis.add(new JobConfig.ApiPrice(api, inputPer1M, outputPer1M));
        return this;
    }

    // --- the loader's additions ----------------------------------------------------------------------------

    JobBuilder configHash(String value) {
        this.configHash = value;
        return this;
    }

    JobBuilder locations(JobConfig.Locations value) {
        this.locations = value;
        return this;
    }

    /** How a number was written, so that "got ..." in an error repeats it ("1e9", not 1000000000). */
    JobBuilder written(String key, String text) {
        written.put(key, text);
        return this;
    }

    // --- terminal operations -------------------------------------------------------------------------------

    /** Runs the job with the ONNX Runtime engine. */
    public RunSummary run(SparkSession spark) {
        return job(spark).run();
    }

    /**
     * What {@link #run} would do, without writing anything: rows to process, exact prompt tokens, expected output
     * tokens, time and cost estimates ({@link NightlyJob#dryRun()}).
     */
    public DryRunReport dryRun(SparkSession spark) {
        return job(spark).dryRun();
    }

    /** The job, to run later or to adjust first ({@code retryFailed}, a listener, another engine in tests). */
    public NightlyJob job(SparkSession spark) {
        return NightlyJob.of(spark, build());
    }

    /**
     * Checks every setting and returns the job's config.
     *
     * @throws JobSettingException naming the first unusable setting as the YAML file spells it
     */
    public JobConfig build() {
        JobConfig.Source source = source();
        List<JobConfig.Task> built = tasks(source);
        JobConfig.Model model = model();
        JobConfig.Output output = output();
        JobConfig.Run run = run();
        JobConfig.Prices prices = prices();
        JobConfig.Locations where = locations != null ? locations : new JobConfig.Locations("job '" + name + "'", Map.of());
        JobConfig config = new JobConfig(name, source, built, model, output, run, prices, "", where);
        // Built in code there is no file to hash: the settings themselves are (reader options sorted for stability).
        String hash = configHash != null ? configHash : Sha256.hex(("builder-v1\n" + config + "\n"
                + new TreeMap<>(source.table().options())).getBytes(StandardCharsets.UTF_8));
        return new JobConfig(name, source, built, model, output, run, prices, hash, where);
    }

    private JobConfig.Source source() {
        if (sourceTable == null) {
            throw JobSettingException.required("source");
        }
        if (duplicates == JobConfig.Duplicates.KEEP_LATEST && latestBy == null) {
            throw JobSettingException.of("source.duplicates",
                    "keep_latest needs source.latest_by: the column that orders versions of a document");
        }
        if (badRows == JobConfig.BadRows.ERROR_ROWS && !(sourceTable.isPath() && sourceTable.format().equals("csv"))) {
            throw JobSettingException.of("source.bad_rows", "error_rows applies to csv sources (a malformed JSON line "
                    + "has no id to key an error row on; Parquet and Delta have no malformed rows); remove it");
        }
        return new JobConfig.Source(resolved(sourceTable), idColumn, textColumn, titleColumn, columns, filter,
                duplicates, latestBy, badRows);
    }

    private List<JobConfig.Task> tasks(JobConfig.Source source) {
        if (tasks.isEmpty()) {
            throw JobSettingException.of("tasks", "needs at least one task");
        }
        Set<String> known = new HashSet<>(List.of("text", "id"));
        if (source.title() != null) {
            known.add("title");
        }
        known.addAll(source.columns());
        List<JobConfig.Task> built = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < tasks.size(); i++) {
            built.add(task("tasks[" + i + "]", tasks.get(i), names, known));
        }
        return built;
    }

    private JobConfig.Task task(String at, PendingTask pending, Set<String> names, Set<String> columns) {
        String taskName = pending.name();
        TaskType type = pending.type();
        TaskOptions o = pending.options();
        if (taskName == null) {
            throw JobSettingException.required(at + ".name");
        }
        if (!TASK_NAME.matcher(taskName).matches()) {
            throw JobSettingException.of(at + ".name", "task name '" + taskName + "' must be 1-64 letters, digits, _, . or -");
        }
        if (!names.add(taskName)) {
            throw JobSettingException.of(at + ".name", "two tasks are named '" + taskName + "'");
        }
        if (type == null) {
            throw JobSettingException.required(at + ".type");
        }
        int maxWords = whole(at + "." + SummarizeTask.MAX_WORDS, o.maxWords != null ? o.maxWords : type.defaultMaxWords(),
                SettingRange.MAX_WORDS);
        Map<String, Boolean> present = Map.of(ClassifyTask.LABELS, !o.labels.isEmpty(),
                ExtractTask.FIELDS, !o.fields.isEmpty(), SummarizeTask.MAX_WORDS, o.maxWords != null);
        for (String key : TaskType.OPTION_KEYS) {
            TaskType owner = TaskType.owning(key);
            if (present.get(key) && type != owner) {
                throw JobSettingException.of(at + "." + key, key + " applies to " + owner.id() + " tasks, not " + type.id());
            }
        }
        List<FieldSpec> fields;
        List<String> labels;
        ClassifyOptions classify;
        try {
            fields = o.fields.isEmpty() ? List.of() : FieldSpec.parse(o.fields);
            labels = ClassifyOptions.labelNames(o.labels);
            classify = classifyOptions(o);
            type.checkOptions(labels, fields, maxWords);
        } catch (TaskOptionException e) {
            throw JobSettingException.of(at + "." + e.key(), e.getMessage());
        }
        if (classify.labelColumn() != null && !columns.contains(classify.labelColumn())) {
            throw JobSettingException.of(at + "." + ClassifyOptions.LABEL_COLUMN, "label_column " + classify.labelColumn()
                    + " is not a source column here; list it under source.columns");
        }
        String prompt = o.prompt != null ? o.prompt : type.defaultPrompt();
        if (prompt == null) {
            throw JobSettingException.required(at + ".prompt");
        }
        String chat = o.chat == null ? "auto" : o.chat.toLowerCase(Locale.ROOT);
        if (!List.of("auto", "true", "false").contains(chat)) {
            throw JobSettingException.of(at + ".chat", "use auto, true or false, got '" + chat + "'");
        }
        // the task parses the prompt and binds its constants
        Task partial = create(at, type, o.prompt, labels, fields, maxWords, classify, GenerationOptions.greedy(1));
        checkPrompt(at, partial, columns);
        GenerationOptions generation = generation(at + ".generation", type, o);
        return new JobConfig.Task(taskName, type, partial.prompt(), chat, labels, fields, maxWords, classify, generation);
    }

    /** The classify options of a task's settings (any kind: {@link TaskType#create} refuses them on other kinds). */
    private static ClassifyOptions classifyOptions(TaskOptions o) {
        List<ClassifyOptions.Example> examples = new ArrayList<>();
        List<Object> maps = new ArrayList<>();
        for (Object item : o.examples) {
            if (item instanceof ClassifyOptions.Example example) {
                examples.add(example);
            } else {
                maps.add(item);
            }
        }
        examples.addAll(ClassifyOptions.examples(maps));
        return new ClassifyOptions(ClassifyOptions.labelDescriptions(o.labels), examples, o.labelThreshold, o.labelTopK,
                o.labelColumn, o.calibrate);
    }

    private static Task create(String at, TaskType type, String prompt, List<String> labels, List<FieldSpec> fields,
                               int maxWords, ClassifyOptions classify, GenerationOptions generation) {
        try {
            return type.create(prompt, labels, fields, maxWords, classify, generation);
        } catch (TaskOptionException e) {
            throw JobSettingException.of(at + "." + e.key(), e.getMessage());
        }
    }

    private static void checkPrompt(String at, Task task, Set<String> columns) {
        try {
            task.checkPlaceholders(columns, "add extra columns under source.columns");
        } catch (TaskOptionException e) {
            throw JobSettingException.of(at + ".prompt", e.getMessage());
        }
    }

    private GenerationOptions generation(String at, TaskType type, TaskOptions o) {
        int maxNewTokens = whole(at + ".max_new_tokens", o.maxNewTokens != null ? o.maxNewTokens : type.defaultMaxNewTokens(),
                SettingRange.MAX_NEW_TOKENS);
        double temperature = decimal(at + ".temperature", o.temperature != null ? o.temperature : 0, SettingRange.TEMPERATURE);
        int topK = whole(at + ".top_k", o.topK != null ? o.topK : 0, SettingRange.TOP_K);
        double topP = decimal(at + ".top_p", o.topP != null ? o.topP : 1, SettingRange.TOP_P);
        double repetition = decimal(at + ".repetition_penalty", o.repetitionPenalty != null ? o.repetitionPenalty : 1,
                SettingRange.REPETITION_PENALTY);
        long seed = o.seed != null ? o.seed : 0;
        if (o.stop.stream().anyMatch(String::isEmpty)) {
            throw JobSettingException.of(at + ".stop", "stop strings must not be empty, got " + o.stop);
        }
        OverflowPolicy overflow;
        try {
            overflow = OverflowPolicy.parse(o.overflow == null ? "error" : o.overflow);
        } catch (IllegalArgumentException e) {
            throw JobSettingException.of(at + ".overflow", e.getMessage());
        }
        if (overflow == OverflowPolicy.MAP_REDUCE && type != TaskType.SUMMARIZE) {
            throw JobSettingException.of(at + ".overflow", Task.overflowMisuse(type));
        }
        try {
            return new GenerationOptions(maxNewTokens, temperature, topK, topP, repetition, seed, o.stop, overflow);
        } catch (IllegalArgumentException e) {
            throw JobSettingException.of(at, e.getMessage());
        }
    }

    private JobConfig.Model model() {
        if (modelPath == null) {
            throw JobSettingException.required("model.path");
        }
        if (!List.of("cpu", "cuda").contains(provider)) {
            throw JobSettingException.of("model.provider", "use cpu or cuda, got '" + provider + "'");
        }
        if (requireGpu && !provider.equals("cuda")) {
            throw JobSettingException.of("model.require_gpu", "applies to provider cuda; set model.provider: cuda or "
                    + "remove require_gpu");
        }
        if (!List.of("host", "device").contains(kvCache)) {
            throw JobSettingException.of("model.kv_cache", "use host or device, got '" + kvCache + "'");
        }
        whole("model.threads", threads, SettingRange.THREADS);
        whole("model.batch_budget_mb", batchBudgetMb, SettingRange.BATCH_BUDGET_MB);
        whole("model.max_batch_rows", maxBatchRows, SettingRange.MAX_BATCH_ROWS);
        JobConfig.Model model = new JobConfig.Model(localPath(modelPath), provider, threads, batchBudgetMb, maxBatchRows,
                kvCache, requireGpu);
        try {
            model.settings();
        } catch (IllegalArgumentException e) {
            throw JobSettingException.of("model", e.getMessage());
        }
        return model;
    }

    private JobConfig.Output output() {
        if (results == null) {
            throw JobSettingException.required("output.results");
        }
        if (runs == null) {
            throw JobSettingException.required("output.runs");
        }
        deltaOnly("output.results", results);
        deltaOnly("output.runs", runs);
        TableRef resultsRef = resolved(results);
        String stagingFolder = staging == null ? null : localPath(staging);
        if (stagingFolder == null) {
            if (!resultsRef.isPath()) {
                throw JobSettingException.of("output.staging",
                        "results is a catalog table, so give output.staging: a folder for per-chunk staging tables");
            }
            stagingFolder = resultsRef.path().replaceAll("/+$", "") + "_staging";
        }
        return new JobConfig.Output(resultsRef, resolved(runs), stagingFolder);
    }

    private static void deltaOnly(String key, TableRef table) {
        if (!table.format().equals("delta")) {
            throw JobSettingException.of(key + ".format", "output tables are Delta tables; remove format: " + table.format());
        }
    }

    private JobConfig.Run run() {
        whole("run.chunk_rows", chunkRows, SettingRange.CHUNK_ROWS);
        whole("run.partitions", partitions, SettingRange.PARTITIONS);
        decimal("run.max_failure_rate", maxFailureRate, SettingRange.FAILURE_RATE);
        if (maxCostUsd != null) {
            decimal("run.max_cost_usd", maxCostUsd, SettingRange.MAX_COST_USD);
            if (!(executorHourUsd > 0)) {
                throw JobSettingException.of("run.max_cost_usd", "a cost budget needs prices.executor_hour_usd above 0 "
                        + "(the run's cost here is executors x hours x that price); set the price, or use "
                        + "run.max_wall_minutes for a time budget");
            }
        }
        if (maxWallMinutes != null) {
            decimal("run.max_wall_minutes", maxWallMinutes, SettingRange.MAX_WALL_MINUTES);
        }
        try {
            return new JobConfig.Run(chunkRows, partitions, maxFailureRate, maxCostUsd, maxWallMinutes);
        } catch (IllegalArgumentException e) {
            throw JobSettingException.of("run", e.getMessage());
        }
    }

    private JobConfig.Prices prices() {
        decimal("prices.executor_hour_usd", executorHourUsd, SettingRange.PRICE);
        for (int i = 0; i < apis.size(); i++) {
            JobConfig.ApiPrice api = apis.get(i);
            if (api.name() == null || api.name().isBlank()) {
                throw JobSettingException.required("prices.apis[" + i + "].name");
            }
            decimal("prices.apis[" + i + "].input_per_1m_usd", api.inputPer1M(), SettingRange.PRICE);
            decimal("prices.apis[" + i + "].output_per_1m_usd", api.outputPer1M(), SettingRange.PRICE);
        }
        return new JobConfig.Prices(executorHourUsd, apis);
    }

    // --- checks --------------------------------------------------------------------------------------------

    private int whole(String key, long value, SettingRange range) {
        if (!range.contains(value)) {
            throw JobSettingException.of(key, range.problem(written.getOrDefault(key, Long.toString(value))));
        }
        return (int) value;
    }

    private double decimal(String key, double value, SettingRange range) {
        if (!range.contains(value)) {
            throw JobSettingException.of(key, range.problem(written.getOrDefault(key, Double.isFinite(value)
                    ? BigDecimal.valueOf(value).stripTrailingZeros().toPlainString() : Double.toString(value))));
        }
        return value;
    }

    private static TableRef resolved(TableRef ref) {
        return ref.isPath() ? new TableRef(null, localPath(ref.path()), ref.format(), ref.options()) : ref;
    }

    /** Relative local paths are resolved against the working directory; paths with a URI scheme are kept. */
    public static String localPath(String value) {
        if (value == null || SCHEME.matcher(value).matches()) {
            return value;
        }
        return Path.of(value).toAbsolutePath().normalize().toString();
    }
}
