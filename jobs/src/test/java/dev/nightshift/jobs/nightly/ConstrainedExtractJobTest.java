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
import org.apache.spark.sql.Row;
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
    }
}
