package dev.nightshift.jobs.cli;

import dev.nightshift.jobs.nightly.DryRunReport;
import dev.nightshift.jobs.nightly.EngineCalibration;
import dev.nightshift.jobs.nightly.JobListener;
import dev.nightshift.jobs.nightly.RunSummary;
import dev.nightshift.jobs.nightly.SparkSessions;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** What the Spark commands share: the session, progress lines, the run summary and result tables as text. */
final class JobConsole {

    private JobConsole() {
    }

    /** The Spark session, with the command line's quiet logging unless logging is configured already. */
    static SparkSession session(String master, Path warehouse) {
        if (System.getProperty("log4j2.configurationFile") == null && System.getProperty("log4j.configurationFile") == null) {
            System.setProperty("log4j2.configurationFile", "nightshift-log4j2.properties");
        }
        return SparkSessions.getOrCreate(master, warehouse);
    }

    /** Whether stderr is a terminal that can redraw a line; logs and pipes get plain lines instead of {@code \r}. */
    static boolean interactive() {
        return System.console() != null;
    }

    /** {@link #progress(PrintWriter, boolean)} for this process's stderr. */
    static JobListener progress(PrintWriter err) {
        return progress(err, interactive());
    }

    /**
     * Prints one line per stage and the progress (rows done/total, tokens/s, ETA) on stderr: redrawn in place on a
     * terminal, else as plain lines at most every {@link #PLAIN_INTERVAL_NANOS} so a log gets no {@code \r} and no flood.
     */
    static JobListener progress(PrintWriter err, boolean terminal) {
        return new JobListener() {
            private boolean drawn;
            private long lastPlain = Long.MIN_VALUE;

            @Override
            public void stage(String name, String detail) {
                endLine();
                err.printf("[%s] %s%n", name, detail);
                err.flush();
            }

            @Override
            public synchronized void progress(long done, long total, double tokensPerSecond, double etaSeconds) {
                if (total == 0) {
                    return;
                }
                String line = String.format(Locale.ROOT, "  %,d/%,d rows (%.0f%%)%s%s", done, total, 100.0 * done / total,
                        Double.isNaN(tokensPerSecond) ? "" : String.format(Locale.ROOT, ", %,.0f tokens/s", tokensPerSecond),
                        Double.isNaN(etaSeconds) ? "" : ", ETA " + duration(etaSeconds));
                if (terminal) {
                    err.print("\r" + line + "   ");
                    drawn = true;
                } else {
                    long now = System.nanoTime();
                    if (done < total && lastPlain != Long.MIN_VALUE && now - lastPlain < PLAIN_INTERVAL_NANOS) {
                        return;
                    }
                    lastPlain = now;
                    err.println(line);
                }
                err.flush();
            }

            @Override
            public synchronized void warning(String message) {
                endLine();
                err.println("warning: " + message);
                err.flush();
            }

            @Override
            public synchronized void chunkTimes(int index, double inferAndStageSeconds, double mergeSeconds) {
                endLine();
                err.printf(Locale.ROOT, "  chunk %d: inferred and staged in %.1f s, merged in %.1f s%n", index,
                        inferAndStageSeconds, mergeSeconds);
                err.flush();
            }

            @Override
            public synchronized void chunkCommitted(int index, int count, long rows, long failed) {
                endLine();
                err.printf(Locale.ROOT, "  chunk %d/%d merged: %,d rows, %,d failed%n", index, count, rows, failed);
                err.flush();
            }

            private synchronized void endLine() {
                if (drawn) {
                    err.println();
                    drawn = false;
                }
            }
        };
    }

    /** Plain progress lines (not a terminal) are at most this often, except the last. */
    static final long PLAIN_INTERVAL_NANOS = 10_000_000_000L;

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    static void printSummary(RunSummary run, PrintWriter out) {
        out.printf(Locale.ROOT, "run %s: %s in %.1f s%n", run.runId(), run.status(), run.wallSeconds());
        if (run.message() != null) {
            out.println("  " + run.message());
        }
        out.printf(Locale.ROOT, "  documents %,d; rows (document x task): %,d read, %,d skipped (unchanged), %,d processed, %,d failed%n",
                run.docsRead(), run.rowsRead(), run.rowsSkipped(), run.rowsProcessed(), run.rowsFailed());
        out.printf(Locale.ROOT, "  tokens: %,d in, %,d out, %,.0f tokens/s; %d chunk(s) merged%n",
                run.tokensIn(), run.tokensOut(), run.tokensPerSecond(), run.chunks());
        if (run.provider() != null) {
            out.println("  provider: " + run.provider());
        }
        for (String warning : run.warnings()) {
            out.println("  warning: " + warning);
        }
        if (run.rowsWithErrors() > 0) {
            out.printf(Locale.ROOT, "  %,d result row(s) carry an error from their latest attempt; rerun with --retry-failed "
                    + "to retry only those (SELECT error_code, count(*) FROM results WHERE error IS NOT NULL GROUP BY 1)%n",
                    run.rowsWithErrors());
        }
        out.printf(Locale.ROOT, "  cost here: $%.4f (%d executor(s) x %.4f h)%n", run.clusterCostUsd(), run.executors(),
                run.wallSeconds() / 3600);
        for (RunSummary.ApiCost api : run.apiCosts()) {
            out.printf(Locale.ROOT, "  same tokens at %s: $%.4f, %s $%.4f%n", api.api(), api.costUsd(),
                    api.savingUsd() >= 0 ? "saving" : "extra cost", Math.abs(api.savingUsd()));
        }
        out.flush();
    }

    /** The dry run's estimate: per task rows and tokens, then time and cost, each saying how it was made. */
    static void printDryRun(DryRunReport dry, PrintWriter out) {
        out.printf(Locale.ROOT, "dry run of %s (%s): nothing was written%n", dry.job(), dry.mode());
        out.printf(Locale.ROOT, "  documents %,d; rows (document x task): %,d read, %,d skipped (unchanged), %,d to process "
                + "in %d chunk(s)%n", dry.docsRead(), dry.rowsRead(), dry.rowsSkipped(), dry.rowsToProcess(), dry.chunks());
        out.printf(Locale.ROOT, "  %-16s %-9s %10s %14s %14s  %s%n", "task", "type", "rows", "prompt tokens",
                "output tokens", "output tokens are");
        for (DryRunReport.TaskEstimate task : dry.tasks()) {
            out.printf(Locale.ROOT, "  %-16s %-9s %,10d %,14d %,14d  %s%n", task.task(), task.type(), task.rows(),
                    task.promptTokens(), task.outputTokens(), task.outputBasis());
            if (task.errorRows() > 0) {
                out.printf(Locale.ROOT, "    %,d more row(s) become error rows without the model (blank text or a malformed record)%n",
                        task.errorRows());
            }
            if (task.overContext() > 0) {
                out.printf(Locale.ROOT, "    %,d row(s) leave less room than the task needs in the model's context: its "
                        + "overflow policy applies (their prompt tokens are counted before it)%n", task.overContext());
            }
        }
        out.printf(Locale.ROOT, "  total: %,d prompt tokens (exact, the model's tokenizer), %,d output tokens (expected)%n",
                dry.promptTokens(), dry.outputTokens());
        EngineCalibration c = dry.calibration();
        out.printf(Locale.ROOT, "  speed here: %s, %s %s%n", c.describe(), c.cached() ? "cached in" : "measured now, saved to",
                c.file());
        out.printf(Locale.ROOT, "  estimated time: %.1f s (%s) of inference on %d engine(s): prompt tokens at the prefill "
                + "rate, output at the decode rate; Spark start-up, planning and MERGEs not included%n",
                dry.estimatedSeconds(), duration(dry.estimatedSeconds()), dry.executors());
        if (dry.lastRunTokensPerSecond() != null) {
            out.printf(Locale.ROOT, "  at the speed of this job's last run with this model (%,.0f tokens/s over its whole "
                    + "run, Spark included): %.1f s (%s)%n", dry.lastRunTokensPerSecond(), dry.lastRunSeconds(),
                    duration(dry.lastRunSeconds()));
        }
        out.printf(Locale.ROOT, "  estimated cost here: $%.4f (%d executor(s) x %.4f h)%n", dry.clusterCostUsd(),
                dry.executors(), dry.estimatedSeconds() / 3600);
        for (RunSummary.ApiCost api : dry.apiCosts()) {
            out.printf(Locale.ROOT, "  same tokens at %s: $%.4f, %s $%.4f%n", api.api(), api.costUsd(),
                    api.savingUsd() >= 0 ? "saving" : "extra cost", Math.abs(api.savingUsd()));
        }
        out.flush();
    }

    /** A query's first rows as an aligned text table (cells cut at {@code width} characters). */
    static void printTable(Dataset<Row> rows, int maxRows, int width, PrintWriter out) {
        String[] columns = rows.columns();
        // arrays, maps and structs print as JSON (Scala's toString would show ArraySeq(...) and Map(a -> 1.0))
        org.apache.spark.sql.Column[] shown = new org.apache.spark.sql.Column[columns.length];
        org.apache.spark.sql.types.StructField[] fields = rows.schema().fields();
        String[] positions = new String[columns.length];
        for (int i = 0; i < columns.length; i++) {
            positions[i] = "_c" + i;   // by position: a result may repeat a column name
        }
        Dataset<Row> positional = rows.toDF(positions);
        for (int i = 0; i < columns.length; i++) {
            org.apache.spark.sql.Column column = positional.col(positions[i]);
            boolean complex = fields[i].dataType() instanceof org.apache.spark.sql.types.ArrayType
                    || fields[i].dataType() instanceof org.apache.spark.sql.types.MapType
                    || fields[i].dataType() instanceof org.apache.spark.sql.types.StructType;
            shown[i] = complex ? org.apache.spark.sql.functions.to_json(column).as(columns[i]) : column;
        }
        rows = positional.select(shown);
        List<Row> list = rows.limit(maxRows + 1).collectAsList();
        List<String[]> cells = new ArrayList<>();
        cells.add(columns);
        for (Row row : list.subList(0, Math.min(maxRows, list.size()))) {
            String[] line = new String[columns.length];
            for (int i = 0; i < columns.length; i++) {
                Object value = row.get(i);
                String text = value == null ? "NULL" : value.toString().replaceAll("\\s+", " ");
                line[i] = text.length() > width ? text.substring(0, width - 1) + "…" : text;
            }
            cells.add(line);
        }
        int[] widths = new int[columns.length];
        for (String[] line : cells) {
            for (int i = 0; i < line.length; i++) {
                widths[i] = Math.max(widths[i], line[i].length());
            }
        }
        for (int r = 0; r < cells.size(); r++) {
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < columns.length; i++) {
                text.append(i == 0 ? "" : " | ").append(String.format("%-" + widths[i] + "s", cells.get(r)[i]));
            }
            out.println(text.toString().stripTrailing());
            if (r == 0) {
                StringBuilder rule = new StringBuilder();
                for (int i = 0; i < columns.length; i++) {
                    rule.append(i == 0 ? "" : "-+-").append("-".repeat(widths[i]));
                }
                out.println(rule);
            }
        }
        out.printf("(%s)%n", list.size() > maxRows ? "first " + maxRows + " rows" : list.size() + " row" + (list.size() == 1 ? "" : "s"));
        out.flush();
    }
}
