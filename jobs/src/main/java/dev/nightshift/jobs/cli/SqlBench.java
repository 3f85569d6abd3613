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
 * SELECT asks for the job's with a REPARTITION hint) on the same per-JVM engine; a warm-up runs both paths once on a
 * few documents first (the engine opens, the JIT compiles, Delta writes its first tables).
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
        // warm-up: opens the shared engine and runs both paths once on a few documents (JIT, Delta's first tables)
        Path warmDocs = work.resolve("sql-bench-warm-up.jsonl");
        writeDocuments(warmDocs, 8);
        spark.sql("SELECT llm_classify(text, array('World', 'Sports', 'Business', 'Sci/Tech')) FROM json.`"
                + warmDocs.toAbsolutePath() + "`").write().format("noop").mode("overwrite").save();
        job("warm-up", "classify", warmDocs, model, threads, summaryNewTokens, work);
        out.printf(Locale.ROOT, "%-10s %14s %14s %10s%n", "task", "job rows/s", "SQL rows/s", "SQL/job");
        for (String task : List.of("classify", "summarize")) {
            long start = System.nanoTime();
            RunSummary run = job("measured", task, docs, model, threads, summaryNewTokens, work);
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

    /** One nightly job of one task over the documents, into tables of its own. */
    private static RunSummary job(String name, String task, Path docs, Path model, int threads, int summaryNewTokens,
                                  Path work) {
        var job = Nightshift.job("sql-bench-" + name + "-" + task)
                .source(new TableRef(null, docs.toAbsolutePath().toString(), "json", Map.of()), "id", "text");
        job = task.equals("classify") ? job.classify(task, LABELS, o -> { })
                : job.summarize(task, o -> o.maxWords(40).maxNewTokens(summaryNewTokens));
        String tables = work.resolve("sql-bench-" + name + "-" + task).toAbsolutePath().toString();
        return job.model(model.toAbsolutePath().toString()).threads(threads).mergeInto(tables + "-results")
                .runsTable(tables + "-runs").maxFailureRate(1.0).run(JobConsole.session("local[*]", work));
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
