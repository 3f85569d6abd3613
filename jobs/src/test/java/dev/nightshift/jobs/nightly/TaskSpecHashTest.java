package dev.nightshift.jobs.nightly;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * prompt_hash from a YAML config through the loader and the task layer: the values were computed before the task
 * layer existed and must never change (results tables key incremental runs on them).
 */
class TaskSpecHashTest {

    private static final String YAML = """
            source: {path: /data/docs, format: parquet}
            tasks:
              - name: topic
                type: classify
                labels: [sports, politics]
              - name: tldr
                type: summarize
                max_words: 40
                generation: {max_new_tokens: 64, temperature: 0.7, top_k: 40, top_p: 0.9, repetition_penalty: 1.1,
                             seed: 7, stop: ["\\n\\n"], overflow: truncate_middle}
              - name: invoice
                type: extract
                fields: [company, amount]
            model: {path: /models/m}
            output:
              results: {path: /out/results}
              runs: {path: /out/runs}
            """;

    @Test
    void promptHashesAreThoseOfEarlierReleases() {
        JobConfig config = JobConfigLoader.parse(YAML, "job.yaml");
        assertEquals("d4bd3621424febb91ae7335abf9544b0f27beb814a3c938d6baac646fcfa8063",
                TaskSpec.of(config.task("topic"), false).promptHash());
        assertEquals("fd65b23af4685fe87f6daff9d98dbc186de620e753f597107736e4dbd3c2fc16",
                TaskSpec.of(config.task("tldr"), true).promptHash());
        assertEquals("e13f5ed60243e540d108af00c9c9e242a24089a486d5151265a8ac68941e1322",
                TaskSpec.of(config.task("invoice"), false).promptHash());
    }
}
