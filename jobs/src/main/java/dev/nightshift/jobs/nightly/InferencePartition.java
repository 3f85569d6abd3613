package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.Reason;
import dev.nightshift.engine.ErrorCode;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;
import dev.nightshift.task.TaskOutput;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * Work items to result rows, on an executor: consecutive items of one task are batched, sent to the JVM's shared
 * engine, and turned into result rows. Nothing a row does fails the task: engine errors, context overflow and bad
 * text become rows with {@code error} and {@code error_code} set. Rows are produced lazily, a batch at a time.
 *
 * <p>Counting: the accumulators and live counters add the tokens of successful rows only (what the model did useful
 * work on), the same rule as the run's {@code tokens_in}/{@code tokens_out}.
 */
final class InferencePartition implements MapPartitionsFunction<Row, Row> {

    /** Accumulators the driver reads for progress, the provider actually used and engine warnings. */
    record Counters(LongAccumulator rows, LongAccumulator promptTokens, LongAccumulator outputTokens,
                    CollectionAccumulator<String> engineNotes) implements java.io.Serializable {
    }

    /** Prefix of the provider notes in {@link Counters#engineNotes()}; other notes are warnings. */
    static final String PROVIDER_NOTE = "provider:";

    private final EngineFactory factory;
    private final ModelSettings model;
    private final Map<String, TaskSpec> tasks;
    private final String runId;
    private final String modelFingerprint;
    private final Counters counters;

    InferencePartition(EngineFactory factory, ModelSettings model, List<TaskSpec> tasks, String runId,
                       String modelFingerprint, Counters counters) {
        this.factory = factory;
        this.model = model;
        this.tasks = new HashMap<>();
        tasks.forEach(t -> this.tasks.put(t.name(), t));
        this.runId = runId;
        this.modelFingerprint = modelFingerprint;
        this.counters = counters;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> items) {
        TextGenerator engine = EngineHolder.get(factory, model);
        counters.engineNotes().add(PROVIDER_NOTE + engine.model().provider());
        engine.warnings().forEach(counters.engineNotes()::add);
        return new Iterator<>() {
            private final Deque<Row> ready = new ArrayDeque<>();
            private Row pending;

            @Override
            public boolean hasNext() {
                while (ready.isEmpty() && (pending != null || items.hasNext())) {
                    List<Row> batch = new ArrayList<>();
                    Row first = pending != null ? pending : items.next();
                    pending = null;
                    batch.add(first);
                    String task = first.getAs("task");
                    while (batch.size() < model.maxBatchRows() && items.hasNext()) {
                        Row next = items.next();
                        if (!task.equals(next.getAs("task"))) {
                            pending = next;
                            break;
                        }
                        batch.add(next);
                    }
                    run(engine, tasks.get(task), batch).forEach(r -> ready.add(r.toRow()));
                }
                return !ready.isEmpty();
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return ready.poll();
            }
        };
    }

    private ResultRow.WorkItem workItem(TextGenerator engine, TaskSpec task, Row item) {
        return new ResultRow.WorkItem(item.getAs("doc_id"), task.name(), item.getAs("input_hash"), task.promptHash(),
                engine.model().id(), modelFingerprint, runId);
    }

    /** One batch of one task: the task calls the engine and reads its answers; this adds lineage and latency. */
    private List<ResultRow> run(TextGenerator engine, TaskSpec task, List<Row> batch) {
        List<ResultRow.WorkItem> good = new ArrayList<>();
        List<Prompt> prompts = new ArrayList<>();
        List<ResultRow> out = new ArrayList<>(batch.size());
        for (Row item : batch) {
            ResultRow.WorkItem work = workItem(engine, task, item);
            String problem = item.getAs("problem");
            if (problem != null) {
                out.add(ResultRow.failed(work, problem, 0, 0, null, null, 0));
                continue;
            }
            good.add(work);
            prompts.add(task.task().prompt(item.getList(item.fieldIndex("prompt_parts")), task.chat()));
        }
        if (!good.isEmpty()) {
            long started = System.nanoTime();
            try {
                List<TaskOutput> outputs = task.task().run(engine, prompts);
                long each = (System.nanoTime() - started) / good.size() / 1_000_000;
                for (int i = 0; i < good.size(); i++) {
                    out.add(row(good.get(i), outputs.get(i), each));
                }
            } catch (RuntimeException e) {
                // The engine promises per-row errors; anything else is still confined to this batch's rows.
                long each = (System.nanoTime() - started) / good.size() / 1_000_000;
                String error = ErrorCode.ENGINE_FAILURE.message("engine failed: " + Reason.withKind(e));
                for (ResultRow.WorkItem work : good) {
                    out.add(ResultRow.failed(work, error, 0, 0, null, null, each));
                }
            }
        }
        long in = 0;
        long generated = 0;
        for (ResultRow row : out) {
            if (!row.isFailed()) {
                in += row.promptTokens() == null ? 0 : row.promptTokens();
                generated += row.outputTokens() == null ? 0 : row.outputTokens();
            }
        }
        counters.rows().add(out.size());
        counters.promptTokens().add(in);
        counters.outputTokens().add(generated);
        ProgressCounters.add(runId, out.size(), in, generated);
        return out;
    }

    /** A task's output as a result row; latency is the engine's own time for the row, else the batch's share. */
    private static ResultRow row(ResultRow.WorkItem work, TaskOutput output, long batchMs) {
        long latencyMs = output.engineNanos() > 0 ? output.engineNanos() / 1_000_000 : batchMs;
        if (output.failed()) {
            return ResultRow.failed(work, output.error(), output.promptTokens(), output.outputTokens(), output.output(),
                    output.warning(), latencyMs);
        }
        return ResultRow.succeeded(work, output.output(), output.label(), output.score(), output.fields(),
                output.promptTokens(), output.outputTokens(), output.finishReason(), output.warning(), latencyMs);
    }
}
