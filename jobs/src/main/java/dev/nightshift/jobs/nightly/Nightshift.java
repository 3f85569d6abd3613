package dev.nightshift.jobs.nightly;

/**
 * The Java entry point for notebooks, workflows and tests: a nightly job built in code, without a YAML file.
 *
 * <pre>{@code
 * RunSummary run = Nightshift.job("nightly-tickets")
 *         .source(TableRef.table("support.tickets"), "id", "body")
 *         .summarize("summary", o -> o.maxWords(40))
 *         .classify("label", List.of("billing", "refund", "other"))
 *         .model("/mnt/models/qwen-int4").threads(2)
 *         .mergeInto(TableRef.table("support.ticket_results")).staging("/mnt/staging/tickets")
 *         .runsTable(TableRef.table("ops.nightshift_runs"))
 *         .run(spark);
 * }</pre>
 *
 * {@link JobConfigLoader} fills the same builder from a YAML file, so both are checked by the same code.
 */
public final class Nightshift {

    private Nightshift() {
    }

    /** A new job named {@code name} (recorded in the runs table; one live run per results table). */
    public static JobBuilder job(String name) {
        return new JobBuilder(name);
    }
}
