package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * This model's speed on this machine, for the dry run's time estimate: a few tiny {@code generate} calls measure
 * prefill (prompt tokens per second, one prompt of up to 128 tokens) and decode (generated tokens per second summed
 * over a batch of up to 4 rows, 16 new tokens each, end-of-sequence ignored). One unmeasured call warms ONNX Runtime
 * up first; each figure is the best of two calls. Results are cached in a properties file keyed by the model's
 * fingerprint, the CPU, the provider and the thread count, so later dry runs of the same model here measure nothing.
 *
 * @param prefillTokensPerSecond prompt tokens per second (batch 1)
 * @param decodeTokensPerSecond  generated tokens per second, all rows of a {@code decodeBatch}-row batch together
 * @param decodeBatch            rows in the decode measurement
 * @param key                    the cache key: fingerprint, CPU, provider, threads
 * @param file                   the cache file
 * @param cached                 whether the figures were read from {@code file} rather than measured now
 */
public record EngineCalibration(double prefillTokensPerSecond, double decodeTokensPerSecond, int decodeBatch,
                                String key, Path file, boolean cached) {

    /** Overrides the cache folder (the file is {@code calibration.properties} in it). */
    public static final String CACHE_DIR_ENV = "NIGHTSHIFT_CACHE_DIR";
    static final String FILE_NAME = "calibration.properties";
    private static final int PREFILL_TOKENS = 128;
    private static final int DECODE_TOKENS = 16;
    private static final int DECODE_ROWS = 4;

    /**
     * The default cache file: {@code $NIGHTSHIFT_CACHE_DIR/calibration.properties}, else
     * {@code $XDG_CACHE_HOME/nightshift/calibration.properties}, else {@code ~/.cache/nightshift/calibration.properties}.
     */
    public static Path defaultFile() {
        String own = System.getenv(CACHE_DIR_ENV);
        if (own != null && !own.isBlank()) {
            return Path.of(own, FILE_NAME);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("nightshift").resolve(FILE_NAME);
    }

    /** "AMD EPYC 7B13, 2 cores": the first {@code model name} of /proc/cpuinfo (else the architecture) and the cores. */
    static String cpu() {
        String name = System.getProperty("os.arch");
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    name = line.substring(line.indexOf(':') + 1).strip();
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: the architecture has to do
        }
        return name + ", " + Runtime.getRuntime().availableProcessors() + " cores";
    }

    /**
     * The cached figures for {@code key}, or measured now with {@code engine} and added to the file.
     *
     * @param maxBatchRows the job's {@code model.max_batch_rows} (the decode batch is at most this)
     * @throws UncheckedIOException when the cache file cannot be read or written
     */
    static EngineCalibration of(Path file, String key, TextGenerator engine, int maxBatchRows) {
        Properties cache = read(file);
        String prefill = cache.getProperty(key + ".prefill_tokens_per_second");
        String decode = cache.getProperty(key + ".decode_tokens_per_second");
        String batch = cache.getProperty(key + ".decode_batch");
        if (prefill != null && decode != null && batch != null) {
            try {
                return new EngineCalibration(Double.parseDouble(prefill), Double.parseDouble(decode),
                        Integer.parseInt(batch), key, file, true);
            } catch (NumberFormatException e) {
                // a hand-edited entry that does not parse: measure again and overwrite it
            }
        }
        EngineCalibration measured = measure(engine, maxBatchRows, key, file);
        cache.setProperty(key + ".prefill_tokens_per_second", Double.toString(measured.prefillTokensPerSecond()));
        cache.setProperty(key + ".decode_tokens_per_second", Double.toString(measured.decodeTokensPerSecond()));
        cache.setProperty(key + ".decode_batch", Integer.toString(measured.decodeBatch()));
        cache.setProperty(key + ".measured_at", Instant.now().toString());
        write(file, cache);
        return measured;
    }

    private static EngineCalibration measure(TextGenerator engine, int maxBatchRows, String key, Path file) {
        int context = engine.model().contextLength();
        int promptTarget = Math.max(8, Math.min(PREFILL_TOKENS, context / 4));
        String text = text(engine, promptTarget, 0);
        List<Prompt> one = List.of(Prompt.of(text, GenerationOptions.greedy(1)));
        engine.generate(one);   // warm-up: ONNX Runtime's first runs pay for lazy initialisation
        double prefill = 0;
        for (int r = 0; r < 2; r++) {
            GenerationResult result = engine.generate(one).get(0);
            check(result);
            prefill = Math.max(prefill, result.promptTokens() / Math.max(result.firstTokenNanos() / 1e9, 1e-9));
        }
        int rows = Math.max(1, Math.min(DECODE_ROWS, maxBatchRows));
        int newTokens = Math.max(2, Math.min(DECODE_TOKENS, context - 16 - 1));
        GenerationOptions decodeOptions = GenerationOptions.greedy(newTokens).withIgnoreEos(true);
        List<Prompt> batch = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            batch.add(Prompt.of(text(engine, 8, i + 1), decodeOptions));
        }
        double decode = 0;
        for (int r = 0; r < 2; r++) {
            List<GenerationResult> results = engine.generate(batch);
            long generated = 0;
            long nanos = 0;
            for (GenerationResult result : results) {
                check(result);
                generated += Math.max(0, result.generatedTokens() - 1);   // the first token is prefill's
                nanos = Math.max(nanos, result.decodeNanos());
            }
            decode = Math.max(decode, generated / Math.max(nanos / 1e9, 1e-9));
        }
        return new EngineCalibration(prefill, decode, rows, key, file, false);
    }

    private static void check(GenerationResult result) {
        if (result.failed()) {
            throw new IllegalStateException("the calibration prompt failed in the engine: " + result.error());
        }
    }

    /** English-like words until the text takes at least {@code tokens} tokens of this model. */
    private static String text(TextGenerator engine, int tokens, int seed) {
        String[] words = {"the", "night", "shift", "reads", "every", "ticket", "and", "writes", "a", "short",
                "summary", "of", "what", "customers", "asked", "for", "today", "while", "models", "run"};
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < 4 * tokens && engine.countTokens(out.toString()) < tokens; i++) {
            out.append(i == 0 ? "" : " ").append(words[(i * 7 + seed) % words.length]);
        }
        return out.toString();
    }

    private static Properties read(Path file) {
        Properties cache = new Properties();
        if (Files.isRegularFile(file)) {
            try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                cache.load(in);
            } catch (IOException | IllegalArgumentException e) {
                throw new UncheckedIOException("cannot read the calibration cache " + file + ": " + e.getMessage()
                        + "; delete it (it is measured again) or point --calibration-file elsewhere",
                        e instanceof IOException io ? io : new IOException(e));
            }
        }
        return cache;
    }

    private static void write(Path file, Properties cache) {
        try {
            Path folder = file.toAbsolutePath().getParent();
            Files.createDirectories(folder);
            Path temporary = Files.createTempFile(folder, FILE_NAME, ".tmp");
            try (Writer out = Files.newBufferedWriter(temporary, StandardCharsets.UTF_8)) {
                cache.store(out, "Nightshift dry-run calibration: tokens per second per model fingerprint, CPU, "
                        + "provider and threads (delete to measure again)");
            }
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the calibration cache " + file + ": " + e.getMessage()
                    + "; point --calibration-file (or " + CACHE_DIR_ENV + ") at a writable place", e);
        }
    }

    /** "prefill 1,234 tok/s, decode 456 tok/s (4 rows)". */
    public String describe() {
        return String.format(Locale.ROOT, "prefill %,.0f tok/s, decode %,.0f tok/s (%d rows together)",
                prefillTokensPerSecond, decodeTokensPerSecond, decodeBatch);
    }
}
