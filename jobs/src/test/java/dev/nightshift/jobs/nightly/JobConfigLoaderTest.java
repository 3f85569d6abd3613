package dev.nightshift.jobs.nightly;

import dev.nightshift.task.TaskType;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
                .startsWith("job.yaml line 18: tasks[1].generation.temperature: must be between 0 and 10 (0 = greedy), got -1"));
        assertTrue(error(VALID.replace("  path: /models/m\n", "  provider: cpu\n")).getMessage()
                .contains("model.path is required"));
        assertTrue(error("job: [unclosed").getMessage().startsWith("job.yaml line 1: not valid YAML"));
        assertTrue(error("").getMessage().contains("is empty"));
    }

    /** Every numeric setting, each on its own line, with a value just outside its range. */
    private static final String ALL_NUMBERS = """
            source: {path: /data/docs}
            tasks:
              - name: tldr
                type: summarize
                max_words: 20
                generation:
                  max_new_tokens: 40
                  temperature: 0.7
                  top_k: 40
                  top_p: 0.9
                  repetition_penalty: 1.1
            model:
              path: /models/m
              threads: 2
              batch_budget_mb: 512
              max_batch_rows: 16
            output:
              results: {path: /out/results}
              runs: {path: /out/runs}
            run:
              chunk_rows: 5000
              partitions: 4
              max_failure_rate: 0.05
            prices:
              executor_hour_usd: 0.5
              apis:
                - name: api
                  input_per_1m_usd: 1
                  output_per_1m_usd: 2
            """;

    @Test
    void everyNumericSettingHasARangeReportedOnItsOwnLine() {
        JobConfigLoader.parse(ALL_NUMBERS, "job.yaml");
        Map<String, String> outside = new LinkedHashMap<>();
        outside.put("max_words: 20", "max_words: -1");
        outside.put("max_new_tokens: 40", "max_new_tokens: 0");
        outside.put("temperature: 0.7", "temperature: 11");
        outside.put("top_k: 40", "top_k: -1");
        outside.put("top_p: 0.9", "top_p: 0");
        outside.put("repetition_penalty: 1.1", "repetition_penalty: 0");
        outside.put("threads: 2", "threads: 100000");
        outside.put("batch_budget_mb: 512", "batch_budget_mb: 0");
        outside.put("max_batch_rows: 16", "max_batch_rows: 5000");
        outside.put("chunk_rows: 5000", "chunk_rows: 10000001");
        outside.put("partitions: 4", "partitions: -1");
        outside.put("max_failure_rate: 0.05", "max_failure_rate: 2");
        outside.put("executor_hour_usd: 0.5", "executor_hour_usd: -0.5");
        outside.put("input_per_1m_usd: 1", "input_per_1m_usd: -1");
        outside.put("output_per_1m_usd: 2", "output_per_1m_usd: 1e9");
        List<String> lines = ALL_NUMBERS.lines().toList();
        for (Map.Entry<String, String> edit : outside.entrySet()) {
            int line = 1 + java.util.stream.IntStream.range(0, lines.size())
                    .filter(i -> lines.get(i).trim().equals(edit.getKey())).findFirst().orElseThrow();
            String key = edit.getKey().substring(0, edit.getKey().indexOf(':'));
            String message = error(ALL_NUMBERS.replace(edit.getKey(), edit.getValue())).getMessage();
            assertTrue(message.startsWith("job.yaml line " + line + ": "), edit.getValue() + " -> " + message);
            assertTrue(message.contains(key + ": must be "), message);
            assertTrue(message.endsWith("got " + edit.getValue().substring(key.length() + 2)), message);
        }
    }

    @Test
    void aFailureRateAboveOneIsReportedOnItsOwnLineNotTheSectionsFirst() {
        String message = error(VALID + "run:\n  chunk_rows: 100\n  max_failure_rate: 2\n").getMessage();
        assertEquals("job.yaml line 31: run.max_failure_rate: must be between 0 and 1 (a fraction of the processed rows: "
                + "0.05 = 5%), got 2", message);
    }

    @Test
    void threadsFarBeyondAnyMachineStopAtLoadWithTheAllowedRange() {
        String message = error(VALID.replace("path: /models/m", "path: /models/m\n  threads: 100000")).getMessage();
        assertEquals("job.yaml line 22: model.threads: must be between 0 and 1024 (0 = all cores of the executor), "
                + "got 100000", message);
    }

    @Test
    void theKvCacheIsHostUnlessDeviceIsAskedForAndAnythingElseIsRefusedOnItsLine() {
        assertEquals("host", JobConfigLoader.parse(VALID, "job.yaml").model().settings().engineOptions().kvCache());
        JobConfig device = JobConfigLoader.parse(VALID.replace("path: /models/m", "path: /models/m\n  kv_cache: device"),
                "job.yaml");
        assertEquals("device", device.model().settings().engineOptions().kvCache());
        String message = error(VALID.replace("path: /models/m", "path: /models/m\n  kv_cache: gpu")).getMessage();
        assertEquals("job.yaml line 22: model.kv_cache: use host or device, got 'gpu'", message);
    }

    @Test
    void requireGpuReachesTheEngineForCudaModelsOnly() {
        assertEquals(false, JobConfigLoader.parse(VALID, "job.yaml").model().settings().engineOptions().requireGpu());
        JobConfig cuda = JobConfigLoader.parse(VALID.replace("path: /models/m",
                "path: /models/m\n  provider: cuda\n  require_gpu: true"), "job.yaml");
        assertEquals(true, cuda.model().settings().engineOptions().requireGpu());
        assertEquals("job.yaml line 23: model.require_gpu: use true or false, got 'yes please'", error(VALID.replace(
                "path: /models/m", "path: /models/m\n  provider: cuda\n  require_gpu: yes please")).getMessage());
        assertEquals("job.yaml line 22: model.require_gpu: applies to provider cuda; set model.provider: cuda or remove "
                + "require_gpu", error(VALID.replace("path: /models/m", "path: /models/m\n  require_gpu: true")).getMessage());
    }

    @Test
    void sectionWideErrorsPointAtTheSectionsOwnLine() {
        String message = error(VALID.replace("  path: /models/m\n", "  provider: cpu\n")).getMessage();
        assertEquals("job.yaml line 20: model.path is required", message);
    }

    @Test
    void badRowsErrorRowsIsForCsvSourcesOnly() {
        String message = error(VALID.replace("format: parquet", "format: parquet\n  bad_rows: error_rows")).getMessage();
        assertTrue(message.startsWith("job.yaml line 5: source.bad_rows: error_rows applies to csv sources"), message);
        JobConfig csv = JobConfigLoader.parse(VALID.replace("format: parquet", "format: csv\n  bad_rows: error_rows"),
                "job.yaml");
        assertEquals(JobConfig.BadRows.ERROR_ROWS, csv.source().badRows());
        assertEquals(JobConfig.BadRows.ERROR, JobConfigLoader.parse(VALID, "job.yaml").source().badRows());
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
        assertEquals(5.0, config.run().maxCostUsd());
        assertEquals(360.0, config.run().maxWallMinutes());
    }
}
