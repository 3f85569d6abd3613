package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.LabelScores;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.LongAccumulator;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Work items to result rows, on an executor: consecutive items of one task are batched, sent to the JVM's shared
 * engine, and turned into result rows. Nothing a row does fails the task: engine errors, context overflow and bad
 * text become rows with {@code error} set. Rows are produced lazily, a batch at a time.
 */
final class InferencePartition implements MapPartitionsFunction<Row, Row> {

    private final EngineFactory factory;
    private final ModelSettings model;
    private final Map<String, TaskSpec> tasks;
    private final String runId;
    private final String modelFingerprint;
    private final LongAccumulator rowsDone;
    private final LongAccumulator promptTokens;
    private final LongAccumulator outputTokens;
    private final Map<String, Integer> labelTokens = new ConcurrentHashMap<>();

    InferencePartition(EngineFactory factory, ModelSettings model, List<TaskSpec> tasks, String runId,
                       String modelFingerprint, LongAccumulator rowsDone, LongAccumulator promptTokens,
                       LongAccumulator outputTokens) {
        this.factory = factory;
        this.model = model;
        this.tasks = new HashMap<>();
        tasks.forEach(t -> this.tasks.put(t.name(), t));
        this.runId = runId;
        this.modelFingerprint = modelFingerprint;
        this.rowsDone = rowsDone;
        this.promptTokens = promptTokens;
        this.outputTokens = outputTokens;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> items) {
        TextGenerator engine = EngineHolder.get(factory, model);
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
                    ready.addAll(run(engine, tasks.get(task), batch));
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

    /** One batch of one task. */
    private List<Row> run(TextGenerator engine, TaskSpec task, List<Row> batch) {
        List<Row> good = new ArrayList<>();
        List<Row> out = new ArrayList<>(batch.size());
        for (Row item : batch) {
            String problem = item.getAs("problem");
            if (problem != null) {
                out.add(failed(engine, item, problem, 0, 0));
            } else {
                good.add(item);
            }
        }
        if (!good.isEmpty()) {
            GenerationOptions options = task.generation().options();
            List<Prompt> prompts = new ArrayList<>(good.size());
            for (Row item : good) {
                prompts.add(new Prompt(item.getAs("prompt"), task.template().sharedPrefix(), task.chat(), options));
            }
            long started = System.nanoTime();
            try {
                if (task.type() == TaskType.CLASSIFY) {
                    List<LabelScores> scores = engine.classify(prompts, task.labels());
                    long each = (System.nanoTime() - started) / good.size() / 1_000_000;
                    for (int i = 0; i < good.size(); i++) {
                        out.add(classified(engine, task, good.get(i), scores.get(i), each));
                    }
                } else {
                    List<GenerationResult> results = engine.generate(prompts);
                    long each = (System.nanoTime() - started) / good.size() / 1_000_000;
                    for (int i = 0; i < good.size(); i++) {
                        out.add(generated(engine, task, good.get(i), results.get(i), each));
                    }
                }
            } catch (RuntimeException e) {
                // The engine promises per-row errors; anything else is still confined to this batch's rows.
                long each = (System.nanoTime() - started) / good.size() / 1_000_000;
                String error = "engine failed: " + e.getClass().getSimpleName() + ": " + e.getMessage();
                for (Row item : good) {
                    out.add(failed(engine, item, error, 0, each));
                }
            }
        }
        long in = 0;
        long generated = 0;
        for (Row row : out) {
            in += row.isNullAt(6) ? 0 : row.getInt(6);
            generated += row.isNullAt(7) ? 0 : row.getInt(7);
        }
        rowsDone.add(out.size());
        promptTokens.add(in);
        outputTokens.add(generated);
        ProgressCounters.add(runId, out.size(), in, generated);
        return out;
    }

    private Row classified(TextGenerator engine, TaskSpec task, Row item, LabelScores scores, long latencyMs) {
        if (scores.failed()) {
            return failed(engine, item, scores.error(), scores.promptTokens(), latencyMs);
        }
        String label = scores.bestLabel();
        double score = scores.probabilities()[scores.best()];
        return result(engine, item, label, label, score, null, scores.promptTokens(), labelTokens(engine, label),
                "stop", null, null, latencyMs);
    }

    private int labelTokens(TextGenerator engine, String label) {
        return labelTokens.computeIfAbsent(label, engine::countTokens);
    }

    private Row generated(TextGenerator engine, TaskSpec task, Row item, GenerationResult result, long batchMs) {
        long latencyMs = result.firstTokenNanos() + result.decodeNanos() > 0
                ? (result.firstTokenNanos() + result.decodeNanos()) / 1_000_000 : batchMs;
        if (result.failed()) {
            return failed(engine, item, result.error(), result.promptTokens(), latencyMs);
        }
        String output = result.text();
        String fields = null;
        String warning = result.truncated() ? "prompt truncated to fit the context (overflow "
                + task.generation().overflow().name().toLowerCase(java.util.Locale.ROOT) + ")" : null;
        if (task.type() == TaskType.SUMMARIZE) {
            OutputParser.Trimmed trimmed = OutputParser.summary(output, task.maxWords());
            output = trimmed.text();
            warning = join(warning, trimmed.warning());
        } else if (task.type() == TaskType.EXTRACT) {
            OutputParser.Trimmed parsed = OutputParser.fields(output, task.fields());
            fields = parsed.text();
            warning = join(warning, parsed.warning());
        }
        return result(engine, item, output, null, null, fields, result.promptTokens(), result.generatedTokens(),
                result.finishReason().name().toLowerCase(java.util.Locale.ROOT), null, warning, latencyMs);
    }

    private static String join(String a, String b) {
        return a == null ? b : b == null ? a : a + "; " + b;
    }

    private Row failed(TextGenerator engine, Row item, String error, int promptTokens, long latencyMs) {
        return result(engine, item, null, null, null, null, promptTokens, 0, "error",
                error == null ? "unknown error" : error, null, latencyMs);
    }

    private Row result(TextGenerator engine, Row item, String output, String label, Double score, String fields,
                       int promptTokenCount, int outputTokenCount, String finishReason, String error, String warning,
                       long latencyMs) {
        return RowFactory.create(item.getAs("doc_id"), item.getAs("task"), output, label, score, fields,
                promptTokenCount, outputTokenCount, finishReason, error, warning, latencyMs, engine.model().id(),
                modelFingerprint, tasks.get(item.<String>getAs("task")).promptHash(), item.getAs("input_hash"), runId,
                Timestamp.from(Instant.now()));
    }
}
