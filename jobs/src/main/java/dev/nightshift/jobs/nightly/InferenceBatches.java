package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;
import dev.nightshift.task.TaskOutput;

import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.function.Consumer;

/**
 * What an executor does with a partition's work items, without Spark: consecutive items of one task are batched (at
 * most {@code maxBatchRows}), each batch goes to the engine through its task ({@link dev.nightshift.task.Task#runConfined}),
 * and the answers become {@link ResultRow}s with lineage and latency. The nightly job runs it inside a Spark task
 * ({@link InferencePartition}); {@code bench --prompts} runs it over a prompts file ({@link PromptsFile}), so the engine's
 * rows/s there is measured on the job's own code path. Serializable: it travels to executors inside the
 * partition function. Rows are produced lazily, a batch at a time. Nothing a row does
 * throws: engine errors, context overflow and bad text become rows with {@code error} set.
 */
public final class InferenceBatches implements Serializable {

    private final Map<String, TaskSpec> tasks = new HashMap<>();
    private final int maxBatchRows;
    private final String runId;
    private final String modelFingerprint;

    /**
     * @param tasks            the run's tasks; every item's task must be one of them
     * @param maxBatchRows     most rows per engine call ({@code model.max_batch_rows}), at least 1
     * @param runId            written into each row's lineage
     * @param modelFingerprint likewise
     */
    public InferenceBatches(List<TaskSpec> tasks, int maxBatchRows, String runId, String modelFingerprint) {
        if (maxBatchRows < 1) {
            throw new IllegalArgumentException("maxBatchRows must be at least 1, got " + maxBatchRows);
        }
        tasks.forEach(t -> this.tasks.put(t.name(), t));
        this.maxBatchRows = maxBatchRows;
        this.runId = runId;
        this.modelFingerprint = modelFingerprint;
    }

    /**
     * The result rows of {@code items}, in batches of consecutive items of one task.
     *
     * @param onBatch called with each batch's rows as it finishes (live progress counts)
     * @throws IllegalArgumentException (when the row is reached) for an item whose task is not one of this run's
     */
    Iterator<ResultRow> rows(TextGenerator engine, Iterator<WorkItem> items, Consumer<List<ResultRow>> onBatch) {
        return new Iterator<>() {
            private final Deque<ResultRow> ready = new ArrayDeque<>();
            private WorkItem pending;

            @Override
            public boolean hasNext() {
                while (ready.isEmpty() && (pending != null || items.hasNext())) {
                    List<WorkItem> batch = new ArrayList<>();
                    WorkItem first = pending != null ? pending : items.next();
                    pending = null;
                    batch.add(first);
                    String task = first.task();
                    while (batch.size() < maxBatchRows && items.hasNext()) {
                        WorkItem next = items.next();
                        if (!task.equals(next.task())) {
                            pending = next;
                            break;
                        }
                        batch.add(next);
                    }
                    List<ResultRow> rows = run(engine, task(task), batch);
                    onBatch.accept(rows);
                    ready.addAll(rows);
                }
                return !ready.isEmpty();
            }

            @Override
            public ResultRow next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return ready.poll();
            }
        };
    }

    private TaskSpec task(String name) {
        TaskSpec task = tasks.get(name);
        if (task == null) {
            throw new IllegalArgumentException("work item of task '" + name + "', which is not one of this run's tasks "
                    + tasks.keySet());
        }
        return task;
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
