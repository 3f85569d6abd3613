package dev.nightshift.jobs.eval;

import java.util.List;

/**
 * A finished evaluation: what the tables, the HTML report and the console summary are made from.
 *
 * @param candidates Nightshift's own result first, then the recorded candidates in command-line order
 * @param gates      the quality gates' outcomes (Nightshift's candidate only)
 * @param notes      things the reader must know (e.g. documents missing from a candidate file)
 */
public record EvalReport(String evalId, String job, String task, String kind, String goldColumn, int sampled,
                         List<CandidateResult> candidates, List<QualityGates.Outcome> gates, List<String> notes) {

    public EvalReport {
        candidates = List.copyOf(candidates);
        gates = List.copyOf(gates);
        notes = List.copyOf(notes);
    }

    public boolean gatesPassed() {
        return gates.stream().allMatch(QualityGates.Outcome::passed);
    }
}
