package dev.nightshift.jobs.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.jobs.nightly.Nightshift;
import dev.nightshift.jobs.nightly.RunSummary;
import dev.nightshift.jobs.nightly.TableRef;
import dev.nightshift.sql.SqlModel;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * {@code bench --sql-vs-job ROWS}: the same documents, task and model through the nightly job (MERGE into Delta
 * included) and through one SELECT of the llm_* function (results written to Spark's {@code noop} sink), rows per
 * second of each and their ratio. Both read the documents from one JSON file and run with the same partitions (the
 * SELECT asks for the job's with a REPARTITION hint) on the same per-JVM engine, which a warm-up opens first.
 */
final class SqlBench {

    private static final List<String> LABELS = List.of("World", "Sports", "Business", "Sci/Tech");
    private static final String[] WORDS = ("the market team season research election company players scientists "
            + "government shares match study minister profit league data vote growth coach model court results")
            .split(" ");

    private SqlBench() {
    }

    static void run(Path model, int rows, int threads, int summaryNewTokens, Path work, PrintWriter out)
            throws IOException {
        Path docs = work.resolve("sql-bench-docs.jsonl");
        writeDocuments(docs, rows);
        SparkSession spark = JobConsole.session("local[*]", work.resolve("sql-bench-warehouse"));
        spark.conf().set(SqlModel.PATH, model.toAbsolutePath().toString());
        spark.conf().set(SqlModel.PREFIX + "model.threads", Integer.toString(threads));
        int partitions = spark.sparkContext().defaultParallelism();
        String source = "(SELECT /*+ REPARTITION(" + partitions + ") */ * FROM json.`" + docs.toAbsolutePath() + "`)";
        out.printf(Locale.ROOT, "job vs SQL: %d documents of 40-400 words, %d partitions, model %s%n", rows, partitions,
                model);
        // warm-up: opens the shared engine and JIT-compiles both paths on a few rows
        spark.sql("SELECT llm_classify(text, array('World', 'Sports', 'Business', 'Sci/Tech')) FROM " + source
                + " LIMIT 4").write().format("noop").mode("overwrite").save();
        out.printf(Locale.ROOT, "%-10s %14s %14s %10s%n", "task", "job rows/s", "SQL rows/s", "SQL/job");
        for (String task : List.of("classify", "summarize")) {
            long start = System.nanoTime();
            var job = Nightshift.job("sql-bench-" + task)
                    .source(new TableRef(null, docs.toAbsolutePath().toString(), "json", Map.of()), "id", "text");
            job = task.equals("classify") ? job.classify(task, LABELS, o -> { })
                    : job.summarize(task, o -> o.maxWords(40).maxNewTokens(summaryNewTokens));
            RunSummary run = job.model(model.toAbsolutePath().toString()).threads(threads)
                    .mergeInto(work.resolve("sql-bench-" + task + "-results").toAbsolutePath().toString())
                    .runsTable(work.resolve("sql-bench-" + task + "-runs").toAbsolutePath().toString())
                    .maxFailureRate(1.0).run(spark);
            double jobSeconds = (System.nanoTime() - start) / 1e9;
            String call = task.equals("classify")
                    ? "llm_classify(text, array('World', 'Sports', 'Business', 'Sci/Tech'))"
                    : "llm_summarize(text, 40, map('max_new_tokens', " + summaryNewTokens + "))";
            start = System.nanoTime();
            spark.sql("SELECT id, " + call + " FROM " + source).write().format("noop").mode("overwrite").save();
            double sqlSeconds = (System.nanoTime() - start) / 1e9;
            double jobRate = run.rowsProcessed() / jobSeconds;
            double sqlRate = rows / sqlSeconds;
            out.printf(Locale.ROOT, "%-10s %14.2f %14.2f %9.2fx%n", task, jobRate, sqlRate, sqlRate / jobRate);
        }
    }

    private static void writeDocuments(Path file, int rows) throws IOException {
        Random random = new Random(7);
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            int words = 40 + random.nextInt(361);
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < words; w++) {
                text.append(w == 0 ? "" : " ").append(WORDS[random.nextInt(WORDS.length)]);
            }
            lines.add(json.writeValueAsString(Map.of("id", String.format(Locale.ROOT, "doc-%05d", i),
                    "text", text.append('.').toString())));
        }
        Files.createDirectories(file.getParent());
        Files.write(file, lines);
    }
}
