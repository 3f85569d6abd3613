package dev.nightshift.task;

import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.OverflowPolicy;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * prompt_hash is the key of incremental runs: results tables hold it. These values were computed with the code before
 * the task layer existed (jobs' TaskSpec.of and GenerationSettings.canonical); they must never change.
 */
class PromptHashTest {

    @Test
    void classifyWithDefaults() {
        Task task = TaskType.CLASSIFY.create(TaskType.CLASSIFY.defaultPrompt(), List.of("sports", "politics"),
                List.of(), 0, GenerationOptions.greedy(1));
        assertEquals("d4bd3621424febb91ae7335abf9544b0f27beb814a3c938d6baac646fcfa8063", task.promptHash(false));
    }

    @Test
    void summarizeWithEverySetting() {
        Task task = TaskType.SUMMARIZE.create(null, List.of(), List.of(), 40,
                new GenerationOptions(64, 0.7, 40, 0.9, 1.1, 7, List.of("\n\n"), OverflowPolicy.TRUNCATE_MIDDLE));
        assertEquals("fd65b23af4685fe87f6daff9d98dbc186de620e753f597107736e4dbd3c2fc16", task.promptHash(true));
    }

    @Test
    void extractWithDefaults() {
        Task task = TaskType.EXTRACT.create(null, List.of(), FieldSpec.parse(List.of("company", "amount")), 0,
                GenerationOptions.greedy(128));
        assertEquals("e13f5ed60243e540d108af00c9c9e242a24089a486d5151265a8ac68941e1322", task.promptHash(false));
    }
}
