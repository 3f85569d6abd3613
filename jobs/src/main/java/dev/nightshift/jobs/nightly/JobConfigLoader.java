package dev.nightshift.jobs.nightly;

import dev.nightshift.task.ClassifyOptions;
import dev.nightshift.task.ClassifyTask;
import dev.nightshift.task.ExtractTask;
import dev.nightshift.task.SummarizeTask;
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
import org.yaml.snakeyaml.nodes.Tag;

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

/**
 * Reads a job's YAML file into a {@link JobBuilder} and builds it. This class checks only what is about YAML: the
 * syntax, unknown and missing keys, and that each value has the right shape (a number, a list, one of the listed
 * words); every value is then checked by {@link JobBuilder#build()}, the same code a job built in Java goes through,
 * and its message gets the file and line in front. Errors name the file, the line, the setting and what would be
 * accepted ("conf/job.yaml line 12: tasks[0].generation: unknown key 'temprature'; known keys: max_new_tokens,
 * temperature, ...").
 *
 * <p>Relative local paths are resolved against the working directory; paths with a URI scheme (hdfs://, s3a://,
 * file:/) are kept as written.
 */
public final class JobConfigLoader {

    private final String file;
    private final Map<String, Integer> lines = new HashMap<>();
    private JobBuilder job;

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
        job = Nightshift.job(top.string("job", false, "nightly"));
        source(top.section("source", true));
        tasks(top);
        model(top.section("model", true));
        output(top.section("output", true));
        run(top.section("run", false));
        prices(top.section("prices", false));
        top.has("eval");   // the eval command's settings, read by dev.nightshift.jobs.eval.EvalSettings
        top.finish();
        job.configHash(Sha256.hex(yaml.getBytes(StandardCharsets.UTF_8))).locations(new JobConfig.Locations(file, lines));
        try {
            return job.build();
        } catch (JobSettingException e) {
            throw located(e);
        }
    }

    /** The builder's message with the file and the line of the setting (or of the nearest section that has one). */
    private JobConfigException located(JobSettingException e) {
        String key = e.key();
        Integer line = lines.get(key);
        while (line == null && !key.isEmpty()) {
            int cut = Math.max(key.lastIndexOf('.'), key.lastIndexOf('['));
            key = cut < 0 ? "" : key.substring(0, cut);
            line = lines.get(key.isEmpty() ? "top level" : key);
        }
        return new JobConfigException(file + (line == null ? "" : " line " + line) + ": " + e.getMessage(), e);
    }

    // --- sections: YAML syntax and types here; every value is checked by JobBuilder.build() ----------------

    private void source(Section s) {
        TableRef table = tableRef(s, true);
        job.source(table, s.string("id", false, "id"), s.string("text", false, "text"));
        job.title(s.string("title", false, null));
        job.columns(s.strings("columns", false));
        job.filter(s.string("filter", false, null));
        String duplicates = s.string("duplicates", false, "error");
        JobConfig.Duplicates policy = switch (duplicates.toLowerCase(Locale.ROOT).replace('-', '_')) {
            case "error" -> JobConfig.Duplicates.ERROR;
            case "keep_latest" -> JobConfig.Duplicates.KEEP_LATEST;
            default -> throw s.error("duplicates", "unknown value '" + duplicates + "'; use error or keep_latest");
        };
        job.duplicates(policy, s.string("latest_by", false, null));
        String badRowsText = s.string("bad_rows", false, "error");
        job.badRows(switch (badRowsText.toLowerCase(Locale.ROOT).replace('-', '_')) {
            case "error" -> JobConfig.BadRows.ERROR;
            case "error_rows" -> JobConfig.BadRows.ERROR_ROWS;
            default -> throw s.error("bad_rows", "unknown value '" + badRowsText + "'; use error or error_rows");
        });
        s.finish();
    }

    private void tasks(Section top) {
        for (Section t : top.sections("tasks")) {
            String name = t.string("name", true, null);
            String typeText = t.string("type", true, null);
            TaskType type;
            try {
                type = TaskType.parse(typeText);
            } catch (IllegalArgumentException e) {
                throw t.error("type", e.getMessage());
            }
            // labels are words: `True` stays `True` (as before labels could be maps; their prompt_hash depends on it)
            List<Object> labels = t.plainList(ClassifyTask.LABELS, type.optionKeys().contains(ClassifyTask.LABELS), true);
            List<Object> examples = t.plainList(ClassifyOptions.EXAMPLES, false);
            Section multiLabel = t.section(ClassifyOptions.MULTI_LABEL, false);
            Double labelThreshold = multiLabel.has("threshold") ? multiLabel.decimal("threshold") : null;
            Integer labelTopK = multiLabel.has("top_k") ? multiLabel.whole("top_k") : null;
            multiLabel.finish();
            if (t.has(ClassifyOptions.MULTI_LABEL) && labelThreshold == null && labelTopK == null) {
                throw t.error(ClassifyOptions.MULTI_LABEL, "give threshold (a probability) and/or top_k, e.g. "
                        + "{threshold: 0.3, top_k: 3}");
            }
            String labelColumn = t.string(ClassifyOptions.LABEL_COLUMN, false, null);
            List<Object> fields = t.plainList(ExtractTask.FIELDS, type.optionKeys().contains(ExtractTask.FIELDS));
            Integer maxWords = t.has(SummarizeTask.MAX_WORDS) ? t.whole(SummarizeTask.MAX_WORDS) : null;
            boolean calibrate = t.has(ClassifyTask.CALIBRATE) && t.bool(ClassifyTask.CALIBRATE);
            String prompt = t.string("prompt", type.defaultPrompt() == null, null);
            String chat = t.string("chat", false, null);
            Section g = t.section("generation", false);
            Integer maxNewTokens = g.has("max_new_tokens") ? g.whole("max_new_tokens") : null;
            Double temperature = g.has("temperature") ? g.decimal("temperature") : null;
            Integer topK = g.has("top_k") ? g.whole("top_k") : null;
            Double topP = g.has("top_p") ? g.decimal("top_p") : null;
            Double repetition = g.has("repetition_penalty") ? g.decimal("repetition_penalty") : null;
            Long seed = g.has("seed") ? g.integerLong("seed", 0) : null;
            List<String> stop = g.strings("stop", false);
            String overflow = g.string("overflow", false, null);
            g.finish();
            t.finish();
            job.task(name, type, o -> {
                o.labelValues(labels).fieldValues(fields).prompt(prompt).chat(chat).stop(stop).overflow(overflow);
                o.exampleValues(examples).multiLabel(labelThreshold, labelTopK).labelColumn(labelColumn);
                o.maxWords = maxWords;
                o.calibrate = calibrate;
                o.maxNewTokens = maxNewTokens;
                o.temperature = temperature;
                o.topK = topK;
                o.topP = topP;
                o.repetitionPenalty = repetition;
                o.seed = seed;
            });
        }
    }

    private void model(Section m) {
        job.model(localPath(m, "path", true));
        job.provider(m.string("provider", false, "cpu"));
        job.kvCache(m.string("kv_cache", false, "host"));
        if (m.has("require_gpu")) {
            job.requireGpu(m.bool("require_gpu"));
        }
        if (m.has("threads")) {
            job.threads(m.whole("threads"));
        }
        if (m.has("batch_budget_mb")) {
            job.batchBudgetMb(m.whole("batch_budget_mb"));
        }
        if (m.has("max_batch_rows")) {
            job.maxBatchRows(m.whole("max_batch_rows"));
        }
        m.finish();
    }

    private void output(Section o) {
        Section resultsSection = o.section("results", true);
        job.mergeInto(tableRef(resultsSection, false));
        resultsSection.finish();
        Section runsSection = o.section("runs", true);
        job.runsTable(tableRef(runsSection, false));
        runsSection.finish();
        job.staging(o.has("staging") ? localPath(o, "staging", true) : null);
        o.finish();
    }

    private void run(Section r) {
        if (r.has("chunk_rows")) {
            job.chunkRows(r.whole("chunk_rows"));
        }
        if (r.has("partitions")) {
            job.partitions(r.whole("partitions"));
        }
        if (r.has("max_failure_rate")) {
            job.maxFailureRate(r.decimal("max_failure_rate"));
        }
        if (r.has("max_cost_usd")) {
            job.maxCostUsd(r.decimal("max_cost_usd"));
        }
        if (r.has("max_wall_minutes")) {
            job.maxWallMinutes(r.decimal("max_wall_minutes"));
        }
        r.finish();
    }

    private void prices(Section p) {
        if (p.has("executor_hour_usd")) {
            job.executorHourUsd(p.decimal("executor_hour_usd"));
        }
        for (Section a : p.sections("apis")) {
            String name = a.string("name", true, null);
            double input = a.has("input_per_1m_usd") ? a.decimal("input_per_1m_usd") : 0;
            double output = a.has("output_per_1m_usd") ? a.decimal("output_per_1m_usd") : 0;
            a.finish();
            job.apiPrice(name, input, output);
        }
        p.finish();
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
        String name = hasTable ? s.string("table", true, null) : null;
        String path = hasPath ? localPath(s, "path", true) : null;
        try {
            return new TableRef(name, path, format, options);
        } catch (IllegalArgumentException e) {
            throw s.error(hasTable ? "table" : "format", e.getMessage());
        }
    }

    private String localPath(Section s, String key, boolean required) {
        return JobBuilder.localPath(s.string(key, required, null));
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

        /**
         * A whole number, handed to the builder as written: its range is the builder's to check. A value beyond an
         * int is passed as the nearest int with its text, so the builder's "got ..." still quotes the file.
         */
        int whole(String key) {
            long value = integerLong(key, 0);
            if (value != (int) value) {
                job.written(key(key), string(key, false, null).trim());
                return value < 0 ? Integer.MIN_VALUE : Integer.MAX_VALUE;
            }
            return (int) value;
        }

        /** true or false (any case). */
        boolean bool(String key) {
            String text = string(key, false, "false").strip();
            if (!text.equalsIgnoreCase("true") && !text.equalsIgnoreCase("false")) {
                throw error(key, "use true or false, got '" + text + "'");
            }
            return Boolean.parseBoolean(text);
        }

        /** A number; its text goes with it, so range errors quote it as written ("1e9"). */
        double decimal(String key) {
            String text = string(key, false, null);
            try {
                double value = Double.parseDouble(text.trim());
                if (!Double.isFinite(value)) {
                    throw new NumberFormatException();
                }
                job.written(key(key), text);
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

        /**
         * A list whose items may be values, lists or maps (extract fields), as plain Java values: strings, booleans
         * (YAML true/false), lists and maps in file order.
         */
        List<Object> plainList(String key, boolean required) {
            return plainList(key, required, false);
        }

        /** As {@link #plainList(String, boolean)}; {@code asWritten}: scalars stay the text written, never booleans. */
        List<Object> plainList(String key, boolean required, boolean asWritten) {
            Node value = value(key, required);
            if (value == null) {
                return List.of();
            }
            if (!(value instanceof SequenceNode sequence)) {
                throw errorAt(value, key(key), "expected a list, e.g. [a, b] or one '- item' per line");
            }
            if (required && sequence.getValue().isEmpty()) {
                throw errorAt(value, key(key), "must not be empty");
            }
            List<Object> items = new ArrayList<>();
            for (Node item : sequence.getValue()) {
                items.add(plain(item, asWritten));
            }
            return items;
        }

        private Object plain(Node node, boolean asWritten) {
            if (node instanceof SequenceNode sequence) {
                List<Object> items = new ArrayList<>();
                sequence.getValue().forEach(item -> items.add(plain(item, asWritten)));
                return items;
            }
            if (node instanceof MappingNode mapping) {
                Map<String, Object> map = new LinkedHashMap<>();
                for (NodeTuple tuple : mapping.getValue()) {
                    map.put(((ScalarNode) tuple.getKeyNode()).getValue(), plain(tuple.getValueNode(), asWritten));
                }
                return map;
            }
            ScalarNode scalar = (ScalarNode) node;
            if (isNull(node)) {
                return null;
            }
            if (asWritten) {
                return scalar.getValue();
            }
            // YAML 1.1 also reads yes/no/on/off as booleans; only true/false become booleans here, the rest stays
            // text, so `values: [yes, no]` keeps its words and `required: yes` is refused by name
            String text = scalar.getValue();
            boolean bool = scalar.getTag() == Tag.BOOL && (text.equalsIgnoreCase("true") || text.equalsIgnoreCase("false"));
            return bool ? (Object) Boolean.valueOf(text) : text;
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
