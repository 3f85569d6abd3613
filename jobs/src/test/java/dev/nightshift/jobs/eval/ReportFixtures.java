package dev.nightshift.jobs.eval;

import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.jobs.nightly.JobConfig;
import dev.nightshift.task.TaskType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A classify evaluation built without Spark: gold, Nightshift's predictions and one priced candidate. */
final class ReportFixtures {

    static final List<String> LABELS = List.of("World", "Sports", "Business", "Sci/Tech");

    private ReportFixtures() {
    }

    static JobConfig.Task classify() {
        return new JobConfig.Task("topic", TaskType.CLASSIFY, TaskType.CLASSIFY.defaultPrompt(), "auto", LABELS, List.of(),
                0, dev.nightshift.task.ClassifyOptions.NONE, GenerationOptions.greedy(1));
    }

    static EvalReport report(List<QualityGates.Outcome> gates) {
        List<String> ids = new ArrayList<>();
        Map<String, Object> gold = new LinkedHashMap<>();
        Map<String, Prediction> ours = new LinkedHashMap<>();
        Map<String, Prediction> hosted = new LinkedHashMap<>();
        for (int i = 0; i < 40; i++) {
            String id = "doc-" + i;
            String label = LABELS.get(i % 4);
            ids.add(id);
            gold.put(id, label);
            String mine = i % 3 == 0 ? LABELS.get((i + 1) % 4) : label;
            ours.put(id, new Prediction(id, mine, mine, List.of(), 0.4 + (i % 6) / 10.0, null, 120, 2, 200L + i, null));
            if (i % 10 != 9) {
                String theirs = i % 7 == 0 ? LABELS.get((i + 2) % 4) : label;
                hosted.put(id, new Prediction(id, theirs, theirs, List.of(), 0.95, null, 150, 3, 600L, null));
            }
        }
        Evaluation evaluation = new Evaluation(classify(), new GoldValues("label", ids, gold),
                List.of(new JobConfig.ApiPrice("hosted", 0.15, 0.60)), 10);
        CandidateResult own = evaluation.own(ours, new Evaluation.OwnRun(20, 0.002));
        CandidateResult candidate = evaluation.candidate("hosted", hosted, ours);
        return new EvalReport("eval-test", "news", "topic", evaluation.kind(), "label", ids.size(), List.of(own, candidate),
                gates, List.of("hosted has no answer for 4 of the 40 sampled documents; they count as errors"));
    }
}
