package dev.nightshift.jobs.cli;

import dev.nightshift.engine.EngineOptions;
import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.LlmEngine;
import dev.nightshift.engine.ModelFolder;
import dev.nightshift.engine.Prompt;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import dev.nightshift.jobs.nightly.SettingRange;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure prefill and decode throughput, time to first token and memory of a model (a harness that prints figures; no pass/fail).",
                "Prints medians over --repeat runs with the spread (min-max)."},
        footer = {"", "Examples:",
                "  bin/nightshift bench --random llama-3.2-1b --precision int4 --threads 2",
                "  bin/nightshift bench --model models/stories260K --batch-sizes 1,8 \\",
                "      --prompt-tokens 64 --new-tokens 32",
                "  bin/nightshift bench --random small \\",
                "      --json-schema conf/bench/invoice.schema.json",
                "  bin/nightshift bench --random small --batch-sizes 1 --prefix-tokens 0 \\",
                "      --classify-rows 32 --summary-tokens 10000",
                "  bin/nightshift bench --random small --batch-sizes 1 --prefix-tokens 0 \\",
                "      --continuous-rows 48 --continuous-new-tokens 8..128",
                "  bin/nightshift bench --prompts /tmp/prompts.jsonl --repeat 1",
                "  bin/nightshift bench --random small --threads 2 --job-vs-engine 100 \\",
                "      --job-document-tokens 100..700 --rows-per-hour 8 \\",
                "      --document-lengths 200,700"})
final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Model folder to measure.")
    Path model;

    @Option(names = "--random", paramLabel = "SHAPE", description = "Convert random weights of this shape first (see `convert --help`).")
    String random;

    @Option(names = "--precision", defaultValue = "int4", description = "Precision for --random (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--work-dir", paramLabel = "DIR", description = "Where --random writes its model (default: a temporary folder, deleted after).")
    Path workDir;

    @Option(names = "--batch-sizes", defaultValue = "1,4,16", split = ",", description = "Batch sizes (default: ${DEFAULT-VALUE}).")
    List<Integer> batchSizes;

    // The token counts have no picocli default: null means "not given", so defaults can shrink to fit a small
    // model's context while values the user typed are checked against it instead (BenchSizes).
    @Option(names = "--prompt-tokens", description = "Prompt length (default: 256, less if the model's context is shorter).")
    Integer promptTokens;

    @Option(names = "--new-tokens", description = "Tokens generated per row (default: 64, less if the model's context is shorter).")
    Integer newTokens;

    @Option(names = "--threads", defaultValue = "0", description = "ONNX Runtime threads, 0 = all cores (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--repeat", defaultValue = "3", description = "Runs per batch size (default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--prefix-tokens", description = "Shared-prefix test: instruction length, 0 to skip (default: 300, scaled down with "
            + "--document-tokens if the model's context is shorter).")
    Integer prefixTokens;

    @Option(names = "--document-tokens", description = "Shared-prefix test: per-row document length (default: 200).")
    Integer documentTokens;

    @Option(names = "--prefix-rows", defaultValue = "8", description = "Shared-prefix test: rows (default: ${DEFAULT-VALUE}).")
    int prefixRows;

    @Option(names = "--json-schema", paramLabel = "FILE", description = "Also measure decoding constrained to this JSON "
            + "schema against unconstrained decoding of the same number of tokens, at each batch size.")
    Path jsonSchema;

    @Option(names = "--classify-rows", defaultValue = "0", description = "Also classify this many documents by label "
            + "scoring and by generating a few tokens and parsing the label: docs/s of both, invalid naive answers "
            + "(default: ${DEFAULT-VALUE}, skip).")
    int classifyRows;

    @Option(names = "--classify-tokens", defaultValue = "128", description = "Tokens per document of --classify-rows "
            + "(default: ${DEFAULT-VALUE}).")
    int classifyTokens;

    @Option(names = "--summary-tokens", defaultValue = "0", description = "Also summarize one document of about this many "
            + "tokens under overflow map_reduce: chunks, depth, tokens, wall time (default: ${DEFAULT-VALUE}, skip).")
    int summaryTokens;

    @Option(names = "--summary-new-tokens", defaultValue = "96", description = "max_new_tokens of each summary of "
            + "--summary-tokens (default: ${DEFAULT-VALUE}, the summarize task's).")
    int summaryNewTokens;

    @Option(names = "--continuous-rows", defaultValue = "0", description = "Also run this many summarize rows of varied "
            + "output length through continuous batching and through shrinking batches: rows/s, tokens/s, occupancy of "
            + "both (default: ${DEFAULT-VALUE}, skip).")
    int continuousRows;

    @Option(names = "--continuous-slots", defaultValue = "8", description = "Batch size (slots) of --continuous-rows "
            + "(default: ${DEFAULT-VALUE}).")
    int continuousSlots;

    @Option(names = "--continuous-new-tokens", defaultValue = "8..128", paramLabel = "MIN..MAX", description = "Range "
            + "max_new_tokens of --continuous-rows is drawn from, uniformly (default: ${DEFAULT-VALUE}).")
    String continuousNewTokens;

    @Option(names = "--continuous-document-tokens", defaultValue = "200", description = "Longest document of "
            + "--continuous-rows; lengths are drawn from a quarter of it up to it (default: ${DEFAULT-VALUE}).")
    int continuousDocumentTokens;

    @Option(names = "--executor-hour-usd", defaultValue = "0", description = "Price of an executor-hour, for the cost of "
            + "--summary-tokens (default: ${DEFAULT-VALUE}, no cost line).")
    double executorHourUsd;

    @Option(names = "--sql-vs-job", paramLabel = "ROWS", defaultValue = "0", description = "Instead of the engine "
            + "figures: classify and summarize this many documents through the nightly job and through a SELECT of the "
            + "llm_* functions (local Spark), and print both rows/s (default: ${DEFAULT-VALUE}, off).")
    int sqlVsJob;

    @Option(names = "--prompts", paramLabel = "FILE", description = "Instead of the engine figures: the engine's rows/s "
            + "on exactly the prompts a job would send (FILE from `run --dry-run --write-prompts FILE`), through the "
            + "executor's task and batching code, without Spark; --repeat runs. The model is the job's unless --model "
            + "is given.")
    Path prompts;

    @Option(names = "--job-vs-engine", paramLabel = "ROWS", defaultValue = "0", description = "Instead of the engine "
            + "figures: classify and summarize this many documents of --job-document-tokens through the nightly job "
            + "(local Spark) and the same rendered prompts through the engine alone; job rows/s, engine rows/s, their "
            + "ratio and where the job's time went (default: ${DEFAULT-VALUE}, off).")
    int jobVsEngine;

    @Option(names = "--job-document-tokens", paramLabel = "MIN..MAX", defaultValue = "100..1500", description = "Range "
            + "the documents' lengths of --job-vs-engine are drawn from, in the model's tokens (default: ${DEFAULT-VALUE}).")
    String jobDocumentTokens;

    @Option(names = "--chunk-rows", defaultValue = "5000", description = "run.chunk_rows of --job-vs-engine's jobs "
            + "(default: ${DEFAULT-VALUE}).")
    int chunkRows;

    @Option(names = "--partitions", defaultValue = "0", description = "run.partitions of --job-vs-engine's jobs, 0 = "
            + "Spark's default parallelism (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Option(names = "--max-batch-rows", defaultValue = "32", description = "model.max_batch_rows of --job-vs-engine's "
            + "and --rows-per-hour's jobs (default: ${DEFAULT-VALUE}).")
    int maxBatchRows;

    @Option(names = "--rows-per-hour", paramLabel = "ROWS", defaultValue = "0", description = "Instead of the engine "
            + "figures: per --document-lengths, this many documents through classify, summarize and extract on the "
            + "job's prompts and the engine alone; rows per hour and per hour and thread (default: ${DEFAULT-VALUE}, off).")
    int rowsPerHour;

    @Option(names = "--document-lengths", defaultValue = "200,800,3000", split = ",", description = "Document lengths "
            + "of --rows-per-hour, in the model's tokens, each +/-10% (default: ${DEFAULT-VALUE}).")
    List<Integer> documentLengths;

    /** The token counts in use, fitted to the model once it is open. */
    private BenchSizes sizes;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (prompts != null) {
            if (random != null) {
                throw new UserError.Usage("--prompts runs the job's model (or --model DIR), not --random");
            }
            if (repeat < 1) {
                throw new UserError.Usage("--repeat must be at least 1");
            }
            PromptsBench.run(prompts, model, repeat, out);
            return 0;
        }
        if ((model == null) == (random == null)) {
            throw new UserError.Usage("give exactly one of --model or --random");
        }
        SettingRange.THREADS.require("--threads", threads);
        SettingRange.MAX_NEW_TOKENS.require("--summary-new-tokens", summaryNewTokens);
        if (classifyRows < 0 || summaryTokens < 0 || classifyTokens < 1 || executorHourUsd < 0) {
            throw new UserError.Usage("--classify-rows, --summary-tokens and --executor-hour-usd must be 0 or more, "
                    + "--classify-tokens at least 1");
        }
        int[] continuousNew = newTokenRange(continuousNewTokens);
        if (continuousRows < 0 || continuousSlots < 1 || continuousDocumentTokens < 4) {
            throw new UserError.Usage("--continuous-rows must be 0 or more, --continuous-slots at least 1 and "
                    + "--continuous-document-tokens at least 4");
        }
        Path folder = model;
        Path temporary = null;
        if (random != null) {
            Path parent = workDir != null ? Files.createDirectories(workDir) : (temporary = Files.createTempDirectory("nightshift-bench"));
            folder = parent.resolve("random-" + random + "-" + precision);
            if (!Files.exists(folder.resolve(ModelFolder.MODEL))) {
                long start = System.nanoTime();
                ModelConverter.convert(new RandomWeights(RandomShapes.parse(random), 42), folder,
                        ConversionOptions.of(Precision.parse(precision)), null, null);
                out.printf(Locale.ROOT, "converted random %s to %s in %.1f s%n", random, precision, (System.nanoTime() - start) / 1e9);
            }
        }
        if (sqlVsJob > 0) {
            try {
                SqlBench.run(folder, sqlVsJob, threads, summaryNewTokens, workDir != null ? workDir
                        : folder.getParent(), out);
            } finally {
                delete(temporary);
            }
            return 0;
        }
        if (jobVsEngine > 0 || rowsPerHour > 0) {
            int[] lengths = tokenRange(jobDocumentTokens, "--job-document-tokens");
            if (jobVsEngine < 0 || rowsPerHour < 0 || chunkRows < 1 || partitions < 0
                    || documentLengths.stream().anyMatch(l -> l < 10)) {
                throw new UserError.Usage("--job-vs-engine and --rows-per-hour must be 0 or more, --chunk-rows at least "
                        + "1, --partitions 0 or more, --document-lengths at least 10 each");
            }
            SettingRange.MAX_BATCH_ROWS.require("--max-batch-rows", maxBatchRows);
            int context = ModelFolder.open(folder).card().contextLength();
            int longest = Math.max(jobVsEngine > 0 ? lengths[1] : 0, rowsPerHour > 0
                    ? documentLengths.stream().mapToInt(l -> l + Math.max(1, l / 10)).max().orElse(0) : 0);
            // the tasks' prompts add about 40 tokens; summarize and extract need room for their answers
            if (longest + 40 + Math.max(summaryNewTokens, 128) > context) {
                throw new UserError.Usage("documents of up to " + longest + " tokens, the prompt's words and up to "
                        + Math.max(summaryNewTokens, 128) + " new tokens do not fit the model's context of " + context
                        + " tokens; lower --job-document-tokens / --document-lengths, or convert with a longer "
                        + "--context-length");
            }
            try {
                JobBench bench = new JobBench(folder, threads, maxBatchRows, summaryNewTokens,
                        workDir != null ? workDir : folder.getParent(), out);
                if (jobVsEngine > 0) {
                    bench.jobVsEngine(jobVsEngine, lengths[0], lengths[1], chunkRows, partitions);
                }
                if (rowsPerHour > 0) {
                    bench.rowsPerHour(rowsPerHour, documentLengths);
                }
            } finally {
                delete(temporary);
            }
            return 0;
        }
        EngineOptions engineOptions = EngineOptions.defaults().withThreads(threads).withKvBudget(4L << 30);
        try (LlmEngine engine = LlmEngine.open(folder, engineOptions)) {
            int vocab = vocabSize(folder);
            sizes = BenchSizes.fit(promptTokens, newTokens, prefixTokens, documentTokens, engine.model().contextLength());
            sizes.notes().forEach(out::println);
            int promptTokens = sizes.promptTokens();
            int newTokens = sizes.newTokens();
            int engineThreads = EngineOptions.defaults().withThreads(threads).threads();
            out.printf(Locale.ROOT, "model %s (%s), %s threads, prompt %d tokens, %d new tokens, %d runs per size%n",
                    folder, engine.model().precision(), threads == 0 ? "all" : threads, promptTokens, newTokens, repeat);
            out.printf(Locale.ROOT, "%6s %22s %22s %18s%n", "batch", "prefill tok/s", "decode tok/s (all rows)", "first token ms");
            double batchOneDecode = 0;
            long allocatedPerStep = 0;
            // One unmeasured warm-up run (first runs pay for ONNX Runtime's lazy initialisation).
            run(engine, 1, vocab, 0);
            for (int batch : batchSizes) {
                double[] prefill = new double[repeat];
                double[] decode = new double[repeat];
                double[] firstToken = new double[repeat];
                for (int r = 0; r < repeat; r++) {
                    long allocatedBefore = allocatedBytes();
                    List<GenerationResult> results = run(engine, batch, vocab, r + 1);
                    long allocated = allocatedBytes() - allocatedBefore;
                    long prefillNanos = results.stream().mapToLong(GenerationResult::firstTokenNanos).max().orElse(1);
                    long decodeNanos = results.stream().mapToLong(GenerationResult::decodeNanos).max().orElse(1);
                    prefill[r] = batch * (double) promptTokens / (prefillNanos / 1e9);
                    decode[r] = batch * (double) (newTokens - 1) / (decodeNanos / 1e9);
                    firstToken[r] = prefillNanos / 1e6;
                    if (batch == 1) {
                        allocatedPerStep = allocated / newTokens;
                    }
                }
                out.printf(Locale.ROOT, "%6d %22s %22s %18s%n", batch, spread(prefill), spread(decode), spread(firstToken));
                if (batch == 1) {
                    batchOneDecode = median(decode);
                }
            }
            long weightBytes = weightBytesPerStep(folder);
            if (batchOneDecode > 0) {
                double achieved = weightBytes * batchOneDecode / 1e9;
                double copy = copyBandwidth(engineThreads);
                out.printf(Locale.ROOT, "batch-1 decode reads %.0f MB of weights per token: %.1f GB/s achieved, %.0f%% of this "
                        + "machine's copy bandwidth measured with the engine's %d threads (%.1f GB/s)%n", weightBytes / 1e6,
                        achieved, 100 * achieved / copy, engineThreads, copy);
            }
            if (batchOneDecode > 0) {
                long kvBytes = kvBytes(folder, 1, promptTokens + newTokens);
                out.printf(Locale.ROOT, "Java heap allocated per decode step at batch 1: %,d bytes (the KV cache is %,d bytes; "
                        + "the logits row alone is %,d)%n", allocatedPerStep, kvBytes, vocab * 4L);
            }
            if (sizes.prefixTokens() > 0) {
                sharedPrefix(engine, out);
            }
            if (jsonSchema != null) {
                constrained(engine, vocab, Files.readString(jsonSchema), out);
            }
            if (classifyRows > 0) {
                TaskBench.classify(engine, classifyRows, classifyTokens, out);
            }
            if (continuousRows > 0) {
                if (continuousDocumentTokens + continuousNew[1] + 64 > engine.model().contextLength()) {
                    throw new UserError.Usage("--continuous-document-tokens " + continuousDocumentTokens + " plus up to "
                            + continuousNew[1] + " new tokens and the prompt's words do not fit the model's context of "
                            + engine.model().contextLength() + " tokens; lower them");
                }
                EngineOptions slotted = engineOptions.withMaxBatchSize(continuousSlots);
                try (LlmEngine continuous = LlmEngine.open(folder, slotted.withContinuousBatching(true));
                     LlmEngine shrinking = LlmEngine.open(folder, slotted.withContinuousBatching(false))) {
                    TaskBench.continuousVsShrinking(continuous, shrinking, continuousSlots, continuousRows,
                            continuousDocumentTokens, continuousNew[0], continuousNew[1], repeat, out);
                }
            }
            if (summaryTokens > 0) {
                TaskBench.mapReduce(engine, summaryTokens, summaryNewTokens, executorHourUsd, out);
            }
            out.printf(Locale.ROOT, "peak RSS %.0f MiB%n", peakRssBytes() / 1048576.0);
        } finally {
            delete(temporary);
        }
        return 0;
    }

    private static void delete(Path temporary) throws IOException {
        if (temporary != null) {
            try (var paths = Files.walk(temporary)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** MIN..MAX (or one number) of a length option, 1 <= MIN <= MAX. */
    static int[] tokenRange(String text, String option) {
        String[] parts = text.strip().split("\\.\\.", -1);
        try {
            int min = Integer.parseInt(parts[0].strip());
            int max = parts.length == 2 ? Integer.parseInt(parts[1].strip()) : min;
            if (parts.length > 2 || min > max || min < 1) {
                throw new NumberFormatException();
            }
            return new int[]{min, max};
        } catch (NumberFormatException e) {
            throw new UserError.Usage(option + " must be MIN..MAX with 1 <= MIN <= MAX (like 100..1500), got '" + text + "'");
        }
    }

    /** MIN..MAX (or one number) of --continuous-new-tokens, each within the max_new_tokens range. */
    static int[] newTokenRange(String text) {
        String[] parts = text.strip().split("\\.\\.", -1);
        try {
            int min = Integer.parseInt(parts[0].strip());
            int max = parts.length == 2 ? Integer.parseInt(parts[1].strip()) : min;
            if (parts.length > 2 || min > max) {
                throw new NumberFormatException();
            }
            SettingRange.MAX_NEW_TOKENS.require("--continuous-new-tokens", min);
            SettingRange.MAX_NEW_TOKENS.require("--continuous-new-tokens", max);
            return new int[]{min, max};
        } catch (NumberFormatException e) {
            throw new UserError.Usage("--continuous-new-tokens must be MIN..MAX with MIN <= MAX (like 8..128), got '" + text + "'");
        }
    }

    private List<GenerationResult> run(LlmEngine engine, int batch, int vocab, long seed) {
        return run(engine, batch, vocab, seed, null);
    }

    private List<GenerationResult> run(LlmEngine engine, int batch, int vocab, long seed, String schema) {
        Random randomIds = new Random(seed);
        List<int[]> prompts = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            prompts.add(randomIds.ints(sizes.promptTokens(), 3, vocab).toArray());
        }
        List<GenerationResult> results = engine.generateIds(prompts,
                GenerationOptions.greedy(sizes.newTokens()).withIgnoreEos(true).withJsonSchema(schema));
        for (GenerationResult result : results) {
            if (result.failed()) {
                throw new IllegalStateException("benchmark row failed: " + result.error());
            }
        }
        return results;
    }

    /**
     * Decode throughput with every row constrained to {@code schema} against the same rows unconstrained, per batch
     * size. Rows generate a fixed number of tokens (past the end of the object, where only the end token is allowed),
     * so both sides do the same model work and the difference is the masking. The first constrained run, which also
     * computes the masks of the states it reaches, is timed on its own ("cold"); the medians are warm.
     */
    private void constrained(LlmEngine engine, int vocab, String schema, PrintWriter out) {
        long start = System.nanoTime();
        run(engine, 1, vocab, 0, schema);
        out.printf(Locale.ROOT, "constrained decoding (%s): first run, grammar compiled and masks computed, %.0f ms%n",
                jsonSchema, (System.nanoTime() - start) / 1e6);
        out.printf(Locale.ROOT, "%6s %26s %26s %10s%n", "batch", "unconstrained decode tok/s", "constrained decode tok/s", "slowdown");
        for (int batch : batchSizes) {
            double[] plain = new double[repeat];
            double[] masked = new double[repeat];
            for (int r = 0; r < repeat; r++) {
                plain[r] = decodeRate(run(engine, batch, vocab, r + 1, null), batch);
                masked[r] = decodeRate(run(engine, batch, vocab, r + 1, schema), batch);
            }
            out.printf(Locale.ROOT, "%6d %26s %26s %9.1f%%%n", batch, spread(plain), spread(masked),
                    100 * (median(plain) / median(masked) - 1));
        }
    }

    private double decodeRate(List<GenerationResult> results, int batch) {
        long decodeNanos = results.stream().mapToLong(GenerationResult::decodeNanos).max().orElse(1);
        return batch * (double) (sizes.newTokens() - 1) / (decodeNanos / 1e9);
    }

    /** An instruction (300 tokens by default) + per-row documents (200): prefill time with the prefix shared and without. */
    private void sharedPrefix(LlmEngine engine, PrintWriter out) {
        int prefixTokens = sizes.prefixTokens();
        int documentTokens = sizes.documentTokens();
        String instruction = words("", prefixTokens, engine, new Random(7));
        List<Prompt> shared = new ArrayList<>();
        List<Prompt> plain = new ArrayList<>();
        for (int row = 0; row < prefixRows; row++) {
            String text = words(instruction, documentTokens, engine, new Random(100 + row));
            GenerationOptions options = GenerationOptions.greedy(1).withIgnoreEos(true);
            shared.add(new Prompt(text, instruction, false, options));
            plain.add(new Prompt(text, "", false, options));
        }
        engine.generate(plain.subList(0, 1));
        double[] withPrefix = new double[repeat];
        double[] without = new double[repeat];
        for (int r = 0; r < repeat; r++) {
            without[r] = prefillMillis(engine.generate(plain));
            withPrefix[r] = prefillMillis(engine.generate(shared));
        }
        out.printf(Locale.ROOT, "shared prefix (%d rows, %d-token instruction + %d-token documents): prefill %s ms without reuse, "
                + "%s ms with the prefix prefilled once (%.1fx)%n", prefixRows, prefixTokens, documentTokens, spread(without),
                spread(withPrefix), median(without) / median(withPrefix));
    }

    private static double prefillMillis(List<GenerationResult> results) {
        for (GenerationResult result : results) {
            if (result.failed()) {
                throw new IllegalStateException("benchmark row failed: " + result.error());
            }
        }
        return results.stream().mapToLong(GenerationResult::firstTokenNanos).max().orElse(0) / 1e6;
    }

    /**
     * {@code start} followed by random words that add as many tokens as fit in {@code tokens} for this model's
     * tokenizer, never more (BenchSizes promised that the prompt fits the context).
     */
    private static String words(String start, int tokens, LlmEngine engine, Random random) {
        String[] vocabulary = {"the", "report", "of", "patient", "contract", "market", "price", "summary", "data", "review",
                "customer", "value", "plan", "risk", "team", "order", "service", "year", "model", "table"};
        int limit = engine.countTokens(start) + tokens;
        StringBuilder text = new StringBuilder(start);
        while (true) {
            String word = " " + vocabulary[random.nextInt(vocabulary.length)];
            if (engine.countTokens(text + word) > limit) {
                // a word of several tokens may not fit where a shorter one would; stop at the first that does not
                return text.toString();
            }
            text.append(word);
        }
    }

    private static int vocabSize(Path folder) throws Exception {
        return ModelFolder.of(folder).decoderShape().vocabSize();
    }

    /** Bytes of weights a decode step reads: the data file, less an embedding table that is only gathered from. */
    private static long weightBytesPerStep(Path folder) throws Exception {
        ModelFolder.DecoderShape shape = ModelFolder.of(folder).decoderShape();
        long total = Files.size(folder.resolve(ModelFolder.MODEL_DATA));
        String precision = shape.precision();
        if (precision.equals("int4") || precision.equals("int8")) {
            long embedding = (long) shape.vocabSize() * shape.hiddenSize() * 2;
            return total - embedding;
        }
        return total;
    }

    private static long kvBytes(Path folder, int rows, int length) throws Exception {
        ModelFolder.DecoderShape shape = ModelFolder.of(folder).decoderShape();
        return 2L * rows * length * shape.layers() * shape.kvHeads() * shape.headSize() * 4;
    }

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    /**
     * Bulk copy of 256 MiB between direct buffers, split over {@code threads} threads, best of 3, in GB/s counting
     * bytes read plus written. It uses the engine's thread count because one core alone cannot draw the memory
     * bandwidth the engine's threads together do, and a figure from one thread made decode look above 100%.
     */
    static double copyBandwidth(int threads) throws InterruptedException {
        int size = 256 << 20;
        ByteBuffer from = ByteBuffer.allocateDirect(size);
        ByteBuffer to = ByteBuffer.allocateDirect(size);
        int slice = size / threads;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            double best = 0;
            for (int i = 0; i < 4; i++) {
                List<Callable<Void>> copies = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int offset = t * slice;
                    int length = t == threads - 1 ? size - offset : slice;
                    copies.add(() -> {
                        to.slice(offset, length).put(from.slice(offset, length));
                        return null;
                    });
                }
                long start = System.nanoTime();
                for (Future<Void> copy : pool.invokeAll(copies)) {
                    try {
                        copy.get();
                    } catch (ExecutionException e) {
                        throw new IllegalStateException("copy bandwidth measurement failed", e.getCause());
                    }
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                // the first pass also faults the pages in, so it does not count
                if (i > 0) {
                    best = Math.max(best, 2.0 * size / seconds / 1e9);
                }
            }
            return best;
        } finally {
            pool.shutdownNow();
        }
    }

    private static long peakRssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (Exception ignored) {
            // Not Linux: no figure.
        }
        return 0;
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    static String spread(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return String.format(Locale.ROOT, "%.1f (%.1f-%.1f)", median(values), sorted[0], sorted[sorted.length - 1]);
    }
}
