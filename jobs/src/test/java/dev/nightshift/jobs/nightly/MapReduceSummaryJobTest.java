package dev.nightshift.jobs.nightly;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nightshift.SharedFiles;
import dev.nightshift.engine.ErrorCode;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Summaries of documents longer than the context (issue 10) through the whole job: a random model with a 256-token
 * context, the longest scitldr abstracts (several hundred tokens each) and two short documents, summarized by two tasks
 * with the same prompt, one under {@code overflow: error} and one under {@code map_reduce}. The long documents fail the
 * first and get chunked summaries from the second, with {@code summary_chunks > 1} and their depth in the results
 * table; the short ones get the same summary from both (a document that fits is not changed by map_reduce).
 */
class MapReduceSummaryJobTest extends SparkJobTest {

    @Test
    void longDocumentsAreSummarizedInChunksAndTheirShapeIsRecorded() throws Exception {
        LlamaConfig config = new LlamaConfig(64, 172, 2, 8, 4, 8, 512, 256, 1e-5f, 10000, null, false, false, 1,
                new int[]{2});
        Path model = warehouse.resolve("model-map-reduce");
        ModelConverter.convert(new RandomWeights(config, 11), model, ConversionOptions.of(Precision.INT4), null,
                ConversionListener.NONE);
        ObjectMapper json = new ObjectMapper();
        List<ObjectNode> abstracts = new ArrayList<>();
        for (String line : Files.readAllLines(SharedFiles.get("data/scitldr_test/data.jsonl"))) {
            abstracts.add((ObjectNode) json.readTree(line));
        }
        abstracts.sort((a, b) -> b.get("text").asText().length() - a.get("text").asText().length());
        StringBuilder docs = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            docs.append(json.writeValueAsString(Map.of("id", "long-" + i, "text", abstracts.get(i).get("text").asText())))
                    .append('\n');
        }
        docs.append(json.writeValueAsString(Map.of("id", "short-0", "text", "The model reads short notes."))).append('\n');
        docs.append(json.writeValueAsString(Map.of("id", "short-1", "text", "Results were merged into Delta."))).append('\n');
        Path source = dir.resolve("docs.jsonl");
        Files.writeString(source, docs);
        String yaml = """
                job: long-documents
                source: {path: '%s', format: json, id: id, text: text}
                tasks:
                  - {name: plain, type: summarize, max_words: 20, generation: {max_new_tokens: 12}}
                  - {name: chunked, type: summarize, max_words: 20, generation: {max_new_tokens: 12, overflow: map_reduce}}
                model: {path: '%s', threads: 1}
                output:
                  results: {path: '%s'}
                  runs: {path: '%s'}
                run: {max_failure_rate: 1.0}
                """.formatted(source, model, dir.resolve("results"), dir.resolve("runs"));
        RunSummary run = NightlyJob.of(spark, JobConfigLoader.parse(yaml, "long.yaml")).run();
        assertEquals(10, run.rowsProcessed());

        Map<String, Row> byKey = new HashMap<>();
        for (Row row : spark.read().format("delta").load(dir.resolve("results").toString()).collectAsList()) {
            byKey.put(row.<String>getAs("task") + "/" + row.<String>getAs("doc_id"), row);
        }
        for (int i = 0; i < 3; i++) {
            Row plain = byKey.get("plain/long-" + i);
            assertEquals(ErrorCode.CONTEXT_OVERFLOW.name(), plain.getAs("error_code"), plain.toString());
            Row chunked = byKey.get("chunked/long-" + i);
            assertNull(chunked.getAs("error"), chunked.toString());
            assertNotNull(chunked.getAs("output"));
            int chunks = chunked.<Integer>getAs("summary_chunks");
            int depth = chunked.<Integer>getAs("summary_depth");
            assertTrue(chunks > 1, "chunks " + chunks);
            assertTrue(depth >= 2 && depth <= 4, "depth " + depth);
            // Every call's prompt counts: more than the context, which no single prompt can be.
            assertTrue(chunked.<Integer>getAs("prompt_tokens") > 256, chunked.toString());
        }
        for (String id : List.of("short-0", "short-1")) {
            Row plain = byKey.get("plain/" + id);
            Row chunked = byKey.get("chunked/" + id);
            assertNull(chunked.getAs("error"), chunked.toString());
            assertEquals(plain.<String>getAs("output"), chunked.getAs("output"));
            assertEquals(plain.<Integer>getAs("prompt_tokens"), chunked.getAs("prompt_tokens"));
            assertEquals(1, chunked.<Integer>getAs("summary_chunks"));
            assertEquals(1, chunked.<Integer>getAs("summary_depth"));
            assertEquals(1, plain.<Integer>getAs("summary_chunks"));
        }
    }
}
