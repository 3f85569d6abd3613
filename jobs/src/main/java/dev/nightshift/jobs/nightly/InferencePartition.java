package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.EngineHolder;
import dev.nightshift.engine.EngineFactory;
import dev.nightshift.engine.ModelSettings;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;
import dev.nightshift.executor.TaskGpu;
import dev.nightshift.task.TaskOutput;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.util.CollectionAccumulator;

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
 * <p>Counting: each batch's {@link RowCounts} goes to the live {@link ProgressCounters} (the progress line); the
 * run's recorded figures are observed when the chunk is written, by the same rule.
 */
final class InferencePartition implements MapPartitionsFunction<Row, Row> {

    private final EngineFactory factory;
    private final ModelSettings model;
    private final Map<String, TaskSpec> tasks;
    private final String runId;
    private final String modelFingerprint;
    private final ProgressCounters progress;
    private final CollectionAccumulator<String> engineNotes;

    /**
     * @param progress    live counts for the progress line
     * @param engineNotes where the engine's provider ({@link EngineNotes#PROVIDER_NOTE}) and warnings go
     */
    InferencePartition(EngineFactory factory, ModelSettings model, List<TaskSpec> tasks, String runId,
                       String modelFingerprint, ProgressCounters progress, CollectionAccumulator<String> engineNotes) {
        this.factory = factory;
        this.model = model;
        this.tasks = new HashMap<>();
        tasks.forEach(t -> this.tasks.put(t.name(), t));
        this.runId = runId;
        this.modelFingerprint = modelFingerprint;
        this.progress = progress;
        this.engineNotes = engineNotes;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> items) {
        TextGenerator engine = EngineHolder.get(factory, TaskGpu.settingsFor(model));
        engineNotes.add(EngineNotes.PROVIDER_NOTE + engine.model().provider());
        engine.warnings().forEach(engineNotes::add);
        return new Iterator<>() {
            private final Deque<Row> ready = new ArrayDeque<>();
            private WorkItem pending;

            @Override
            public boolean hasNext() {
                while (ready.isEmpty() && (pending != null || items.hasNext())) {
                    List<WorkItem> batch = new ArrayList<>();
                    WorkItem first = pending != null ? pending : WorkItem.of(items.next());
                    pending = null;
                    batch.add(first);
                    String task = first.task();
                    while (batch.size() < model.maxBatchRows() && items.hasNext()) {
                        WorkItem next = WorkItem.of(items.next());
                        if (!task.equals(next.task())) {
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

    private ResultRow.Lineage lineage(TextGenerator engine, TaskSpec task, WorkItem item) {
        return new ResultRow.Lineage(item.docId(), task.name(), item.inputHash(), task.promptHash(),
                engine.model().id(), modelFingerprint, runId);
    }

    /** One batch of one task: the task calls the engine and reads its answers; this adds lineage and latency. */
    private List<ResultRow> run(TextGenerator engine, TaskSpec task, List<WorkItem> batch) {
        List<ResultRow.Lineage> good = new ArrayList<>();
        List<Prompt> prompts = new ArrayList<>();
        List<ResultRow> out = new ArrayList<>(batch.size());
        for (WorkItem item : batch) {
            ResultRow.Lineage work = lineage(engine, task, item);
            if (item.problem() != null) {
                out.add(ResultRow.failed(work, item.problem(), 0, 0, null, null, 0));
                continue;
            }
            good.add(work);
            prompts.add(task.task().prompt(item.promptParts(), task.chat()));
        }
        if (!good.isEmpty()) {
            long started = System.nanoTime();
            List<TaskOutput> outputs = task.task().runConfined(engine, prompts);
            long each = (System.nanoTime() - started) / good.size() / 1_000_000;
            for (int i = 0; i < good.size(); i++) {
                out.add(row(good.get(i), outputs.get(i), each));
            }
        }
        progress.add(RowCounts.of(out));
        return out;
    }

    /** A task's output as a result row; latency is the engine's own time for the row, else the batch's share. */
    private static ResultRow row(ResultRow.Lineage work, TaskOutput output, long batchMs) {
        long latencyMs = output.engineNanos() > 0 ? output.engineNanos() / 1_000_000 : batchMs;
        if (output.failed()) {
            return ResultRow.failed(work, output.error(), output.promptTokens(), output.outputTokens(), output.output(),
                    output.warning(), latencyMs);
        }
        return ResultRow.succeeded(work, output.output(), output.label(), output.score(), output.fields(),
                output.promptTokens(), output.outputTokens(), output.finishReason(), output.warning(), latencyMs,
                output.details());
    }
}
