package dev.nightshift.jobs.nightly;

import org.apache.spark.sql.Column;

import java.io.Serializable;
import java.util.Collection;
import java.util.Map;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

/**
 * The job's one way of counting result rows and tokens, and the figures it gives.
 *
 * <p>The rule: every result row counts as processed; a row with an {@code error} counts as failed; tokens count for
 * successful rows only (a failed row's prompt was not usefully processed by the model). The rule is written twice
 * below in the two forms Spark needs: {@link #observed()} as SQL over result rows, {@link #of(Collection)} over
 * {@link ResultRow}s on an executor. Both live in this class so they cannot drift apart.
 *
 * <p>The source of truth for a run's {@code rows_processed}, {@code rows_failed}, {@code tokens_in} and
 * {@code tokens_out} is the sum of {@link #observed()} over the committed chunks, measured while each chunk is
 * written to staging (Spark's observed metrics come from successful task attempts only, so a retried task is counted
 * once). The executor form only feeds {@link ProgressCounters}, the live progress line, which may run ahead with a
 * retried task's rows and is never recorded. {@code rows_with_errors} is not a count of this run: it is the results
 * table's state after the run ({@link ResultsTable#rowsWithErrors}).
 *
 * @param rows      result rows
 * @param failed    rows with an error
 * @param tokensIn  prompt tokens of successful rows
 * @param tokensOut output tokens of successful rows
 */
record RowCounts(long rows, long failed, long tokensIn, long tokensOut) implements Serializable {

    static final RowCounts ZERO = new RowCounts(0, 0, 0, 0);

    /** The rule over result rows (columns of {@link ResultsTable#SCHEMA}), as named observed metrics. */
    static Column[] observed() {
        return new Column[]{
                count(lit(1)).as("rows"),
                count(col("error")).as("failed"),
                coalesce(sum(when(col("error").isNull(), col("prompt_tokens"))).cast("long"), lit(0L)).as("tokens_in"),
                coalesce(sum(when(col("error").isNull(), col("output_tokens"))).cast("long"), lit(0L)).as("tokens_out")};
    }

    /** The figures of {@link #observed()}, by metric name. */
    static RowCounts of(Map<String, Object> metrics) {
        return new RowCounts(number(metrics, "rows"), number(metrics, "failed"), number(metrics, "tokens_in"),
                number(metrics, "tokens_out"));
    }

    /** The same rule over rows an executor just produced. */
    static RowCounts of(Collection<ResultRow> results) {
        long failed = 0;
        long in = 0;
        long out = 0;
        for (ResultRow row : results) {
            if (row.isFailed()) {
                failed++;
            } else {
                in += row.promptTokens() == null ? 0 : row.promptTokens();
                out += row.outputTokens() == null ? 0 : row.outputTokens();
            }
        }
        return new RowCounts(results.size(), failed, in, out);
    }

    RowCounts plus(RowCounts other) {
        return new RowCounts(rows + other.rows, failed + other.failed, tokensIn + other.tokensIn,
                tokensOut + other.tokensOut);
    }

    long tokens() {
        return tokensIn + tokensOut;
    }

    private static long number(Map<String, Object> metrics, String name) {
        Object value = metrics.get(name);
        return value == null ? 0 : ((Number) value).longValue();
    }
}
