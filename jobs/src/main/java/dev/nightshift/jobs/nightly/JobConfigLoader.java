package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.OverflowPolicy;
import dev.nightshift.task.ClassifyTask;
import dev.nightshift.task.ExtractTask;
import dev.nightshift.task.PromptTemplate;
import dev.nightshift.task.SummarizeTask;
import dev.nightshift.task.Task;
import dev.nightshift.task.TaskOptionException;
import dev.nightshift.task.TaskType;
import dev.nightshift.engine.Sha256;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a job's YAML file into a {@link JobConfig}, checking every key and value on the way. Errors name the file,
 * the line, the setting and what would be accepted ("conf/job.yaml line 12: tasks[0].generation: unknown key
 * 'temprature'; known keys: max_new_tokens, temperature, ...").
 *
 * <p>Relative local paths are resolved against the working directory; paths with a URI scheme (hdfs://, s3a://,
 * file:/) are kept as written.
 */
public final class JobConfigLoader {

    private static final Pattern TASK_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}");
    private static final Pattern SCHEME = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*:/.*");

    private final String file;
    private final Map<String, Integer> lines = new HashMap<>();

    private JobConfigLoader(String file) {
        this.file = file;
    }

    /** Loads a config file. */
    public static JobConfig load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "config file not found");
        }
        byte[] bytes = Files.readAllBytes(file);
        return parse(new String(bytes, StandardCharsets.UTF_8), file.toString());
    }

    /** Parses config text; {@code fileName} is used in messages. */
    public static JobConfig parse(String yaml, String fileName) {
        return new JobConfigLoader(fileName).read(yaml);
    }

    private JobConfig read(String yaml) {
        Node root;
        try {
            LoaderOptions options = new LoaderOptions();
            options.setAllowDuplicateKeys(false);
            root = new Yaml(options).compose(new StringReader(yaml));
        } catch (MarkedYAMLException e) {
            Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            throw new JobConfigException(file + (mark == null ? "" : " line " + (mark.getLine() + 1))
                    + ": not valid YAML: " + e.getProblem());
        } catch (YAMLException e) {
            throw new JobConfigException(file + ": not valid YAML: " + e.getMessage());
        }
        if (root == null) {
            throw new JobConfigException(file + " is empty; see conf/nightly-example.yaml for a complete job");
        }
        Section top = new Section("", root);
        String name = top.string("job", false, "nightly");
        JobConfig.Source source = source(top.section("source", true));
        List<JobConfig.Task> tasks = tasks(top, source);
        JobConfig.Model model = model(top.section("model", true));
        JobConfig.Output output = output(top.section("output", true));
        JobConfig.Run run = run(top.section("run", false));
        JobConfig.Prices prices = prices(top.section("prices", false));
        top.finish();
        String hash = Sha256.hex(yaml.getBytes(StandardCharsets.UTF_8));
        return new JobConfig(name, source, tasks, model, output, run, prices, hash,
                new JobConfig.Locations(file, lines));
    }

    // --- sections ------------------------------------------------------------------------------------------

    private JobConfig.Source source(Section s) {
        TableRef table = tableRef(s, true);
        String id = s.string("id", false, "id");
        String text = s.string("text", false, "text");
        String title = s.string("title", false, null);
        List<String> columns = s.strings("columns", false);
        String filter = s.string("filter", false, null);
        String duplicates = s.string("duplicates", false, "error");
        JobConfig.Duplicates policy = switch (duplicates.toLowerCase(Locale.ROOT).replace('-', '_')) {
            case "error" -> JobConfig.Duplicates.ERROR;
            case "keep_latest" -> JobConfig.Duplicates.KEEP_LATEST;
            default -> throw s.error("duplicates", "unknown value '" + duplicates + "'; use error or keep_latest");
        };
        String latestBy = s.string("latest_by", false, null);
        if (policy == JobConfig.Duplicates.KEEP_LATEST && latestBy == null) {
            throw s.error("duplicates", "keep_latest needs source.latest_by: the column that orders versions of a document");
        }
        String badRowsText = s.string("bad_rows", false, "error");
        JobConfig.BadRows badRows = switch (badRowsText.toLowerCase(Locale.ROOT).replace('-', '_')) {
            case "error" -> JobConfig.BadRows.ERROR;
            case "error_rows" -> JobConfig.BadRows.ERROR_ROWS;
            default -> throw s.error("bad_rows", "unknown value '" + badRowsText + "'; use error or error_rows");
        };
        if (badRows == JobConfig.BadRows.ERROR_ROWS && !(table.isPath() && table.format().equals("csv"))) {
            throw s.error("bad_rows", "error_rows applies to csv sources (a malformed JSON line has no id to key an "
                    + "error row on; Parquet and Delta have no malformed rows); remove it");
        }
        s.finish();
        return new JobConfig.Source(table, id, text, title, columns, filter, policy, latestBy, badRows);
    }

    private List<JobConfig.Task> tasks(Section top, JobConfig.Source source) {
        List<Section> items = top.sections("tasks");
        if (items.isEmpty()) {
            throw top.error("tasks", "needs at least one task");
        }
        Set<String> known = new HashSet<>(List.of("text", "id"));
        if (source.title() != null) {
            known.add("title");
        }
        known.addAll(source.columns());
        List<JobConfig.Task> tasks = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (Section t : items) {
            String name = t.string("name", true, null);
            if (!TASK_NAME.matcher(name).matches()) {
                throw t.error("name", "task name '" + name + "' must be 1-64 letters, digits, _, . or -");
            }
            if (!names.add(name)) {
                throw t.error("name", "two tasks are named '" + name + "'");
            }
            String typeText = t.string("type", true, null);
            TaskType type;
            try {
                type = TaskType.parse(typeText);
            } catch (IllegalArgumentException e) {
                throw t.error("type", e.getMessage());
            }
            List<String> labels = t.strings(ClassifyTask.LABELS, type.optionKeys().contains(ClassifyTask.LABELS));
            List<String> fields = t.strings(ExtractTask.FIELDS, type.optionKeys().contains(ExtractTask.FIELDS));
            int maxWords = t.integer(SummarizeTask.MAX_WORDS, type.defaultMaxWords(), SettingRange.MAX_WORDS);
            Map<String, Boolean> present = Map.of(ClassifyTask.LABELS, !labels.isEmpty(),
                    ExtractTask.FIELDS, !fields.isEmpty(), SummarizeTask.MAX_WORDS, t.has(SummarizeTask.MAX_WORDS));
            for (String key : TaskType.OPTION_KEYS) {
                TaskType owner = TaskType.owning(key);
                if (present.get(key) && type != owner) {
                    throw t.error(key, key + " applies to " + owner.id() + " tasks, not " + type.id());
                }
            }
            try {
                type.checkOptions(labels, fields, maxWords);
            } catch (TaskOptionException e) {
                throw t.error(e.key(), e.getMessage());
            }
            String prompt = t.string("prompt", type.defaultPrompt() == null, type.defaultPrompt());
            String chat = t.string("chat", false, "auto").toLowerCase(Locale.ROOT);
            if (!List.of("auto", "true", "false").contains(chat)) {
                throw t.error("chat", "use auto, true or false, got '" + chat + "'");
            }
            // the task parses the prompt and binds its constants
            Task partial = task(t, type, prompt, labels, fields, maxWords, GenerationOptions.greedy(1));
            checkPrompt(t, partial, known);
            GenerationOptions generation = generation(t.section("generation", false), type);
            t.finish();
            tasks.add(new JobConfig.Task(name, type, prompt, chat, labels, fields, maxWords, generation));
        }
        return tasks;
    }

    private static Task task(Section t, TaskType type, String prompt, List<String> labels, List<String> fields,
                             int maxWords, GenerationOptions generation) {
        try {
            return type.create(prompt, labels, fields, maxWords, generation);
        } catch (TaskOptionException e) {
            throw t.error(e.key(), e.getMessage());
        }
    }

    private void checkPrompt(Section t, Task task, Set<String> columns) {
        PromptTemplate template = PromptTemplate.parse(task.prompt());
        Set<String> constants = task.constants().keySet();
        for (String placeholder : template.placeholders()) {
            if (!columns.contains(placeholder) && !constants.contains(placeholder)) {
                List<String> usable = new ArrayList<>(columns);
                usable.addAll(constants);
                throw t.error("prompt", "unknown placeholder {" + placeholder + "}; usable here: "
                        + usable.stream().sorted().map(n -> "{" + n + "}").toList()
                        + " (add extra columns under source.columns)");
            }
        }
        if (!template.placeholders().contains("text")) {
            throw t.error("prompt", "the prompt never uses {text}, so every row would get the same answer");
        }
    }

    private GenerationOptions generation(Section g, TaskType type) {
        int maxNewTokens = g.integer("max_new_tokens", type.defaultMaxNewTokens(), SettingRange.MAX_NEW_TOKENS);
        double temperature = g.decimal("temperature", 0, SettingRange.TEMPERATURE);
        int topK = g.integer("top_k", 0, SettingRange.TOP_K);
        double topP = g.decimal("top_p", 1, SettingRange.TOP_P);
        double repetition = g.decimal("repetition_penalty", 1, SettingRange.REPETITION_PENALTY);
        long seed = g.integerLong("seed", 0);
        List<String> stop = g.strings("stop", false);
        if (stop.stream().anyMatch(String::isEmpty)) {
            throw g.error("stop", "stop strings must not be empty, got " + stop);
        }
        String overflowText = g.string("overflow", false, "error");
        OverflowPolicy overflow;
        try {
            overflow = OverflowPolicy.parse(overflowText);
        } catch (IllegalArgumentException e) {
            throw g.error("overflow", e.getMessage());
        }
        g.finish();
        try {
            return new GenerationOptions(maxNewTokens, temperature, topK, topP, repetition, seed, stop, overflow);
        } catch (IllegalArgumentException e) {
            throw g.error("", e.getMessage());
        }
    }

    private JobConfig.Model model(Section m) {
        String path = localPath(m, "path", true);
        String provider = m.string("provider", false, "cpu");
        if (!List.of("cpu", "cuda").contains(provider)) {
            throw m.error("provider", "use cpu or cuda, got '" + provider + "'");
        }
        int threads = m.integer("threads", 0, SettingRange.THREADS);
        long budget = m.integer("batch_budget_mb", 1024, SettingRange.BATCH_BUDGET_MB);
        int maxBatch = m.integer("max_batch_rows", 32, SettingRange.MAX_BATCH_ROWS);
        m.finish();
        JobConfig.Model model = new JobConfig.Model(path, provider, threads, budget, maxBatch);
        try {
            model.settings();
        } catch (IllegalArgumentException e) {
            throw m.error("", e.getMessage());
        }
        return model;
    }

    private JobConfig.Output output(Section o) {
        Section resultsSection = o.section("results", true);
        TableRef results = tableRef(resultsSection, false);
        resultsSection.finish();
        Section runsSection = o.section("runs", true);
        TableRef runs = tableRef(runsSection, false);
        runsSection.finish();
        String staging = o.has("staging") ? localPath(o, "staging", true) : null;
        o.finish();
        if (staging == null) {
            if (!results.isPath()) {
                throw o.error("staging", "results is a catalog table, so give output.staging: a folder for per-chunk staging tables");
            }
            staging = results.path().replaceAll("/+$", "") + "_staging";
        }
        return new JobConfig.Output(results, runs, staging);
    }

    private JobConfig.Run run(Section r) {
        int chunkRows = r.integer("chunk_rows", 5000, SettingRange.CHUNK_ROWS);
        int partitions = r.integer("partitions", 0, SettingRange.PARTITIONS);
        double maxFailureRate = r.decimal("max_failure_rate", 0.05, SettingRange.FAILURE_RATE);
        r.finish();
        try {
            return new JobConfig.Run(chunkRows, partitions, maxFailureRate);
        } catch (IllegalArgumentException e) {
            throw r.error("", e.getMessage());
        }
    }

    private JobConfig.Prices prices(Section p) {
        double executorHour = p.decimal("executor_hour_usd", 0, SettingRange.PRICE);
        List<JobConfig.ApiPrice> apis = new ArrayList<>();
        for (Section a : p.sections("apis")) {
            String name = a.string("name", true, null);
            double input = a.decimal("input_per_1m_usd", 0, SettingRange.PRICE);
            double output = a.decimal("output_per_1m_usd", 0, SettingRange.PRICE);
            a.finish();
            apis.add(new JobConfig.ApiPrice(name, input, output));
        }
        p.finish();
        return new JobConfig.Prices(executorHour, apis);
    }

    /** {@code table: name} or {@code path: ... format: ...} (source only: reader {@code options:}). */
    private TableRef tableRef(Section s, boolean source) {
        boolean hasTable = s.has("table");
        boolean hasPath = s.has("path");
        if (hasTable == hasPath) {
            throw s.error("", "give exactly one of table: (a catalog name) or path: (a folder or file)");
        }
        String format = s.string("format", false, "delta");
        Map<String, String> options = source ? s.stringMap("options") : Map.of();
        if (!source && !format.equalsIgnoreCase("delta")) {
            throw s.error("format", "output tables are Delta tables; remove format: " + format);
        }
        String name = hasTable ? s.string("table", true, null) : null;
        String path = hasPath ? localPath(s, "path", true) : null;
        try {
            return new TableRef(name, path, format, options);
        } catch (IllegalArgumentException e) {
            throw s.error(hasTable ? "table" : "format", e.getMessage());
        }
    }

    private String localPath(Section s, String key, boolean required) {
        String value = s.string(key, required, null);
        if (value == null || SCHEME.matcher(value).matches()) {
            return value;
        }
        return Path.of(value).toAbsolutePath().normalize().toString();
    }

    // --- YAML access ---------------------------------------------------------------------------------------

    /** A mapping in the file, with the keys read so far (the rest are unknown keys). */
    private final class Section {
        private final String path;
        private final Node node;
        private final Map<String, NodeTuple> entries = new LinkedHashMap<>();
        private final Set<String> read = new HashSet<>();
        private final Set<String> known = new java.util.LinkedHashSet<>();

        Section(String path, Node node) {
            this.path = path;
            this.node = node;
            if (node != null) {
                if (!(node instanceof MappingNode mapping)) {
                    throw errorAt(node, label(), "expected a mapping of key: value lines");
                }
                for (NodeTuple tuple : mapping.getValue()) {
                    if (!(tuple.getKeyNode() instanceof ScalarNode key)) {
                        throw errorAt(tuple.getKeyNode(), label(), "keys must be plain words");
                    }
                    entries.put(key.getValue(), tuple);
                    lines.put(key(key.getValue()), tuple.getKeyNode().getStartMark().getLine() + 1);
                }
                lines.putIfAbsent(label(), node.getStartMark().getLine() + 1);
            }
        }

        String label() {
            return path.isEmpty() ? "top level" : path;
        }

        String key(String key) {
            return path.isEmpty() ? key : key.isEmpty() ? path : path + "." + key;
        }

        boolean has(String key) {
            known.add(key);
            return entries.containsKey(key) && !isNull(entries.get(key).getValueNode());
        }

        private Node value(String key, boolean required) {
            known.add(key);
            read.add(key);
            NodeTuple tuple = entries.get(key);
            if (tuple == null || isNull(tuple.getValueNode())) {
                if (required) {
                    Integer line = sectionLine();
                    throw new JobConfigException(file + (line == null ? "" : " line " + line) + ": " + key(key)
                            + " is required");
                }
                return null;
            }
            return tuple.getValueNode();
        }

        String string(String key, boolean required, String fallback) {
            Node value = value(key, required);
            if (value == null) {
                return fallback;
            }
            if (!(value instanceof ScalarNode scalar)) {
                throw errorAt(value, key(key), "expected a single value, not a list or mapping");
            }
            if (required && scalar.getValue().isBlank()) {
                throw errorAt(value, key(key), "must not be empty");
            }
            return scalar.getValue();
        }

        long integerLong(String key, long fallback) {
            String text = string(key, false, null);
            if (text == null) {
                return fallback;
            }
            try {
                return Long.parseLong(text.replace("_", "").trim());
            } catch (NumberFormatException e) {
                throw errorAt(value(key, false), key(key), "expected a whole number, got '" + text + "'");
            }
        }

        /** A whole number within {@code range}; out-of-range values are reported on their own line. */
        int integer(String key, int fallback, SettingRange range) {
            long value = integerLong(key, fallback);
            if (!range.contains(value)) {
                throw errorAt(value(key, false), key(key), range.problem(Long.toString(value)));
            }
            return (int) value;
        }

        /** A number within {@code range}; out-of-range values are reported on their own line. */
        double decimal(String key, double fallback, SettingRange range) {
            double value = decimal(key, fallback);
            if (!range.contains(value)) {
                throw errorAt(value(key, false), key(key), range.problem(string(key, false, null)));
            }
            return value;
        }

        private double decimal(String key, double fallback) {
            String text = string(key, false, null);
            if (text == null) {
                return fallback;
            }
            try {
                double value = Double.parseDouble(text.trim());
                if (!Double.isFinite(value)) {
                    throw new NumberFormatException();
                }
                return value;
            } catch (NumberFormatException e) {
                throw errorAt(value(key, false), key(key), "expected a number, got '" + text + "'");
            }
        }

        List<String> strings(String key, boolean required) {
            Node value = value(key, required);
            if (value == null) {
                return List.of();
            }
            if (!(value instanceof SequenceNode sequence)) {
                throw errorAt(value, key(key), "expected a list, e.g. [a, b] or one '- item' per line");
            }
            List<String> items = new ArrayList<>();
            for (Node item : sequence.getValue()) {
                if (!(item instanceof ScalarNode scalar) || isNull(item)) {
                    throw errorAt(item, key(key), "list items must be single values");
                }
                items.add(scalar.getValue());
            }
            if (required && items.isEmpty()) {
                throw errorAt(value, key(key), "must not be empty");
            }
            return items;
        }

        Map<String, String> stringMap(String key) {
            Section inner = section(key, false);
            Map<String, String> map = new LinkedHashMap<>();
            for (String k : inner.entries.keySet()) {
                map.put(k, inner.string(k, true, null));
            }
            return map;
        }

        Section section(String key, boolean required) {
            return new Section(key(key), value(key, required));
        }

        List<Section> sections(String key) {
            Node value = value(key, false);
            if (value == null) {
                return List.of();
            }
            if (!(value instanceof SequenceNode sequence)) {
                throw errorAt(value, key(key), "expected a list of mappings ('- name: ...')");
            }
            List<Section> items = new ArrayList<>();
            for (int i = 0; i < sequence.getValue().size(); i++) {
                items.add(new Section(key(key) + "[" + i + "]", sequence.getValue().get(i)));
            }
            return items;
        }

        /** Fails on keys nobody asked for (typos), listing the known ones. */
        void finish() {
            for (Map.Entry<String, NodeTuple> entry : entries.entrySet()) {
                if (!known.contains(entry.getKey())) {
                    throw errorAt(entry.getValue().getKeyNode(), label(), "unknown key '" + entry.getKey()
                            + "'; known keys: " + String.join(", ", known));
                }
            }
        }

        JobConfigException error(String key, String message) {
            NodeTuple tuple = entries.get(key);
            if (tuple != null) {
                return errorAt(tuple.getKeyNode(), key(key), message);
            }
            Integer line = sectionLine();
            return new JobConfigException(file + (line == null ? "" : " line " + line) + ": " + key(key) + ": " + message);
        }

        /**
         * The line of this section's own key ({@code run:}), not of its first entry: the mapping node starts at its first
         * key, so a message about the whole section would otherwise point at an unrelated setting.
         */
        private Integer sectionLine() {
            Integer line = lines.get(label());
            return line != null ? line : node == null ? null : node.getStartMark().getLine() + 1;
        }
    }

    private JobConfigException errorAt(Node node, String setting, String message) {
        String where = node == null ? "" : " line " + (node.getStartMark().getLine() + 1);
        return new JobConfigException(file + where + ": " + setting + ": " + message);
    }

    private static boolean isNull(Node node) {
        return node instanceof ScalarNode scalar && scalar.getTag().getValue().endsWith(":null");
    }
}
