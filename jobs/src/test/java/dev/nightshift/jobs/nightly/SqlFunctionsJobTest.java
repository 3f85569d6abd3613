package dev.nightshift.jobs.nightly;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.sql.SqlModel;
import dev.nightshift.task.FieldSpec;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The llm_* SQL functions give the nightly job's answers, row by row: the same documents, task options and model
 * through a job (results in Delta) and through one SELECT (issue 11).
 */
class SqlFunctionsJobTest extends SparkJobTest {

    static final List<String> LABELS = List.of("World", "Sports", "Business", "Sci/Tech");
    static String model;

    @BeforeAll
    static void convertModel() throws Exception {
        LlamaConfig config = new LlamaConfig(64, 172, 2, 8, 4, 8, 512, 1024, 1e-5f, 10000, null, false, false, 1,
                new int[] {2});
        model = warehouse.resolve("random-model").toString();
        ModelConverter.convert(new RandomWeights(config, 7), Path.of(model), ConversionOptions.of(Precision.INT4),
                null, ConversionListener.NONE);
    }

    @Test
    void theReadmeSqlExamplesRun() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        String section = readme.substring(readme.indexOf("## SQL functions"), readme.indexOf("## Evaluation"));
        List<String> statements = new ArrayList<>();
        Matcher block = Pattern.compile("(?s)```sql\n(.*?)```").matcher(section);
        while (block.find()) {
            StringBuilder current = new StringBuilder();
            for (String line : block.group(1).lines().toList()) {
                if (!line.strip().startsWith("--")) {
                    current.append(line).append('\n');
                }
                if (line.strip().endsWith(";")) {
                    String statement = current.toString().strip();
                    statements.add(statement.substring(0, statement.length() - 1));
                    current.setLength(0);
                }
            }
        }
        assertTrue(statements.size() >= 5, statements.toString());
        spark.createDataFrame(List.of(RowFactory.create(1, "I was charged twice for order 1234, please refund $20."),
                        RowFactory.create(2, "How do I change the billing address on my invoice?"),
                        RowFactory.create(3, "Your app is great.")),
                new StructType().add("id", DataTypes.IntegerType).add("body", DataTypes.StringType))
                .createOrReplaceTempView("tickets");
        spark.conf().set(SqlModel.PATH, model);
        spark.conf().set(SqlModel.PREFIX + "model.threads", "1");
        spark.conf().set(SqlModel.PREFIX + "prices.gpt-4o-mini.input_per_1m_usd", "0.15");
        for (String statement : statements) {
            List<Row> rows = spark.sql(statement).collectAsList();
            assertTrue(statement.contains("WHERE") || !rows.isEmpty(), statement);
        }
    }

    @Test
    void aSelectGivesTheJobsLabelsScoresSummariesFieldsAndGenerations() throws Exception {
        JobFiles files = new JobFiles(dir).documents(8, Map.of());
        RunSummary run = Nightshift.job("sql-equality")
                .source(new TableRef(null, files.docs.toString(), "json", Map.of()), "id", "text")
                .classify("topic", LABELS, o -> { })
                .summarize("tldr", o -> o.maxWords(6).maxNewTokens(8))
                .generate("reply", "{text}", o -> o.maxNewTokens(6).seed(3))
                .extract("facts", List.of(), o -> o.fieldSpecs(List.of(
                        new FieldSpec("urgent", FieldSpec.FieldType.BOOLEAN, "", false, List.of(), List.of()),
                        new FieldSpec("billed", FieldSpec.FieldType.BOOLEAN, "", false, List.of(), List.of())))
                        .maxNewTokens(96))
                .model(model).threads(1).maxBatchRows(4)
                .mergeInto(dir.resolve("results").toString()).runsTable(dir.resolve("runs").toString())
                .maxFailureRate(1.0)  // a random model may run out of tokens while extracting: error rows compare too
                .run(spark);
        assertEquals(32, run.rowsProcessed());
        Map<String, Row> job = new HashMap<>();
        for (Row row : spark.read().format("delta").load(dir.resolve("results").toString()).collectAsList()) {
            job.put(row.<String>getAs("doc_id") + "/" + row.getAs("task"), row);
        }

        spark.conf().set(SqlModel.PATH, model);
        spark.conf().set(SqlModel.PREFIX + "model.threads", "1");
        spark.conf().set(SqlModel.PREFIX + "model.max_batch_rows", "3");  // other batches than the job's: same answers
        List<Row> sql = spark.sql("SELECT id, llm_classify(text, array('World', 'Sports', 'Business', 'Sci/Tech')) c, "
                + "llm_summarize(text, 6, map('max_new_tokens', 8)) s, "
                + "llm_extract(text, 'urgent boolean, billed boolean', map('max_new_tokens', 96)) f, "
                + "llm_generate(text, map('max_new_tokens', 6, 'seed', 3)) g "
                + "FROM json.`" + files.docs + "`").collectAsList();
        assertEquals(8, sql.size());
        ObjectMapper json = new ObjectMapper();
        int extracted = 0;
        for (Row row : sql) {
            String id = row.getString(0);
            Row topic = job.get(id + "/topic");
            Row c = row.getStruct(1);
            assertEquals(topic.<String>getAs("label"), c.getAs("label"), id);
            assertEquals(topic.<Double>getAs("score"), c.<Double>getAs("score"), 1e-9, id);
            assertEquals(topic.getJavaMap(topic.fieldIndex("scores")).toString(),
                    c.getJavaMap(c.fieldIndex("scores")).toString(), id);
            assertEquals(job.get(id + "/tldr").<String>getAs("output"), row.getString(2), id);
            // greedy: sampled output may differ between batch sizes (README, "Sampling"), and these batches differ
            assertEquals(job.get(id + "/reply").<String>getAs("output"), row.getString(4), id);
            Row facts = job.get(id + "/facts");
            Row f = row.getStruct(3);
            assertEquals(facts.<String>getAs("error_code"), f.getAs("error_code"), id);
            if (facts.getAs("fields") != null) {
                JsonNode fields = json.readTree(facts.<String>getAs("fields"));
                for (String field : List.of("urgent", "billed")) {
                    assertEquals(fields.get(field).isNull() ? null : fields.get(field).asBoolean(), f.getAs(field), id);
                }
                extracted++;
            }
        }
        assertTrue(extracted > 0, "some rows were extracted");
    }
}
