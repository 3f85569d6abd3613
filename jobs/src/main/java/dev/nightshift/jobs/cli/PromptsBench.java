package dev.nightshift.jobs.cli;

import dev.nightshift.engine.EngineFactory;
import dev.nightshift.engine.EngineHolder;
import dev.nightshift.engine.ModelFolder;
import dev.nightshift.engine.ModelSettings;
import dev.nightshift.engine.TextGenerator;
import dev.nightshift.jobs.nightly.PromptsFile;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code bench --prompts FILE}: the raw engine's rows/s on exactly the prompts a job would send
 * ({@code run --dry-run --write-prompts FILE}), through the executor's own code ({@link PromptsFile#replay}: the
 * job's tasks, {@code max_batch_rows} batching and engine settings; the JVM's engine from {@link EngineHolder}, as an
 * executor gets it), without Spark. Prints the engine's open time, one unmeasured warm-up batch, then per run the
 * rows, failures, tokens and rows/s; medians over the runs with the spread.
 */
final class PromptsBench {

    private PromptsBench() {
    }

    /**
     * @param model  the model folder, or null for the job's ({@code model_path} in the file)
     * @param repeat measured runs over all the file's rows
     * @return the median rows/s
     * @throws IllegalArgumentException when the folder's fingerprint differs from the one the prompts were written for
     */
    static double run(Path file, Path model, int repeat, PrintWriter out) throws IOException {
        PromptsFile prompts = PromptsFile.read(file);
        ModelSettings settings = prompts.settings(model == null ? null : model.toString());
        Path folder = Path.of(settings.path());
        if (!Files.isDirectory(folder)) {
            throw new IllegalArgumentException("model folder " + folder + " (from " + (model != null ? "--model"
                    : file + "'s model_path") + ") does not exist; pass --model DIR");
        }
        String fingerprint = ModelFolder.open(folder).card().fingerprint();
        if (!fingerprint.equals(prompts.modelFingerprint())) {
            throw new IllegalArgumentException(file + " was written for model " + prompts.modelFingerprint() + ", but "
                    + folder + " is " + fingerprint + "; pass --model with the job's model folder, or write the prompts "
                    + "again with this model");
        }
        long start = System.nanoTime();
        TextGenerator engine = EngineHolder.get(EngineFactory.onnx(), settings);
        double openSeconds = (System.nanoTime() - start) / 1e9;
        out.printf(Locale.ROOT, "prompts %s: %,d rows of job %s, tasks %s; model %s (threads %s, max_batch_rows %d); "
                        + "engine opened in %.1f s%n", file, prompts.rows(), prompts.job(), prompts.taskNames(), folder,
                settings.engineOptions().threads(), settings.maxBatchRows(), openSeconds);
        // warm-up: one batch (ONNX Runtime's first runs, the JIT); not measured
        prompts.replay(engine, Math.min(prompts.rows(), settings.maxBatchRows()));
        out.printf(Locale.ROOT, "%4s %8s %8s %14s %14s %10s %10s%n", "run", "rows", "failed", "prompt tokens",
                "output tokens", "seconds", "rows/s");
        double[] rates = new double[repeat];
        for (int r = 0; r < repeat; r++) {
            PromptsFile.Replay replay = prompts.replay(engine, Integer.MAX_VALUE);
            rates[r] = replay.rowsPerSecond();
            out.printf(Locale.ROOT, "%4d %8d %8d %14d %14d %10.1f %10.2f%n", r + 1, replay.rows(), replay.failed(),
                    replay.promptTokens(), replay.outputTokens(), replay.seconds(), rates[r]);
            if (replay.failed() > 0) {
                out.printf(Locale.ROOT, "     failed rows: %s%n", replay.describeFailures());
            }
        }
        double median = BenchCommand.median(rates);
        out.printf(Locale.ROOT, "engine rows/s %s; rows/hour %,.0f (%,.0f per thread)%n", BenchCommand.spread(rates),
                median * 3600, median * 3600 / settings.engineOptions().threads());
        return median;
    }
}
