package dev.nightshift.jobs.nightly;

import dev.nightshift.task.TaskType;

import dev.nightshift.task.ExtractTask;

import dev.nightshift.task.FieldSpec;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The fluent builder and the YAML loader share one validation path: a bad value fails with the same words. */
class JobBuilderTest {

    private static final String YAML = """
            job: news
            source: {path: /data/docs, format: parquet, id: id, text: body, columns: [region]}
            tasks:
              - name: topic
                type: classify
                labels: [a, b]
              - name: tldr
                type: summarize
                max_words: 20
                prompt: "In {max_words} words, {region} news: {text}"
                generation:
                  max_new_tokens: 40
                  temperature: 0.7
            model:
              path: /models/m
              threads: 2
            output:
              results: {path: /out/results}
              runs: {table: ops.nightshift_runs}
            run:
              max_failure_rate: 0.05
            """;

    /** The YAML job in Java; {@code edit} changes one setting. */
    private static JobBuilder builder(UnaryOperator<TaskOptions> tldr, List<String> labels, int threads,
                                      double maxFailureRate) {
        return Nightshift.job("news")
                .source(new TableRef(null, "/data/docs", "parquet", Map.of()), "id", "body").columns("region")
                .classify("topic", labels)
                .summarize("tldr", o -> tldr.apply(o.maxWords(20).prompt("In {max_words} words, {region} news: {text}")
                        .maxNewTokens(40).temperature(0.7)))
                .model("/models/m").threads(threads)
                .mergeInto("/out/results").runsTable(TableRef.table("ops.nightshift_runs"))
                .maxFailureRate(maxFailureRate);
    }

    private static String builderError(JobBuilder builder) {
        return assertThrows(JobSettingException.class, builder::build).getMessage();
    }

    private static String yamlError(String from, String to) {
        String yaml = YAML.replace(from, to);
        return assertThrows(JobConfigException.class, () -> JobConfigLoader.parse(yaml, "job.yaml")).getMessage();
    }

    private static int lineOf(String text) {
        List<String> lines = YAML.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(text)) {
                return i + 1;
            }
        }
        throw new AssertionError(text);
    }

    @Test
    void theBuilderMakesTheSameConfigAsTheYaml() {
        JobConfig yaml = JobConfigLoader.parse(YAML, "job.yaml");
        JobConfig built = builder(o -> o, List.of("a", "b"), 2, 0.05).build();
        assertEquals(yaml.source(), built.source());
        assertEquals(yaml.tasks(), built.tasks());
        assertEquals(yaml.model(), built.model());
        assertEquals(yaml.output(), built.output());
        assertEquals(yaml.run(), built.run());
        assertEquals(yaml.prices(), built.prices());
        assertEquals(64, built.hash().length());
        assertEquals(built.hash(), builder(o -> o, List.of("a", "b"), 2, 0.05).build().hash(), "stable hash");
    }

    @Test
    void aBadValueGivesTheSameErrorThroughTheBuilderAsThroughYaml() {
        String threads = builderError(builder(o -> o, List.of("a", "b"), 100000, 0.05));
        assertEquals("model.threads: must be between 0 and 1024 (0 = all cores of the executor), got 100000", threads);
        assertEquals("job.yaml line " + lineOf("threads: 2") + ": " + threads, yamlError("threads: 2", "threads: 100000"));

        String temperature = builderError(builder(o -> o.temperature(11), List.of("a", "b"), 2, 0.05));
        assertEquals("tasks[1].generation.temperature: must be between 0 and 10 (0 = greedy), got 11", temperature);
        assertEquals("job.yaml line " + lineOf("temperature: 0.7") + ": " + temperature,
                yamlError("temperature: 0.7", "temperature: 11"));

        String labels = builderError(builder(o -> o, List.of("a"), 2, 0.05));
        assertEquals("job.yaml line " + lineOf("labels: [a, b]") + ": " + labels, yamlError("labels: [a, b]", "labels: [a]"));

        String rate = builderError(builder(o -> o, List.of("a", "b"), 2, 2));
        assertEquals("job.yaml line " + lineOf("max_failure_rate") + ": " + rate,
                yamlError("max_failure_rate: 0.05", "max_failure_rate: 2"));

        String placeholder = builderError(builder(o -> o.prompt("{country} news: {text}"), List.of("a", "b"), 2, 0.05));
        assertEquals("job.yaml line " + lineOf("prompt:") + ": " + placeholder,
                yamlError("\"In {max_words} words, {region} news: {text}\"", "\"{country} news: {text}\""));

        String misplaced = builderError(builder(o -> o.labels(List.of("x", "y")), List.of("a", "b"), 2, 0.05));
        assertEquals("tasks[1].labels: labels applies to classify tasks, not summarize", misplaced);
    }

    @Test
    void budgetKeysAreCheckedTheSameWayThroughTheBuilderAndYaml() {
        String budget = "max_failure_rate: 0.05\n  max_cost_usd: 2.5\n  max_wall_minutes: 90\nprices: {executor_hour_usd: 0.5}";
        JobConfig yaml = JobConfigLoader.parse(YAML.replace("max_failure_rate: 0.05", budget), "job.yaml");
        JobConfig built = builder(o -> o, List.of("a", "b"), 2, 0.05).maxCostUsd(2.5).maxWallMinutes(90)
                .executorHourUsd(0.5).build();
        assertEquals(yaml.run(), built.run());
        assertEquals(2.5, built.run().maxCostUsd());
        assertEquals(90.0, built.run().maxWallMinutes());
        assertEquals(null, builder(o -> o, List.of("a", "b"), 2, 0.05).build().run().maxCostUsd(), "no budget by default");

        // negative and zero: the range, on the key's own line
        String negative = builderError(builder(o -> o, List.of("a", "b"), 2, 0.05).maxCostUsd(-1).executorHourUsd(0.5));
        assertEquals("run.max_cost_usd: must be greater than 0 and at most 1000000 (US dollars of this run's cost "
                + "here), got -1", negative);
        String withNegative = YAML.replace("max_failure_rate: 0.05", budget.replace("2.5", "-1"));
        JobConfigException e = assertThrows(JobConfigException.class, () -> JobConfigLoader.parse(withNegative, "job.yaml"));
        assertEquals("job.yaml line " + (lineOf("max_failure_rate") + 1) + ": " + negative, e.getMessage());
        String zero = builderError(builder(o -> o, List.of("a", "b"), 2, 0.05).maxWallMinutes(0));
        assertEquals("run.max_wall_minutes: must be greater than 0 and at most 525600 (minutes since the run started; "
                + "525600 = a year), got 0", zero);
        String notANumber = YAML.replace("max_failure_rate: 0.05", "max_failure_rate: 0.05\n  max_wall_minutes: soon");
        assertEquals("job.yaml line " + (lineOf("max_failure_rate") + 1) + ": run.max_wall_minutes: expected a number, "
                + "got 'soon'", assertThrows(JobConfigException.class,
                () -> JobConfigLoader.parse(notANumber, "job.yaml")).getMessage());
        // a cost budget with no executor price could never be reached
        String unpriced = builderError(builder(o -> o, List.of("a", "b"), 2, 0.05).maxCostUsd(5));
        assertTrue(unpriced.startsWith("run.max_cost_usd: a cost budget needs prices.executor_hour_usd above 0"), unpriced);
    }

    @Test
    void catalogResultsNeedAStagingFolderEitherWay() {
        String message = builderError(builder(o -> o, List.of("a", "b"), 2, 0.05).mergeInto(TableRef.table("db.results")));
        assertEquals("output.staging: results is a catalog table, so give output.staging: a folder for per-chunk "
                + "staging tables", message);
        assertEquals("job.yaml line " + lineOf("output:") + ": " + message,
                yamlError("results: {path: /out/results}", "results: {table: db.results}"));
    }

    private static final String EXTRACT_YAML = """
            job: invoices
            source: {path: /data/docs, format: parquet}
            tasks:
              - name: invoice
                type: extract
                fields:
                  - number
                  - {name: amount, type: number, required: true, description: total due}
                  - name: status
                    type: enum
                    values: [paid, unpaid]
                  - {name: vendor, type: object, fields: [name, {name: country, type: string}]}
            model: {path: /models/m}
            output:
              results: {path: /out/results}
              runs: {path: /out/runs}
            """;

    @Test
    void typedExtractFieldsFromYamlAndFromJavaAreTheSame() {
        JobConfig yaml = JobConfigLoader.parse(EXTRACT_YAML, "job.yaml");
        List<FieldSpec> fields = List.of(FieldSpec.named("number"),
                new FieldSpec("amount", FieldSpec.FieldType.NUMBER, "total due", true, List.of(), List.of()),
                new FieldSpec("status", FieldSpec.FieldType.ENUM, "", false, List.of("paid", "unpaid"), List.of()),
                new FieldSpec("vendor", FieldSpec.FieldType.OBJECT, "", false, List.of(), List.of(FieldSpec.named("name"),
                        new FieldSpec("country", FieldSpec.FieldType.STRING, "", false, List.of(), List.of()))));
        assertEquals(fields, yaml.tasks().get(0).fieldSpecs());
        JobConfig built = Nightshift.job("invoices").source(new TableRef(null, "/data/docs", "parquet", Map.of()), "id", "text")
                .task("invoice", TaskType.EXTRACT, o -> o.fieldSpecs(fields))
                .model("/models/m").mergeInto("/out/results").runsTable(TableRef.delta("/out/runs")).build();
        assertEquals(yaml.tasks(), built.tasks());
        // the task decodes under the fields' schema
        ExtractTask task = (ExtractTask) yaml.tasks().get(0).definition();
        assertEquals(FieldSpec.jsonSchema(fields), task.generation().jsonSchema());
    }

    @Test
    void aBadFieldSpecNamesItsLine() {
        String yaml = EXTRACT_YAML.replace("type: enum", "type: enumeration");
        String message = assertThrows(JobConfigException.class, () -> JobConfigLoader.parse(yaml, "job.yaml")).getMessage();
        assertTrue(message.startsWith("job.yaml line "), message);
        assertTrue(message.contains("field 'status' has type 'enumeration'; use one of any, string,"), message);
    }

    @Test
    void yamlYesAndNoAreWordsNotBooleans() {
        String yaml = EXTRACT_YAML.replace("required: true", "required: yes").replace("values: [paid, unpaid]", "values: [yes, no]");
        String message = assertThrows(JobConfigException.class, () -> JobConfigLoader.parse(yaml, "job.yaml")).getMessage();
        assertTrue(message.contains("field 'amount': required must be true or false, got yes"), message);
        JobConfig words = JobConfigLoader.parse(EXTRACT_YAML.replace("values: [paid, unpaid]", "values: [yes, no]"), "job.yaml");
        assertEquals(List.of("yes", "no"), words.tasks().get(0).fieldSpecs().get(2).values());
    }

    @Test
    void calibrationIsAClassifyOption() {
        JobConfig calibrated = JobConfigLoader.parse(YAML.replace("labels: [a, b]", "labels: [a, b]\n    calibrate: true"),
                "job.yaml");
        assertTrue(((dev.nightshift.task.ClassifyTask) calibrated.tasks().get(0).definition()).calibrated());
        assertEquals(calibrated.tasks().get(0), Nightshift.job("news")
                .source(new TableRef(null, "/data/docs", "parquet", Map.of()), "id", "body").columns("region")
                .classify("topic", List.of("a", "b"), o -> o.calibrate(true))
                .summarize("tldr", o -> o.maxWords(20).prompt("In {max_words} words, {region} news: {text}")
                        .maxNewTokens(40).temperature(0.7))
                .model("/models/m").threads(2).mergeInto("/out/results").runsTable(TableRef.table("ops.nightshift_runs"))
                .maxFailureRate(0.05).build().tasks().get(0));
        String wrong = yamlError("max_words: 20", "max_words: 20\n    calibrate: true");
        assertTrue(wrong.startsWith("job.yaml line "), wrong);
        assertTrue(wrong.contains("calibrate applies to classify tasks, not summarize"), wrong);
        assertTrue(yamlError("labels: [a, b]", "labels: [a, b]\n    calibrate: maybe").contains("use true or false, got 'maybe'"));
    }

    @Test
    void classifyOptionsFromYamlAndJavaAreOneTask() {
        String options = """
                labels:
                      - a
                      - {name: b, description: the other one}
                    examples: [{text: 'an example', label: b}]
                    multi_label: {threshold: 0.3, top_k: 2}
                    label_column: region""";
        JobConfig yaml = JobConfigLoader.parse(YAML.replace("labels: [a, b]", options), "job.yaml");
        JobConfig.Task topic = yaml.tasks().get(0);
        assertEquals(List.of("a", "b"), topic.labels());
        assertEquals(new dev.nightshift.task.ClassifyOptions(Map.of("b", "the other one"),
                List.of(new dev.nightshift.task.ClassifyOptions.Example("an example", "b")), 0.3, 2, "region", false),
                topic.classify());
        assertEquals(topic, Nightshift.job("news")
                .source(new TableRef(null, "/data/docs", "parquet", Map.of()), "id", "body").columns("region")
                .classify("topic", List.of("a", "b"), o -> o.describe("b", "the other one").example("an example", "b")
                        .multiLabel(0.3, 2).labelColumn("region"))
                .summarize("tldr", o -> o.maxWords(20).prompt("In {max_words} words, {region} news: {text}")
                        .maxNewTokens(40).temperature(0.7))
                .model("/models/m").threads(2).mergeInto("/out/results").runsTable(TableRef.table("ops.nightshift_runs"))
                .maxFailureRate(0.05).build().tasks().get(0));
        assertEquals(List.of("text"), List.copyOf(dev.nightshift.task.PromptTemplate.parse(topic.prompt()).placeholders())
                .subList(2, 3), "examples bring the default prompt that shows them: {labels}, {examples}, {text}");
    }

    @Test
    void classifyOptionErrorsNameTheKeyAndTheFix() {
        String notAColumn = yamlError("labels: [a, b]", "labels: [a, b]\n    label_column: allowed");
        assertTrue(notAColumn.contains("tasks[0].label_column") && notAColumn.contains("list it under source.columns"),
                notAColumn);
        String empty = yamlError("labels: [a, b]", "labels: [a, b]\n    multi_label: {}");
        assertTrue(empty.contains("give threshold (a probability) and/or top_k"), empty);
        String range = yamlError("labels: [a, b]", "labels: [a, b]\n    multi_label: {threshold: 2}");
        assertTrue(range.contains("threshold must be a probability in (0, 1], got 2.0"), range);
        String example = yamlError("labels: [a, b]", "labels: [a, b]\n    examples: [{text: x, label: c}]");
        assertTrue(example.contains("example label 'c' is not one of the labels [a, b]"), example);
        String elsewhere = yamlError("max_words: 20", "max_words: 20\n    examples: [{text: x, label: a}]");
        assertTrue(elsewhere.contains("examples applies to classify tasks, not summarize"), elsewhere);
        String typo = yamlError("labels: [a, b]", "labels: [a, b]\n    multi_label: {treshold: 0.3}");
        assertTrue(typo.contains("unknown key 'treshold'"), typo);
    }

    @Test
    void mapReduceOverflowIsForSummarizeTasksOnly() {
        JobConfig summarize = JobConfigLoader.parse(YAML.replace("temperature: 0.7", "temperature: 0.7\n      overflow: map_reduce"),
                "job.yaml");
        assertEquals(dev.nightshift.engine.OverflowPolicy.MAP_REDUCE,
                summarize.tasks().get(1).generation().overflow());
        String wrong = yamlError("labels: [a, b]", "labels: [a, b]\n    generation: {overflow: map_reduce}");
        assertTrue(wrong.startsWith("job.yaml line "), wrong);
        assertTrue(wrong.contains("tasks[0].generation.overflow: map_reduce applies to summarize tasks only; a classify "
                + "task takes error, truncate_head or truncate_middle"), wrong);
    }

    @Test
    void labelsAreWordsAsWrittenSoTheirHashDoesNotChange() {
        JobConfig yaml = JobConfigLoader.parse(YAML.replace("labels: [a, b]", "labels: [True, FALSE, yes]"), "job.yaml");
        assertEquals(List.of("True", "FALSE", "yes"), yaml.tasks().get(0).labels());
        assertEquals(new dev.nightshift.task.ClassifyTask(null, List.of("True", "FALSE", "yes"),
                        yaml.tasks().get(0).generation()).promptHash(false),
                yaml.tasks().get(0).definition().promptHash(false));
    }
}
