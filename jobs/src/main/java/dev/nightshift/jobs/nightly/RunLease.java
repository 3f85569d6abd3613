package dev.nightshift.jobs.nightly;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Which run of a job is writing its results now, told by heartbeat files in the job's staging folder: each run keeps
 * {@code <staging>/<run_id>/_heartbeat} holding the time it last wrote it (every {@link #BEAT}). A heartbeat younger
 * than {@link #STALE} means that run is alive; an older one means its driver died (killed with -9, lost machine).
 *
 * <p>Two runs of the same results table at once would both pay for inference and then fight over the MERGE, so a
 * run that finds another live heartbeat is refused before any inference: the run that started first (smaller run id,
 * which starts with its start time) keeps going, so two runs that start together cannot both be refused or both
 * proceed. Dead runs' staging folders are removed, and their runs-table rows are marked abandoned by the caller.
 *
 * <p>Times are read from the file's content, not its modification time, which object stores do not keep reliably.
 */
final class RunLease {

    static final Duration BEAT = Duration.ofSeconds(10);
    static final Duration STALE = Duration.ofSeconds(60);
    static final String HEARTBEAT_FILE = "_heartbeat";

    /** Another run's staging folder and when its heartbeat was last written (null when it has none). */
    record OtherRun(String runId, Instant lastBeat) {
        boolean alive(Instant now) {
            return lastBeat != null && Duration.between(lastBeat, now).compareTo(STALE) < 0;
        }
    }

    private final Configuration hadoop;
    private final String stagingRoot;
    private final String runId;

    RunLease(Configuration hadoop, String stagingRoot, String runId) {
        this.hadoop = hadoop;
        this.stagingRoot = stagingRoot.replaceAll("/+$", "");
        this.runId = runId;
    }

    /** This run's id. */
    String runId() {
        return runId;
    }

    /** This run's staging folder. */
    String folder() {
        return stagingRoot + "/" + runId;
    }

    /** Writes (or rewrites) this run's heartbeat with the current time. */
    void beat() {
        beat(folder(), Instant.now());
    }

    /** Writes a heartbeat into a run's staging folder (tests use it to fake other runs). */
    void beat(String runFolder, Instant at) {
        Path file = new Path(runFolder, HEARTBEAT_FILE);
        try {
            FileSystem fs = file.getFileSystem(hadoop);
            try (FSDataOutputStream out = fs.create(file, true)) {
                out.write(Long.toString(at.toEpochMilli()).getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the run heartbeat " + file + ": " + e.getMessage(), e);
        }
    }

    /** Every other run with a folder under the staging root. */
    List<OtherRun> others() {
        List<OtherRun> runs = new ArrayList<>();
        Path root = new Path(stagingRoot);
        try {
            FileSystem fs = root.getFileSystem(hadoop);
            if (!fs.exists(root)) {
                return runs;
            }
            for (FileStatus status : fs.listStatus(root)) {
                String name = status.getPath().getName();
                if (!status.isDirectory() || name.equals(runId) || name.startsWith("_") || name.startsWith(".")) {
                    continue;
                }
                runs.add(new OtherRun(name, lastBeat(fs, new Path(status.getPath(), HEARTBEAT_FILE))));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the staging folder " + root + ": " + e.getMessage(), e);
        }
        return runs;
    }

    private static Instant lastBeat(FileSystem fs, Path file) throws IOException {
        if (!fs.exists(file)) {
            return null;
        }
        try (FSDataInputStream in = fs.open(file)) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            return Instant.ofEpochMilli(Long.parseLong(text));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Deletes another run's staging folder. */
    void remove(String otherRunId) {
        Path folder = new Path(stagingRoot, otherRunId);
        try {
            folder.getFileSystem(hadoop).delete(folder, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the staging folder " + folder + ": " + e.getMessage(), e);
        }
    }
}
