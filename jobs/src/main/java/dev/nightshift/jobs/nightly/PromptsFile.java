package dev.nightshift.jobs.nightly;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nightshift.engine.ModelSettings;
import dev.nightshift.engine.TextGenerator;
import dev.nightshift.task.Task;

import java.io.BufferedWriter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The exact work a run would send to the model, as JSON lines: written by {@code run --dry-run --write-prompts FILE}
 * ({@link NightlyJob#dryRun(Path)}), replayed by {@code bench --prompts FILE} through the executor's own code
 * ({@link InferenceBatches}: the same tasks, batching and engine settings) without Spark, so the raw engine's rows/s
 * can be set against the job's on the same prompts.
 *
 * <p>Line 1, the header: {@code format} ({@value #FORMAT}), {@code job}, {@code model_path},
 * {@code model_fingerprint}, the engine settings ({@code provider}, {@code threads}, {@code batch_budget_mb},
 * {@code max_batch_rows}, {@code kv_cache}, {@code require_gpu}) and {@code tasks}: per task its {@code name}, {@code kind}, {@code chat},
 * {@code prompt_hash}, {@code max_new_tokens} and {@code definition} (the task object, Java-serialized, base64: the
 * task that runs is the job's, options and all). Every further line is one pending row: {@code doc_id},
 * {@code task}, {@code kind}, {@code max_new_tokens}, {@code prompt_parts} (the rendered prompt's parts, which the
 * task turns into the engine prompt as an executor does), {@code input_hash}, {@code prompt_chars} and
 * {@code problem} (null, or why the row never reaches the model). Rows are in the order an executor's partition
 * takes them (task, then prompt length): the job's chunks and partitions sort the same way.
 */
public final class PromptsFile {

    /** The header's format tag; a file of another format is refused. */
    public static final String FORMAT = "nightshift-prompts-v1";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final String job;
    private final String modelPath;
    private final String modelFingerprint;
    private final JobConfig.Model model;
    private final List<TaskSpec> tasks;
    private final List<WorkItem> items;

    private PromptsFile(Path file, String job, String modelPath, String modelFingerprint, JobConfig.Model model,
                        List<TaskSpec> tasks, List<WorkItem> items) {
        this.file = file;
        this.job = job;
        this.modelPath = modelPath;
        this.modelFingerprint = modelFingerprint;
        this.model = model;
        this.tasks = List.copyOf(tasks);
        this.items = List.copyOf(items);
    }

    /**
     * Writes the header and {@code items}, sorted as a partition runs them (task, prompt length, id).
     *
     * @throws UncheckedIOException when the file cannot be written (the message names it)
     */
    static void write(Path file, JobConfig config, List<TaskSpec> tasks, String modelFingerprint,
                      Iterator<WorkItem> items) {
        List<WorkItem> sorted = new ArrayList<>();
        items.forEachRemaining(sorted::add);
        sorted.sort(Comparator.comparing(WorkItem::task).thenComparingInt(WorkItem::promptChars)
                .thenComparing(WorkItem::docId));
        Map<String, TaskSpec> byName = new LinkedHashMap<>();
        tasks.forEach(t -> byName.put(t.name(), t));
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                out.write(JSON.writeValueAsString(header(config, tasks, modelFingerprint)));
                out.newLine();
                for (WorkItem item : sorted) {
                    TaskSpec task = byName.get(item.task());
                    ObjectNode row = JSON.createObjectNode();
                    row.put("doc_id", item.docId());
                    row.put("task", item.task());
                    row.put("kind", task.type().id());
                    row.put("max_new_tokens", task.generation().maxNewTokens());
                    ArrayNode parts = row.putArray("prompt_parts");
                    item.promptParts().forEach(parts::add);
                    row.put("input_hash", item.inputHash());
                    row.put("prompt_chars", item.promptChars());
                    row.put("problem", item.problem());
                    out.write(JSON.writeValueAsString(row));
                    out.newLine();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the prompts file " + file + ": " + e.getMessage(), e);
        }
    }

    private static ObjectNode header(JobConfig config, List<TaskSpec> tasks, String modelFingerprint) {
        JobConfig.Model model = config.model();
        ObjectNode header = JSON.createObjectNode();
        header.put("format", FORMAT);
        header.put("job", config.name());
        header.put("model_path", model.path());
        header.put("model_fingerprint", modelFingerprint);
        header.put("provider", model.provider());
        header.put("threads", model.threads());
        header.put("batch_budget_mb", model.batchBudgetMb());
        header.put("max_batch_rows", model.maxBatchRows());
        header.put("kv_cache", model.kvCache());
        header.put("require_gpu", model.requireGpu());
        ArrayNode list = header.putArray("tasks");
        for (TaskSpec task : tasks) {
            ObjectNode t = list.addObject();
            t.put("name", task.name());
            t.put("kind", task.type().id());
            t.put("chat", task.chat());
            t.put("prompt_hash", task.promptHash());
            t.put("max_new_tokens", task.generation().maxNewTokens());
            t.put("definition", serialize(task.task()));
        }
        return header;
    }

    /**
     * Reads a prompts file.
     *
     * @throws IllegalArgumentException naming the file and line: not JSON, not this format, a row of an unknown task,
     *                                  a missing field, or a task written by another version of Nightshift
     * @throws IOException              when the file cannot be read
     */
    public static PromptsFile read(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.isEmpty()) {
            throw new IllegalArgumentException(file + " is empty; write a prompts file with "
                    + "`bin/nightshift run --config JOB.yaml --dry-run --write-prompts FILE`");
        }
        JsonNode header = parse(file, 1, lines.get(0));
        if (!FORMAT.equals(header.path("format").asText())) {
            throw new IllegalArgumentException(file + ":1: not a prompts file (its first line has no \"format\": \""
                    + FORMAT + "\"); write one with `bin/nightshift run --config JOB.yaml --dry-run --write-prompts FILE`");
        }
        JobConfig.Model model = new JobConfig.Model(text(file, 1, header, "model_path"),
                text(file, 1, header, "provider"), header.path("threads").asInt(0),
                header.path("batch_budget_mb").asLong(1024), header.path("max_batch_rows").asInt(32),
                header.path("kv_cache").asText("host"), header.path("require_gpu").asBoolean(false));
        Map<String, TaskSpec> tasks = new LinkedHashMap<>();
        for (JsonNode t : header.path("tasks")) {
            String name = text(file, 1, t, "name");
            Task task = deserialize(file, text(file, 1, t, "definition"), name);
            tasks.put(name, new TaskSpec(name, task, t.path("chat").asBoolean(), text(file, 1, t, "prompt_hash")));
        }
        List<WorkItem> items = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            JsonNode row = parse(file, i + 1, lines.get(i));
            String task = text(file, i + 1, row, "task");
            if (!tasks.containsKey(task)) {
                throw new IllegalArgumentException(file + ":" + (i + 1) + ": task '" + task + "' is not in the header's "
                        + "tasks " + tasks.keySet() + "; write the file again with --write-prompts");
            }
            List<String> parts = new ArrayList<>();
            JsonNode array = row.path("prompt_parts");
            if (!array.isArray()) {
                throw new IllegalArgumentException(file + ":" + (i + 1) + ": missing \"prompt_parts\" (a list of strings)");
            }
            array.forEach(p -> parts.add(p.asText()));
            JsonNode problem = row.path("problem");
            items.add(new WorkItem(text(file, i + 1, row, "doc_id"), task, parts, row.path("input_hash").asText(""),
                    row.path("prompt_chars").asInt(String.join("", parts).length()),
                    problem.isMissingNode() || problem.isNull() ? null : problem.asText()));
        }
        return new PromptsFile(file, header.path("job").asText(""), model.path(),
                text(file, 1, header, "model_fingerprint"), model, new ArrayList<>(tasks.values()), items);
    }

    /** The job that wrote the file. */
    public String job() {
        return job;
    }

    /** The model folder the job was configured with. */
    public String modelPath() {
        return modelPath;
    }

    /** The model's fingerprint when the file was written (a replay on another model is refused). */
    public String modelFingerprint() {
        return modelFingerprint;
    }

    /** The job's engine settings, on {@code folder} (null: the job's model path). */
    public ModelSettings settings(String folder) {
        return (folder == null ? model : model.withPath(folder)).settings();
    }

    /** Rows in the file (rows with a problem included: the job writes them too, without the model). */
    public int rows() {
        return items.size();
    }

    /** Task names, in the header's order. */
    public List<String> taskNames() {
        return tasks.stream().map(TaskSpec::name).toList();
    }

    /** The rows of one task only (for per-task figures), the header unchanged. */
    public PromptsFile onlyTask(String name) {
        if (!taskNames().contains(name)) {
            throw new IllegalArgumentException(file + " has no task '" + name + "'; its tasks are " + taskNames());
        }
        return new PromptsFile(file, job, modelPath, modelFingerprint, model, tasks,
                items.stream().filter(i -> i.task().equals(name)).toList());
    }

    /**
     * Counts of one replay: rows, failed rows, tokens of the successful rows, and wall seconds.
     *
     * @param failures the failed rows per error code (the results table's {@code error_code}), in order of first
     *                 appearance, each with the first row's error text: a benchmark that counts failures must also
     *                 say why, or its rate hides them
     */
    public record Replay(long rows, long failed, long promptTokens, long outputTokens, double seconds,
                         Map<String, Failures> failures) {

        public double rowsPerSecond() {
            return rows / seconds;
        }

        /** "8 OUTPUT_TRUNCATED (first: ...); 1 EMPTY_TEXT (first: ...)", or "" when no row failed. */
        public String describeFailures() {
            StringJoiner all = new StringJoiner("; ");
            failures.forEach((code, f) -> all.add(f.rows() + " " + code + " (first: " + f.firstError() + ")"));
            return all.toString();
        }
    }

    /** Failed rows of one error code, and the first one's error text. */
    public record Failures(long rows, String firstError) {
    }

    /**
     * Runs {@code limit} rows (all when larger) through {@code engine} as an executor's partition would
     * ({@link InferenceBatches} with the job's {@code max_batch_rows}), and counts them as the runs table does
     * ({@link RowCounts}).
     */
    public Replay replay(TextGenerator engine, int limit) {
        InferenceBatches batches = new InferenceBatches(tasks, model.maxBatchRows(), "bench", modelFingerprint);
        List<WorkItem> run = items.subList(0, Math.min(limit, items.size()));
        long start = System.nanoTime();
        long rows = 0;
        long failed = 0;
        long in = 0;
        long out = 0;
        Map<String, Failures> failures = new LinkedHashMap<>();
        for (Iterator<ResultRow> it = batches.rows(engine, run.iterator(), b -> { }); it.hasNext(); ) {
            ResultRow row = it.next();
            RowCounts counts = RowCounts.of(List.of(row));
            rows += counts.rows();
            failed += counts.failed();
            in += counts.tokensIn();
            out += counts.tokensOut();
            if (row.error() != null) {
                failures.merge(String.valueOf(row.errorCode()), new Failures(1, row.error()),
                        (a, b) -> new Failures(a.rows() + 1, a.firstError()));
            }
        }
        return new Replay(rows, failed, in, out, (System.nanoTime() - start) / 1e9, Collections.unmodifiableMap(failures));
    }

    private static JsonNode parse(Path file, int line, String text) {
        try {
            JsonNode node = JSON.readTree(text);
            if (node == null || !node.isObject()) {
                throw new IllegalArgumentException(file + ":" + line + ": not a JSON object");
            }
            return node;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(file + ":" + line + ": not JSON: " + e.getOriginalMessage(), e);
        }
    }

    private static String text(Path file, int line, JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull() || !value.isTextual()) {
            throw new IllegalArgumentException(file + ":" + line + ": missing \"" + field + "\" (a string)");
        }
        return value.asText();
    }

    private static String serialize(Task task) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(task);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serialize task " + task.type().id() + ": " + e.getMessage(), e);
        }
        return Base64.getEncoder().encodeToString(bytes.toByteArray());
    }

    private static Task deserialize(Path file, String base64, String name) {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(Base64.getDecoder().decode(base64)))) {
            return (Task) in.readObject();
        } catch (IOException | ClassNotFoundException | ClassCastException | IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ":1: task '" + name + "' cannot be read (" + e
                    + "); it was written by another version of Nightshift: write the file again with --write-prompts", e);
        }
    }
}
