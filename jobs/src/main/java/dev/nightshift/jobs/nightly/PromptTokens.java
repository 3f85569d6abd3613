package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.EngineHolder;
import dev.nightshift.engine.EngineFactory;
import dev.nightshift.engine.ModelSettings;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;
import dev.nightshift.task.TaskType;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;

/**
 * The dry run's count, on executors: each pending {@link WorkItem} to its prompt's exact token count from the model's
 * tokenizer, as the engine encodes it (the task's prompt built from the same parts, chat template and BOS included:
 * {@link TextGenerator#promptTokens}), which is what the run records as the row's {@code prompt_tokens} for every
 * prompt that fits the context. Rows with a problem (blank text, a malformed record) never reach the model and count
 * no tokens. Expected output tokens are an upper bound: {@code max_new_tokens} (less when the context leaves less room
 * after the prompt), and for classify the longest label's tokens; {@code decode_work} is what the time estimate
 * charges at the decode rate (classify scores every label, so labels × the longest label's tokens).
 */
final class PromptTokens implements MapPartitionsFunction<Row, Row> {

    static final StructType SCHEMA = new StructType()
            .add("task", DataTypes.StringType, false)
            .add("model_rows", DataTypes.LongType, false)
            .add("prompt_tokens", DataTypes.LongType, false)
            .add("output_tokens", DataTypes.LongType, false)
            .add("decode_work", DataTypes.LongType, false)
            .add("over_context", DataTypes.LongType, false);

    private final EngineFactory factory;
    private final ModelSettings model;
    private final Map<String, TaskSpec> tasks = new HashMap<>();
    private final List<TaskSpec> taskOrder;

    PromptTokens(EngineFactory factory, ModelSettings model, List<TaskSpec> tasks) {
        this.factory = factory;
        this.model = model;
        this.taskOrder = List.copyOf(tasks);
        tasks.forEach(t -> this.tasks.put(t.name(), t));
    }

    /**
     * Counts the pending work items per task, in the order of the configured tasks (a task with nothing pending gets
     * zeros).
     *
     * @param pending {@link WorkPlan#pending()}
     * @param total   its row count (0: nothing is counted, no engine is opened)
     */
    List<DryRunReport.TaskEstimate> perTask(Dataset<Row> pending, long total) {
        Map<String, Row> byTask = new HashMap<>();
        if (total > 0) {
            for (Row row : pending.mapPartitions(this, Encoders.row(SCHEMA)).groupBy("task")
                    .agg(count(lit(1)).as("pending"), sum("model_rows").as("model_rows"),
                            sum("prompt_tokens").as("prompt_tokens"), sum("output_tokens").as("output_tokens"),
                            sum("decode_work").as("decode_work"), sum("over_context").as("over_context"))
                    .collectAsList()) {
                byTask.put(row.getAs("task"), row);
            }
        }
        List<DryRunReport.TaskEstimate> estimates = new ArrayList<>();
        for (TaskSpec task : taskOrder) {
            Row row = byTask.get(task.name());
            long rows = value(row, "model_rows");
            String basis = task.type() == TaskType.CLASSIFY
                    ? "the longest label's tokens (" + task.labels().size() + " labels scored)"
                    : "max_new_tokens " + task.generation().maxNewTokens() + " (an upper bound)";
            estimates.add(new DryRunReport.TaskEstimate(task.name(), task.type().id(), rows, value(row, "pending") - rows,
                    value(row, "prompt_tokens"), value(row, "output_tokens"), value(row, "decode_work"),
                    value(row, "over_context"), basis));
        }
        return estimates;
    }

    private static long value(Row row, String column) {
        return row == null ? 0 : row.<Long>getAs(column);
    }

    @Override
    public Iterator<Row> call(Iterator<Row> items) {
        TextGenerator engine = EngineHolder.get(factory, model);
        int context = engine.model().contextLength();
        Map<String, Integer> longestLabel = new HashMap<>();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return items.hasNext();
            }

            @Override
            public Row next() {
                WorkItem item = WorkItem.of(items.next());
                TaskSpec task = tasks.get(item.task());
                if (item.problem() != null) {
                    return RowFactory.create(item.task(), 0L, 0L, 0L, 0L, 0L);
                }
                Prompt prompt = task.task().prompt(item.promptParts(), task.chat());
                int tokens = engine.promptTokens(prompt);
                long output;
                long decode;
                int reserve;
                if (task.type() == TaskType.CLASSIFY) {
                    int label = longestLabel.computeIfAbsent(task.name(), n -> task.labels().stream()
                            .mapToInt(engine::countTokens).max().orElse(1));
                    output = label;
                    decode = (long) label * task.labels().size();
                    reserve = label;
                } else {
                    reserve = task.generation().maxNewTokens();
                    output = Math.max(0, Math.min(reserve, context - tokens));
                    decode = output;
                }
                // the engine's room for a prompt: the context less what the task needs after it (at least half the context)
                int budget = Math.min(context - 1, Math.max(context - reserve, context / 2));
                return RowFactory.create(item.task(), 1L, (long) tokens, output, decode, tokens > budget ? 1L : 0L);
            }
        };
    }
}
