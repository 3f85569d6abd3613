package dev.nightshift.jobs.nightly;

import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A job built with the fluent API and the same job loaded from YAML, both on a tiny random-weight model with the
 * real engine: the same config, the same result rows and outputs, the same counts.
 */
class FluentJobTest extends SparkJobTest {

    static Path model;

    @BeforeAll
    static void convertModel() throws IOException {
        // 64 wide, 2 layers, vocabulary 512 (the converter adds a synthetic tokenizer), 1024 context.
        LlamaConfig config = new LlamaConfig(64, 172, 2, 8, 4, 8, 512, 1024, 1e-5f, 10000, null, false, false, 1,
                new int[]{2});
        model = warehouse.resolve("model-int4");
        ModelConverter.convert(new RandomWeights(config, 7), model, ConversionOptions.of(Precision.INT4), null,
                ConversionListener.NONE);
    }

    private static final String COMPARED = "doc_id, task, output, label, score, fields, prompt_tokens, output_tokens, "
            + "finish_reason, error, error_code, model_id, model_fingerprint, prompt_hash, input_hash, attempts";

    private List<Row> results(Path table) {
        return spark.read().format("delta").load(table.toString()).selectExpr(COMPARED.split(", "))
                .orderBy("doc_id", "task").collectAsList();
    }

    @Test
    void aJobBuiltInJavaGivesTheSameResultsAsTheSameJobFromYaml() {
        JobFiles files = new JobFiles(dir).documents(12, Map.of());
        String yaml = """
                job: fluent
                source: {path: '%s', format: json, id: id, text: text, title: title, columns: [region]}
                tasks:
                  - name: topic
                    type: classify
                    labels: [World, Sports, Business, Sci/Tech]
                    prompt: "Topic of this {region} news? {labels}\\n{title}: {text}\\nAnswer:"
                  - name: tldr
                    type: summarize
                    max_words: 6
                    generation: {max_new_tokens: 8}
                model: {path: '%s', threads: 1, max_batch_rows: 4}
                output:
                  results: {path: '%s'}
                  runs: {path: '%s'}
                run: {chunk_rows: 10, max_failure_rate: 0.5}
                prices:
                  executor_hour_usd: 0.2
                  apis: [{name: hosted, input_per_1m_usd: 0.15, output_per_1m_usd: 0.6}]
                """.formatted(files.docs, model, dir.resolve("yaml-results"), dir.resolve("yaml-runs"));
        JobConfig fromYaml = JobConfigLoader.parse(yaml, "fluent.yaml");

        JobBuilder fluent = Nightshift.job("fluent")
                .source(new TableRef(null, files.docs.toString(), "json", Map.of()), "id", "text")
                .title("title").columns("region")
                .classify("topic", List.of("World", "Sports", "Business", "Sci/Tech"),
                        o -> o.prompt("Topic of this {region} news? {labels}\n{title}: {text}\nAnswer:"))
                .summarize("tldr", o -> o.maxWords(6).maxNewTokens(8))
                .model(model.toString()).threads(1).maxBatchRows(4)
                .mergeInto(dir.resolve("fluent-results").toString()).runsTable(dir.resolve("fluent-runs").toString())
                .chunkRows(10).maxFailureRate(0.5)
                .executorHourUsd(0.2).apiPrice("hosted", 0.15, 0.6);
        JobConfig built = fluent.build();

        // The same job apart from where it writes and what identifies its source text (file hash, lines).
        assertEquals(fromYaml.name(), built.name());
        assertEquals(fromYaml.source(), built.source());
        assertEquals(fromYaml.tasks(), built.tasks());
        assertEquals(fromYaml.model(), built.model());
        assertEquals(fromYaml.run(), built.run());
        assertEquals(fromYaml.prices(), built.prices());

        RunSummary yamlRun = NightlyJob.of(spark, fromYaml).run();
        RunSummary fluentRun = fluent.run(spark);

        assertEquals(RunSummary.SUCCEEDED, fluentRun.status());
        assertEquals(24, fluentRun.rowsProcessed());
        assertEquals(List.of(yamlRun.rowsProcessed(), yamlRun.rowsFailed(), yamlRun.chunks(), yamlRun.tokensIn(),
                        yamlRun.tokensOut(), yamlRun.modelFingerprint()),
                List.of(fluentRun.rowsProcessed(), fluentRun.rowsFailed(), fluentRun.chunks(), fluentRun.tokensIn(),
                        fluentRun.tokensOut(), fluentRun.modelFingerprint()));
        List<Row> fromYamlRows = results(dir.resolve("yaml-results"));
        List<Row> fromFluentRows = results(dir.resolve("fluent-results"));
        assertEquals(24, fromFluentRows.size());
        assertEquals(fromYamlRows.toString(), fromFluentRows.toString());
        assertTrue(fromFluentRows.stream().anyMatch(r -> r.getAs("label") != null)
                && fromFluentRows.stream().anyMatch(r -> r.getAs("output") != null), fromFluentRows.toString());
    }
}
