package dev.nightshift.jobs.nightly;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Config errors name the file, the line, the setting and the fix; no Spark needed. */
class JobConfigLoaderTest {

    private static final String VALID = """
            job: news
            source:
              path: /data/docs
              format: parquet
              id: id
              text: body
              columns: [region]
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
                  seed: 7
            model:
              path: /models/m
            output:
              results: {path: /out/results}
              runs: {table: ops.nightshift_runs}
            prices:
              executor_hour_usd: 0.5
              apis:
                - {name: api, input_per_1m_usd: 1, output_per_1m_usd: 2}
            """;

    private static JobConfigException error(String yaml) {
        return assertThrows(JobConfigException.class, () -> JobConfigLoader.parse(yaml, "job.yaml"));
    }

    @Test
    void loadsAValidConfigWithDefaults() {
        JobConfig config = JobConfigLoader.parse(VALID, "job.yaml");
        assertEquals("news", config.name());
        assertEquals(TableRef.delta("/out/results"), config.output().results());
        assertEquals("/out/results_staging", config.output().staging());
        assertEquals("ops.nightshift_runs", config.output().runs().name());
        assertEquals(TaskType.CLASSIFY, config.task("topic").type());
        assertEquals(1, config.task("topic").generation().maxNewTokens(), "classify default");
        assertTrue(config.task("topic").prompt().contains("{labels}"), "classify gets the default prompt");
        assertEquals(0.7, config.task("tldr").generation().temperature());
        assertEquals(5000, config.run().chunkRows());
        assertEquals(0.05, config.run().maxFailureRate());
        assertEquals(64, config.hash().length());
        assertEquals("job.yaml line 15 (tasks[1].prompt)", config.locations().of("tasks[1].prompt"));
    }

    @Test
    void unknownKeysAreReportedWithTheirLineAndTheKnownKeys() {
        JobConfigException e = error(VALID.replace("temperature: 0.7", "temprature: 0.7"));
        assertTrue(e.getMessage().startsWith("job.yaml line 18: tasks[1].generation: unknown key 'temprature'; known keys: "),
                e.getMessage());
        assertTrue(e.getMessage().contains("temperature"), e.getMessage());
    }

    @Test
    void valuesAreCheckedWhereTheyAreWritten() {
        assertTrue(error(VALID.replace("max_new_tokens: 40", "max_new_tokens: forty")).getMessage()
                .startsWith("job.yaml line 17: tasks[1].generation.max_new_tokens: expected a whole number, got 'forty'"));
        assertTrue(error(VALID.replace("labels: [a, b]", "labels: [a]")).getMessage()
                .contains("classify needs at least two distinct"));
        assertTrue(error(VALID.replace("type: classify", "type: translate")).getMessage()
                .contains("unknown task type 'translate'; use one of summarize, classify, extract, generate"));
        assertTrue(error(VALID.replace("{region} news", "{country} news")).getMessage()
                .contains("unknown placeholder {country}"));
        assertTrue(error(VALID.replace("max_words: 20", "max_words: 20\n    labels: [x, y]")).getMessage()
                .contains("labels applies to classify tasks, not summarize"));
        assertTrue(error(VALID.replace("name: tldr", "name: topic")).getMessage().contains("two tasks are named 'topic'"));
        assertTrue(error(VALID.replace("format: parquet", "format: excel")).getMessage().contains("unknown format 'excel'"));
        assertTrue(error(VALID.replace("temperature: 0.7", "temperature: -1")).getMessage()
                .contains("temperature must be 0 (greedy) or positive"));
        assertTrue(error(VALID.replace("  path: /models/m\n", "  provider: cpu\n")).getMessage()
                .contains("model.path is required"));
        assertTrue(error("job: [unclosed").getMessage().startsWith("job.yaml line 1: not valid YAML"));
        assertTrue(error("").getMessage().contains("is empty"));
    }

    @Test
    void labelsThatAreTheSameAnswerOnceTrimmedAreRefused() {
        JobConfigException e = error(VALID.replace("labels: [a, b]", "labels: [Sports, World, \" Sports\"]"));
        assertTrue(e.getMessage().startsWith("job.yaml line 11: tasks[0].labels: labels 'Sports' and ' Sports' are the "
                + "same answer once white space is trimmed"), e.getMessage());
    }

    @Test
    void tableNamesMustBeIdentifiersSoNoSqlCanBeInjected() {
        JobConfigException e = error(VALID.replace("ops.nightshift_runs", "\"runs; DROP TABLE x\""));
        assertTrue(e.getMessage().contains("is not [catalog.][db.]table"), e.getMessage());
        JobConfig quoted = JobConfigLoader.parse(VALID.replace("ops.nightshift_runs", "\"ops.`odd name`\""), "job.yaml");
        assertEquals("ops.`odd name`", quoted.output().runs().name());
    }

    @Test
    void relativePathsAreResolvedAgainstTheWorkingDirectoryAndUrisAreKept() {
        JobConfig config = JobConfigLoader.parse(VALID.replace("/data/docs", "data/docs")
                .replace("/out/results}", "s3a://bucket/results}"), "job.yaml");
        assertEquals(Path.of("data/docs").toAbsolutePath().toString(), config.source().table().path());
        assertEquals("s3a://bucket/results", config.output().results().path());
    }

    @Test
    void theShippedExampleConfigLoads() throws Exception {
        JobConfig config = JobConfigLoader.load(Path.of("../conf/nightly-example.yaml"));
        assertEquals(List.of("topic", "summary", "companies"), config.tasks().stream().map(JobConfig.Task::name).toList());
        assertEquals(List.of("company", "amount", "currency"), config.task("companies").fields());
        assertEquals(2, config.prices().apis().size());
    }
}
