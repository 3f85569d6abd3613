package dev.nightshift.jobs.nightly;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
    void catalogResultsNeedAStagingFolderEitherWay() {
        String message = builderError(builder(o -> o, List.of("a", "b"), 2, 0.05).mergeInto(TableRef.table("db.results")));
        assertEquals("output.staging: results is a catalog table, so give output.staging: a folder for per-chunk "
                + "staging tables", message);
        assertEquals("job.yaml line " + lineOf("output:") + ": " + message,
                yamlError("results: {path: /out/results}", "results: {table: db.results}"));
    }
}
