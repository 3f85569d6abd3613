package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.EngineHolder;
import dev.nightshift.engine.EngineFactory;
import dev.nightshift.engine.ModelSettings;
import dev.nightshift.engine.TextGenerator;
import dev.nightshift.executor.TaskGpu;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.util.CollectionAccumulator;

import java.util.Iterator;
import java.util.List;

/**
 * Work items to result rows, on an executor: {@link InferenceBatches} (consecutive items of one task batched, sent to
 * the JVM's shared engine, turned into result rows) inside a Spark task. Nothing a row does fails the task: engine
 * errors, context overflow and bad text become rows with {@code error} and {@code error_code} set. Rows are produced
 * lazily, a batch at a time.
 *
 * <p>Counting: each batch's {@link RowCounts} goes to the live {@link ProgressCounters} (the progress line); the
 * run's recorded figures are observed when the chunk is written, by the same rule.
 */
final class InferencePartition implements MapPartitionsFunction<Row, Row> {

    private final EngineFactory factory;
    private final ModelSettings model;
    private final InferenceBatches batches;
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
        this.batches = new InferenceBatches(tasks, model.maxBatchRows(), runId, modelFingerprint);
        this.progress = progress;
        this.engineNotes = engineNotes;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> items) {
        TextGenerator engine = EngineHolder.get(factory, TaskGpu.settingsFor(model));
        engineNotes.add(EngineNotes.PROVIDER_NOTE + engine.model().provider());
        engine.warnings().forEach(engineNotes::add);
        Iterator<ResultRow> rows = batches.rows(engine, WorkItem.of(items), batch -> progress.add(RowCounts.of(batch)));
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public Row next() {
                return rows.next().toRow();
            }
        };
    }
}
