package dev.nightshift.jobs.eval;

import java.util.List;

/** The console's summary of an evaluation: a Markdown table of the headline figures per candidate, then the gates. */
public final class MarkdownSummary {

    private static final List<String> OPERATIONS = List.of("error_rate", "tokens_in", "tokens_out", "latency_p50_ms",
            "latency_p95_ms", "rows_per_second", "cost_per_1k_rows_usd");

    private MarkdownSummary() {
    }

    public static String of(EvalReport report) {
        StringBuilder md = new StringBuilder();
        md.append("## Eval of task `").append(report.task()).append("` (").append(report.kind()).append(", ")
                .append(report.sampled()).append(" documents, gold `").append(report.goldColumn()).append("`)\n\n");
        CandidateResult own = report.candidates().get(0);
        List<String> quality = own.metrics().stream().map(Metric::name)
                .filter(n -> !n.contains("[") && !OPERATIONS.contains(n) && !List.of("rows", "errors", "missing").contains(n))
                .toList();
        md.append("| metric |");
        report.candidates().forEach(c -> md.append(' ').append(c.name()).append(" |"));
        md.append("\n| --- |");
        report.candidates().forEach(c -> md.append(" ---: |"));
        md.append('\n');
        for (String name : concat(quality, OPERATIONS)) {
            md.append("| ").append(name).append(" |");
            for (CandidateResult c : report.candidates()) {
                md.append(' ').append(HtmlReport.format(c.metric(name))).append(" |");
            }
            md.append('\n');
        }
        for (String note : report.notes()) {
            md.append("\nNote: ").append(note).append('\n');
        }
        if (!report.gates().isEmpty()) {
            md.append("\nGates:\n");
            for (QualityGates.Outcome gate : report.gates()) {
                md.append("- ").append(gate.gate()).append(": ").append(gate.describe()).append('\n');
            }
        }
        return md.toString();
    }

    private static List<String> concat(List<String> a, List<String> b) {
        return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
    }
}
