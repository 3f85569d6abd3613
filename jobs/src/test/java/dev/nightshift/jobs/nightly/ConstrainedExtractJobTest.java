package dev.nightshift.jobs.nightly;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.nightshift.engine.ErrorCode;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.task.ExtractTask;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import com.fasterxml.jackson.databind.JsonNode;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A nightly job with a typed extract task on a random-weight model: the weights know nothing about invoices, yet
 * every row's {@code fields} is JSON that validates against the fields' schema, or the row says its object was cut
 * by max_new_tokens ({@code OUTPUT_TRUNCATED}); nothing in between.
 */
class ConstrainedExtractJobTest extends SparkJobTest {

    @Test
    void everyExtractedObjectValidatesAgainstItsFields() throws Exception {
        LlamaConfig config = new LlamaConfig(64, 172, 2, 8, 4, 8, 512, 1024, 1e-5f, 10000, null, false, false, 1,
                new int[]{2});
        Path model = warehouse.resolve("model-extract");
        ModelConverter.convert(new RandomWeights(config, 9), model, ConversionOptions.of(Precision.INT4), null,
                ConversionListener.NONE);
        JobFiles files = new JobFiles(dir).documents(10, Map.of());
        String yaml = """
                job: invoices
                source: {path: '%s', format: json, id: id, text: text}
                tasks:
                  - name: invoice
                    type: extract
                    fields:
                      - {name: paid, type: boolean, required: true}
                      - {name: status, type: enum, values: [open, closed]}
                      - {name: lines, type: integer}
                      - {name: due, type: date}
                      - {name: vendor, type: object, fields: [{name: country, type: enum, values: [NO, SE]}]}
                    generation: {max_new_tokens: 160}
                model: {path: '%s', threads: 1}
                output:
                  results: {path: '%s'}
                  runs: {path: '%s'}
                run: {max_failure_rate: 1.0}
                """.formatted(files.docs, model, dir.resolve("results"), dir.resolve("runs"));
        JobConfig job = JobConfigLoader.parse(yaml, "invoices.yaml");
        RunSummary run = NightlyJob.of(spark, job).run();
        assertEquals(10, run.rowsProcessed());

        String schema = ((ExtractTask) job.tasks().get(0).definition()).jsonSchema();
        Schema validator = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(schema);
        ObjectMapper json = new ObjectMapper();
        List<Row> rows = spark.read().format("delta").load(dir.resolve("results").toString()).collectAsList();
        assertEquals(10, rows.size());
        int valid = 0;
        for (Row row : rows) {
            String fields = row.getAs("fields");
            if (fields != null) {
                assertEquals(List.of(), validator.validate(json.readTree(fields)), fields);
                assertEquals("stop", row.getAs("finish_reason"), row.toString());
                valid++;
            } else {
                assertEquals(ErrorCode.OUTPUT_TRUNCATED.name(), row.getAs("error_code"), row.toString());
            }
        }
        assertTrue(valid >= 5, "only " + valid + " of 10 objects closed within 160 tokens");

        // The typed column: Spark types from the field spec, values equal to the JSON's, usable in arithmetic.
        Dataset<Row> results = spark.read().format("delta").load(dir.resolve("results").toString());
        assertEquals("STRUCT<paid: BOOLEAN, status: STRING, lines: BIGINT, due: DATE, vendor: STRUCT<country: STRING>>",
                ((StructType) results.schema().apply("extracted").dataType()).apply("invoice").dataType().sql());
        for (Row row : results.selectExpr("fields", "extracted.invoice.paid AS paid", "extracted.invoice.lines + 1 AS next",
                "CAST(extracted.invoice.due AS STRING) AS due", "extracted.invoice.vendor.country AS country",
                "field_confidence").collectAsList()) {
            String fields = row.getAs("fields");
            if (fields == null) {
                continue;
            }
            JsonNode node = json.readTree(fields);
            assertEquals(node.get("paid").asBoolean(), row.<Boolean>getAs("paid"), fields);
            assertEquals(node.get("lines").isNull() ? null : node.get("lines").asLong() + 1, row.<Long>getAs("next"), fields);
            assertEquals(node.get("due").isNull() ? null : node.get("due").asText(), row.getAs("due"), fields);
            assertEquals(node.get("vendor").isNull() ? null : node.get("vendor").get("country").textValue(),
                    row.getAs("country"), fields);
            Map<String, Double> confidence = row.getJavaMap(row.fieldIndex("field_confidence"));
            assertEquals(java.util.Set.of("paid", "status", "lines", "due", "vendor"), confidence.keySet(), fields);
            confidence.values().forEach(p -> assertTrue(p > 0 && p <= 1, fields + " " + confidence));
        }

        // A field changes type: the task's struct is rebuilt from every row's fields JSON (old rows keep their values).
        long before = results.where("extracted.invoice.lines IS NOT NULL").count();
        JobConfig retyped = JobConfigLoader.parse(yaml.replace("{name: lines, type: integer}", "{name: lines, type: number}")
                .replace("max_new_tokens: 160", "max_new_tokens: 1"), "invoices.yaml");
        NightlyJob.of(spark, retyped).run();
        Dataset<Row> after = spark.read().format("delta").load(dir.resolve("results").toString());
        assertEquals("DOUBLE", ((StructType) ((StructType) after.schema().apply("extracted").dataType())
                .apply("invoice").dataType()).apply("lines").dataType().sql());
        assertEquals(before, after.where("extracted.invoice.lines IS NOT NULL").count(),
                "the failed reruns keep the last good output, and its typed value");
    }
}
