package dev.nightshift.jobs.nightly;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import static org.apache.spark.sql.functions.col;

/**
 * What a run will send through the model, from {@link WorkPlanner}: the pending {@link WorkItem} rows, each numbered
 * into a chunk, and the ETA plan. Holds cached datasets until closed.
 *
 * @param pending    the work items that need the model (cached)
 * @param planned    the same rows with their {@link #CHUNK} number (cached when there is more than one chunk)
 * @param total      pending rows
 * @param chunkCount chunks, each at most {@code run.chunk_rows} rows
 * @param estimate   the ETA's plan of the pending rows' cost
 * @param newKeysOnly whether no pending (doc_id, task) was in the results table when the run was planned: the chunks
 *                    then only insert, and are appended instead of staged and MERGEd ({@link ChunkCommitter})
 */
record WorkPlan(Dataset<Row> pending, Dataset<Row> planned, long total, int chunkCount, ProgressEstimator estimate,
                boolean newKeysOnly) implements AutoCloseable {

    /** The chunk-number column of {@link #planned}. */
    static final String CHUNK = "chunk";

    /** The work items of one chunk. */
    Dataset<Row> chunk(int index) {
        return planned.where(col(CHUNK).equalTo(index)).drop(CHUNK);
    }

    @Override
    public void close() {
        pending.unpersist();
        planned.unpersist();
    }
}
