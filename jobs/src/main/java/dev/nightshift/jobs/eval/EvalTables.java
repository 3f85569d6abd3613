package dev.nightshift.jobs.eval;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The two Delta tables of an evaluation, appended under the output folder so earlier evaluations stay comparable:
 * {@code eval_rows} (one row per document and candidate) and {@code eval_summary} (one row per candidate and
 * metric). Both carry the evaluation's id, time, job and task. Columns: README, "eval".
 */
public final class EvalTables {

    public static final StructType ROWS = new StructType()
            .add("eval_id", DataTypes.StringType, false)
            .add("evaluated_at", DataTypes.TimestampType)
            .add("job", DataTypes.StringType)
            .add("task", DataTypes.StringType)
            .add("candidate", DataTypes.StringType)
            .add("doc_id", DataTypes.StringType)
            .add("gold", DataTypes.StringType)
            .add("predicted", DataTypes.StringType)
            .add("score", DataTypes.DoubleType)
            .add("quality", DataTypes.DoubleType)
            .add("prompt_tokens", DataTypes.IntegerType)
            .add("output_tokens", DataTypes.IntegerType)
            .add("latency_ms", DataTypes.LongType)
            .add("error", DataTypes.StringType);

    public static final StructType SUMMARY = new StructType()
            .add("eval_id", DataTypes.StringType, false)
            .add("evaluated_at", DataTypes.TimestampType)
            .add("job", DataTypes.StringType)
            .add("task", DataTypes.StringType)
            .add("candidate", DataTypes.StringType)
            .add("metric", DataTypes.StringType)
            .add("value", DataTypes.DoubleType)
            .add("note", DataTypes.StringType);

    private EvalTables() {
    }

    public static void append(SparkSession spark, String folder, String evalId, Instant at, String job, String task,
                              List<CandidateResult> candidates) {
        Timestamp time = Timestamp.from(at);
        List<Row> rows = new ArrayList<>();
        List<Row> summary = new ArrayList<>();
        for (CandidateResult c : candidates) {
            for (CandidateResult.RowOutcome r : c.rows()) {
                rows.add(RowFactory.create(evalId, time, job, task, c.name(), r.docId(), r.gold(), r.predicted(), r.score(),
                        r.quality(), r.promptTokens(), r.outputTokens(), r.latencyMs(), r.error()));
            }
            for (Metric m : c.metrics()) {
                // NaN (not computable) is stored as NULL, so SQL aggregates skip it
                summary.add(RowFactory.create(evalId, time, job, task, c.name(), m.name(),
                        Double.isNaN(m.value()) ? null : m.value(), m.note()));
            }
        }
        spark.createDataFrame(rows, ROWS).coalesce(1).write().format("delta").mode("append").save(folder + "/eval_rows");
        spark.createDataFrame(summary, SUMMARY).coalesce(1).write().format("delta").mode("append")
                .save(folder + "/eval_summary");
    }
}
