package dev.nightshift.jobs.nightly;

/** What a run reports while it works; the command line prints it, the library never does. */
public interface JobListener {

    JobListener NONE = new JobListener() {
    };

    /** A stage started ("read source", "plan", "chunk 2/5", ...), with a one-line detail. */
    default void stage(String name, String detail) {
    }

    /**
     * Inference progress, about once a second while a chunk runs.
     *
     * @param done            rows finished in this run so far
     * @param total           rows this run will process
     * @param tokensPerSecond prompt and output tokens per second so far
     * @param etaSeconds      estimated seconds left (NaN until there is a rate)
     */
    default void progress(long done, long total, double tokensPerSecond, double etaSeconds) {
    }

    /** Something the user should know that does not stop the run (a CUDA request that fell back to CPU). */
    default void warning(String message) {
    }

    /**
     * Where a chunk's time went, told just before {@link #chunkCommitted}.
     *
     * @param index               the chunk, from 1
     * @param inferAndStageSeconds the Spark job that runs the model over the chunk and writes the staging table
     * @param mergeSeconds        reading the staged rows and MERGEing them into the results
     */
    default void chunkTimes(int index, double inferAndStageSeconds, double mergeSeconds) {
    }

    /** A chunk was merged into the results table. */
    default void chunkCommitted(int index, int count, long rows, long failed) {
    }
}
