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
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Label descriptions, few-shot examples, multi-label and per-row label sets. */
class ClassifyOptionsTest {

    private static final List<String> LABELS = List.of("sports", "politics", "tech");
    private static final GenerationOptions GREEDY = GenerationOptions.greedy(1);

    private static ClassifyTask task(String prompt, ClassifyOptions options) {
        return new ClassifyTask(prompt, LABELS, GREEDY, options);
    }

    private static ClassifyOptions options(Map<String, String> descriptions, List<ClassifyOptions.Example> examples,
                                           Double threshold, Integer topK, String labelColumn) {
        return new ClassifyOptions(descriptions, examples, threshold, topK, labelColumn, false);
    }

    private static Prompt prompt(ClassifyTask task, String text, String rowLabels) {
        return task.prompt(task.template().renderParts(name -> name.equals("text") ? text
                : task.renderValue(name, rowLabels)), false);
    }

    private static LabelScores scores(double... p) {
        return new LabelScores(LABELS, p, 10, null, new int[]{2, 3, 4}, null);
    }

    @Test
    void descriptionsAndExamplesAreRenderedIntoThePrompt() {
        ClassifyTask task = task(null, options(Map.of("tech", "computers, software and science"),
                List.of(new ClassifyOptions.Example(" The striker scored twice. ", "sports"),
                        new ClassifyOptions.Example("Parliament voted.", "politics")), null, null, null));
        assertEquals("Classify the following text as one of: sports, politics, tech (computers, software and science)."
                + "\n\nText: The striker scored twice.\nAnswer: sports\n\nText: Parliament voted.\nAnswer: politics\n\n"
                + "Text: A new phone\nAnswer:", prompt(task, "A new phone", null).text());
        assertEquals(task.prompt(), ClassifyTask.DEFAULT_PROMPT_WITH_EXAMPLES, "examples bring their own default prompt");
    }

    @Test
    void examplesNeedTheirPlaceholderAndConfiguredLabels() {
        List<ClassifyOptions.Example> one = List.of(new ClassifyOptions.Example("x", "sports"));
        TaskOptionException noPlace = assertThrows(TaskOptionException.class,
                () -> task("Label {text} as {labels}:", options(Map.of(), one, null, null, null)));
        assertEquals("prompt", noPlace.key());
        assertTrue(noPlace.getMessage().contains("add {examples}"), noPlace.getMessage());
        TaskOptionException unknown = assertThrows(TaskOptionException.class, () -> task(null,
                options(Map.of(), List.of(new ClassifyOptions.Example("x", "weather")), null, null, null)));
        assertEquals(ClassifyOptions.EXAMPLES, unknown.key());
        assertTrue(unknown.getMessage().contains("'weather' is not one of the labels"), unknown.getMessage());
        assertEquals(ClassifyTask.LABELS, assertThrows(TaskOptionException.class,
                () -> task(null, options(Map.of("weather", "rain"), List.of(), null, null, null))).key());
        assertEquals(ClassifyOptions.MULTI_LABEL, assertThrows(TaskOptionException.class,
                () -> task(null, options(Map.of(), List.of(), 1.5, null, null))).key());
        assertEquals(ClassifyOptions.MULTI_LABEL, assertThrows(TaskOptionException.class,
                () -> task(null, options(Map.of(), List.of(), null, 4, null))).key());
        assertEquals(ClassifyOptions.EXAMPLES, assertThrows(TaskOptionException.class,
                () -> TaskType.SUMMARIZE.create(null, List.of(), List.of(), 10, options(Map.of(), one, null, null, null),
                        GREEDY)).key(), "classify options on another kind are refused by name");
    }

    @Test
    void multiLabelKeepsEveryLabelAboveTheThresholdUpToTopK() {
        ClassifyTask threshold = task(null, options(Map.of(), List.of(), 0.25, null, null));
        assertEquals(List.of("politics", "sports"), threshold.output(scores(0.3, 0.5, 0.2)).details().labels());
        assertEquals(List.of("tech"), threshold.output(scores(0.24, 0.24, 0.52)).details().labels(), "only tech passes");
        ClassifyTask both = task(null, options(Map.of(), List.of(), 0.1, 1, null));
        TaskOutput out = both.output(scores(0.3, 0.5, 0.2));
        assertEquals(List.of("politics"), out.details().labels());
        assertEquals("politics", out.label());
        ClassifyTask topTwo = task(null, options(Map.of(), List.of(), null, 2, null));
        assertEquals(List.of("sports", "tech"), topTwo.output(scores(0.4, 0.2, 0.4)).details().labels(),
                "ties keep the configured order");
        assertEquals(List.of(), task(null, options(Map.of(), List.of(), 0.6, null, null))
                .output(scores(0.3, 0.5, 0.2)).details().labels(), "no label passes: none, but label is still the best");
        assertEquals(List.of("politics"), task(null, ClassifyOptions.NONE).output(scores(0.3, 0.5, 0.2)).details().labels());
    }

    @Test
    void aLabelColumnGivesEachRowItsOwnLabels() {
        ClassifyTask task = task(null, new ClassifyOptions(Map.of("tech", "computers, phones"), List.of(), null, null, "allowed",
                false));
        assertEquals(Map.of("labels", "allowed"), task.placeholderColumns());
        // every form a column gives: Spark's text of an array, a JSON array, a comma list; shown in configured order
        assertEquals("politics, tech (computers, phones)", task.renderValue("labels", "[tech, politics]"));
        assertEquals("politics, tech (computers, phones)", task.renderValue("labels", "[\"tech\", \"politics\"]"));
        assertEquals("sports, tech (computers, phones)", task.renderValue("labels", " tech ,sports"));
        assertEquals("a document", task.renderValue("text", "a document"), "other placeholders pass through");
        for (String bad : new String[]{null, " ", "[]", "tech, weather"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> task.renderValue("labels", bad));
            assertEquals(ErrorCode.BAD_LABELS, ErrorCode.split(e.getMessage()).code(), e.getMessage());
            assertTrue(e.getMessage().contains("label_column allowed"), e.getMessage());
        }

        Prompt twoLabels = prompt(task, "a new phone", "tech, politics");
        Prompt allLabels = prompt(task, "the match", "sports, politics, tech");
        assertTrue(twoLabels.text().contains("as one of: politics, tech (computers, phones)."), twoLabels.text());
        // read back exactly, although the description holds a comma
        assertEquals(List.of("politics", "tech"), task.shownLabels("politics, tech (computers, phones)"));
        assertEquals(List.of("tech"), task.shownLabels("tech (computers, phones)"));
        assertThrows(IllegalArgumentException.class, () -> task.shownLabels("tech (computers"));
        FixedGenerator engine = FixedGenerator.scoring(Map.of(
                twoLabels.text(), scores(0.5, 0.3, 0.2),
                allLabels.text(), scores(0.5, 0.3, 0.2)));
        List<TaskOutput> out = task.run(engine, List.of(twoLabels, allLabels));
        // sports is the model's favourite but not allowed in the first row: politics and tech renormalised
        assertEquals("politics", out.get(0).label());
        assertEquals(0.6, out.get(0).score(), 1e-12);
        assertEquals(Map.of("politics", 0.6, "tech", 0.4).keySet(), out.get(0).details().scores().keySet());
        assertEquals(0.4, out.get(0).details().scores().get("tech"), 1e-12);
        assertEquals(3, out.get(0).outputTokens(), "the answer tokens of the chosen label");
        assertEquals("sports", out.get(1).label());
        assertEquals(0.5, out.get(1).score(), 1e-12);

        TaskOptionException noPlace = assertThrows(TaskOptionException.class, () -> task("Label: {text}",
                new ClassifyOptions(Map.of(), List.of(), null, null, "allowed", false)));
        assertTrue(noPlace.getMessage().contains("add {labels}"), noPlace.getMessage());
        assertEquals(ClassifyOptions.LABEL_COLUMN, assertThrows(TaskOptionException.class, () -> new ClassifyTask(null,
                List.of("a,b", "c"), GREEDY, new ClassifyOptions(Map.of(), List.of(), null, null, "allowed", false))).key());
    }

    @Test
    void optionsChangeThePromptHashOnlyWhenSet() {
        String plain = new ClassifyTask(null, LABELS, GREEDY).promptHash(false);
        assertEquals(plain, task(null, ClassifyOptions.NONE).promptHash(false), "a task without options keeps its hash");
        List<String> hashes = List.of(plain,
                task(null, options(Map.of("tech", "computers"), List.of(), null, null, null)).promptHash(false),
                task(null, options(Map.of(), List.of(), 0.3, null, null)).promptHash(false),
                task(null, options(Map.of(), List.of(), null, 2, null)).promptHash(false),
                task(null, options(Map.of(), List.of(), null, null, "allowed")).promptHash(false),
                task(null, options(Map.of(), List.of(new ClassifyOptions.Example("x", "tech")), null, null, null))
                        .promptHash(false));
        assertEquals(hashes.size(), hashes.stream().distinct().count(), hashes.toString());
        assertNotEquals(plain, task(null, ClassifyOptions.calibrated(true)).promptHash(false));
    }

    @Test
    void configShapesOfLabelsAndExamples() {
        List<Object> labels = List.of("sports", Map.of("name", "tech", "description", "computers"), true);
        assertEquals(List.of("sports", "tech", "true"), ClassifyOptions.labelNames(labels));
        assertEquals(Map.of("tech", "computers"), ClassifyOptions.labelDescriptions(labels));
        assertEquals(ClassifyTask.LABELS, assertThrows(TaskOptionException.class,
                () -> ClassifyOptions.labelNames(List.of(Map.of("name", "x", "colour", "red")))).key());
        assertEquals(List.of(new ClassifyOptions.Example("t", "tech")),
                ClassifyOptions.examples(List.of(Map.of("text", "t", "label", "tech"))));
        assertEquals(ClassifyOptions.EXAMPLES, assertThrows(TaskOptionException.class,
                () -> ClassifyOptions.examples(List.of("just text"))).key());
    }
}
