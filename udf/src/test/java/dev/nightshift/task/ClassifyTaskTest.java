package dev.nightshift.task;

import dev.nightshift.engine.ErrorCode;
import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.LabelScores;
import dev.nightshift.engine.Prompt;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClassifyTaskTest {

    private static final List<String> LABELS = List.of("sports", "politics", "tech");

    private static ClassifyTask task() {
        return new ClassifyTask(null, LABELS, GenerationOptions.greedy(ClassifyTask.DEFAULT_MAX_NEW_TOKENS));
    }

    private static Prompt prompt(ClassifyTask task, String text) {
        return task.prompt(task.template().renderParts(name -> name.equals("text") ? text : null), false);
    }

    @Test
    void defaultsAndConstants() {
        ClassifyTask task = task();
        assertEquals(TaskType.CLASSIFY, task.type());
        assertEquals(1, TaskType.CLASSIFY.defaultMaxNewTokens());
        assertEquals("Classify the following text as one of: sports, politics, tech.\n\n", task.template().sharedPrefix());
        assertEquals(Map.of("labels", "sports, politics, tech"), task.constants());
        assertEquals(List.of("labels"), TaskType.CLASSIFY.optionKeys());
        assertEquals(TaskType.CLASSIFY, TaskType.owning("labels"));
    }

    @Test
    void picksTheEnginesBestLabelWithItsScoreAndAnswerTokens() {
        ClassifyTask task = task();
        Prompt goal = prompt(task, "a late goal");
        Prompt vote = prompt(task, "the vote");
        FixedGenerator engine = FixedGenerator.scoring(Map.of(
                goal.text(), new LabelScores(LABELS, new double[]{0.7, 0.2, 0.1}, 21, null, new int[]{2, 3, 4}, null),
                vote.text(), new LabelScores(LABELS, new double[]{0.1, 0.6, 0.3}, 19, null, new int[]{2, 3, 4},
                        "prompt truncated from 30 to 19 tokens")));
        List<TaskOutput> out = task.run(engine, List.of(goal, vote));
        assertEquals(List.of("classify"), engine.calls);
        assertEquals(LABELS, engine.labelsAsked);
        assertEquals(new TaskOutput("sports", "sports", 0.7, null, 21, 2, "stop", null, null, 0,
                TaskOutput.Details.classify(Map.of("sports", 0.7, "politics", 0.2, "tech", 0.1), List.of("sports"))),
                out.get(0));
        assertEquals(List.of("sports", "politics", "tech"), List.copyOf(out.get(0).details().scores().keySet()),
                "every label's probability, in the configured order");
        assertEquals("politics", out.get(1).label());
        assertEquals(0.6, out.get(1).score());
        assertEquals(3, out.get(1).outputTokens());
        assertEquals("prompt truncated from 30 to 19 tokens", out.get(1).warning());
        assertFalse(out.get(1).failed());
    }

    @Test
    void engineErrorsPassThroughWithTheirCodes() {
        ClassifyTask task = task();
        Prompt long_ = prompt(task, "very long");
        String error = ErrorCode.CONTEXT_OVERFLOW.message("prompt has 900 tokens; the context holds 512");
        FixedGenerator engine = FixedGenerator.scoring(Map.of(long_.text(),
                new LabelScores(LABELS, new double[0], 900, error)));
        TaskOutput out = task.run(engine, List.of(long_)).get(0);
        assertTrue(out.failed());
        assertEquals(error, out.error());
        assertEquals(ErrorCode.CONTEXT_OVERFLOW, ErrorCode.split(out.error()).code());
        assertEquals(900, out.promptTokens());
        assertEquals(0, out.outputTokens());
        assertEquals("error", out.finishReason());
        assertNull(out.label());
        assertNull(out.score());
    }

    @Test
    void labelsMustBeTwoDistinctNonBlankAnswers() {
        GenerationOptions greedy = GenerationOptions.greedy(1);
        TaskOptionException one = assertThrows(TaskOptionException.class,
                () -> new ClassifyTask(null, List.of("a"), greedy));
        assertEquals("labels", one.key());
        assertEquals("classify needs at least two distinct, non-empty labels, got [a]", one.getMessage());
        assertThrows(TaskOptionException.class, () -> new ClassifyTask(null, List.of("a", "a"), greedy));
        assertThrows(TaskOptionException.class, () -> new ClassifyTask(null, List.of("a", " "), greedy));
        TaskOptionException trimmed = assertThrows(TaskOptionException.class,
                () -> new ClassifyTask(null, List.of("Sports", " Sports"), greedy));
        assertEquals("labels 'Sports' and ' Sports' are the same answer once white space is trimmed; remove one of them",
                trimmed.getMessage());
        assertEquals("labels", assertThrows(TaskOptionException.class,
                () -> TaskType.CLASSIFY.checkOptions(List.of("a", "a"), List.of(), 0)).key());
        TaskOptionException prompt = assertThrows(TaskOptionException.class,
                () -> new ClassifyTask("x {text", List.of("a", "b"), greedy));
        assertEquals("prompt", prompt.key());
    }

    @Test
    void calibrationDividesOutTheContentFreePrior() {
        ClassifyTask task = new ClassifyTask(null, LABELS, GenerationOptions.greedy(1), true);
        Prompt contentFree = prompt(task, "N/A");
        Prompt match = prompt(task, "the match");
        Prompt vote = prompt(task, "the vote");
        // this prompt leans to "sports" whatever the text: 0.6 of the mass on N/A
        FixedGenerator engine = FixedGenerator.scoring(Map.of(
                contentFree.text(), new LabelScores(LABELS, new double[]{0.6, 0.2, 0.2}, 10, null),
                match.text(), new LabelScores(LABELS, new double[]{0.5, 0.3, 0.2}, 12, null),
                vote.text(), new LabelScores(LABELS, new double[]{0.7, 0.1, 0.2}, 12, null)));
        List<TaskOutput> out = task.run(engine, List.of(match, vote));
        // match: (0.5/0.6, 0.3/0.2, 0.2/0.2) = (0.833, 1.5, 1.0) / 3.333 -> politics 0.45
        assertEquals("politics", out.get(0).label());
        assertEquals(0.45, out.get(0).score(), 1e-9);
        // vote: (1.167, 0.5, 1.0) / 2.667 -> sports 0.4375
        assertEquals("sports", out.get(1).label());
        assertEquals(0.4375, out.get(1).score(), 1e-9);
        // the prior is measured once per task: one content-free call besides the rows' call
        assertEquals(List.of("classify", "classify"), engine.calls);
        task.run(engine, List.of(match));
        assertEquals(3, engine.calls.size());
        // off by default, and only a calibrated task changes its prompt hash
        assertEquals(task().promptHash(false), new ClassifyTask(null, LABELS, GenerationOptions.greedy(1), false).promptHash(false));
        assertNotEquals(task().promptHash(false), task.promptHash(false));
        // an uncalibrated task keeps the raw probabilities
        assertEquals("sports", task().run(engine, List.of(match)).get(0).label());
    }
}
