package dev.nightshift.sql;

import dev.nightshift.SharedFiles;
import dev.nightshift.engine.EngineHolder;
import dev.nightshift.engine.EngineOptions;
import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.LlmEngine;
import dev.nightshift.engine.Prompt;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.task.ClassifyTask;
import dev.nightshift.task.TaskOutput;
import dev.nightshift.task.TaskType;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code llm_*} SQL functions on local Spark with a small random Llama: each function's results and types, NULL
 * and blank texts, rows handed to the engine in batches, the same answers as the task run directly on the engine,
 * and the errors a bad call gets.
 */
class LlmFunctionsTest {

    @TempDir
    static Path work;
    static Path model;
    static SparkSession spark;
    static final List<String> LABELS = List.of("billing", "refund", "other");
    static final int DOCS = 22;

    @BeforeAll
    static void start() throws Exception {
        LlamaConfig config = new LlamaConfig(64, 128, 2, 4, 2, 16, 512, 256, 1e-5f, 10000, null, false, true, 1,
                new int[] {2});
        model = work.resolve("model");
        ModelConverter.convert(new RandomWeights(config, 11), model, ConversionOptions.of(Precision.INT4),
                SharedFiles.tok512(), ConversionListener.NONE);
        spark = SparkSession.builder().master("local[2]").appName("nightshift-sql-test")
                .config("spark.sql.extensions", NightshiftExtensions.CLASS)
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.sql.warehouse.dir", work.resolve("warehouse").toString())
                .config(SqlModel.PATH, model.toString())
                .config(SqlModel.THREADS, "1")
                .config(SqlModel.MAX_BATCH_ROWS, "8")
                .config(SqlModel.FACTORY, CountingEngines.class.getName())
                .config("spark.nightshift.prices.gpt-4o-mini.input_per_1m_usd", "0.15")
                .getOrCreate();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < DOCS; i++) {
            rows.add(RowFactory.create(i, "ticket " + i + ": my card was charged " + "twice ".repeat(i % 5)
                    + "please refund order " + (1000 + i)));
        }
        rows.add(RowFactory.create(100, null));
        rows.add(RowFactory.create(101, "   "));
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);
        // two partitions, so batches are per partition as in a real query
        spark.createDataFrame(rows, schema).repartition(2).createOrReplaceTempView("docs");
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
        EngineHolder.closeAll();
    }

    @BeforeEach
    void resetCounts() {
        CountingEngines.reset();
    }

    private static Map<Integer, Row> byId(Dataset<Row> result) {
        Map<Integer, Row> rows = new HashMap<>();
        for (Row row : result.collectAsList()) {
            rows.put(row.getInt(0), row);
        }
        return rows;
    }

    private static String text(int id) {
        return "ticket " + id + ": my card was charged " + "twice ".repeat(id % 5) + "please refund order " + (1000 + id);
    }

    @Test
    void classifyGivesAConfiguredLabelPerRowInBatchesAndTheTaskOwnAnswers() throws Exception {
        Dataset<Row> result = spark.sql("SELECT id, llm_classify(text, array('billing', 'refund', 'other')) AS c "
                + "FROM docs");
        StructType type = (StructType) result.schema().apply("c").dataType();
        assertEquals(List.of("label", "score", "scores", "error", "error_code"), List.of(type.fieldNames()));
        Map<Integer, Row> rows = byId(result);
        assertEquals(DOCS + 2, rows.size());
        assertTrue(rows.get(100).isNullAt(1), "NULL text gives NULL");
        Row blank = rows.get(101).getStruct(1);
        assertEquals("EMPTY_TEXT", blank.getAs("error_code"));
        assertNull(blank.getAs("label"));

        // batches, not rows: every good row reached the engine, in batches of up to max_batch_rows (8) per partition
        List<Integer> batches = List.copyOf(CountingEngines.CLASSIFY_BATCHES);
        assertEquals(DOCS, batches.stream().mapToInt(Integer::intValue).sum(), "each row scored once: " + batches);
        assertTrue(batches.stream().allMatch(b -> b <= 8), batches.toString());
        assertTrue(batches.size() <= 4, "22 rows in two partitions take at most 4 batches of 8, got " + batches);

        // the task layer's own answer for each row, one row at a time on a fresh engine
        ClassifyTask task = (ClassifyTask) TaskType.CLASSIFY.create(null, LABELS, List.of(), 0,
                GenerationOptions.greedy(1));
        try (LlmEngine engine = LlmEngine.open(model, EngineOptions.defaults().withThreads(1))) {
            for (int id = 0; id < DOCS; id++) {
                Row c = rows.get(id).getStruct(1);
                assertNull(c.getAs("error"), "row " + id);
                Map<String, Double> scores = scala.jdk.javaapi.CollectionConverters.asJava(c.<scala.collection.Map<String, Double>>getAs("scores"));
                assertEquals(Set(LABELS), scores.keySet());
                assertEquals(1.0, scores.values().stream().mapToDouble(Double::doubleValue).sum(), 1e-9);
                String text = text(id);
                Prompt prompt = task.prompt(task.template().renderParts(n -> n.equals("text") ? text : null), false);
                TaskOutput alone = task.run(engine, List.of(prompt)).get(0);
                assertEquals(alone.label(), c.getAs("label"), "row " + id);
                assertEquals(alone.score(), c.<Double>getAs("score"), 1e-6, "row " + id);
            }
        }
    }

    private static java.util.Set<String> Set(List<String> labels) {
        return new java.util.HashSet<>(labels);
    }

    @Test
    void generateSummarizeAndTheirErrorVariants() {
        Dataset<Row> result = spark.sql("SELECT id, llm_generate(text, map('max_new_tokens', 5)) AS g, "
                + "upper(llm_generate(text, map('max_new_tokens', 5))) AS same, llm_generate_or_error(text, map('max_new_tokens', 5)) AS ge, "
                + "llm_summarize(text, 12, map('max_new_tokens', '6')) AS s, "
                + "llm_summarize_or_error(text, 12, map('max_new_tokens', '6')) AS se FROM docs");
        assertEquals(DataTypes.StringType, result.schema().apply("g").dataType());
        assertEquals(LlmFunction.TEXT_OR_ERROR, result.schema().apply("ge").dataType());
        Map<Integer, Row> rows = byId(result);
        for (int id = 0; id < DOCS; id++) {
            Row row = rows.get(id);
            assertNotNull(row.getString(1), "row " + id);
            assertEquals(row.getString(1).toUpperCase(java.util.Locale.ROOT), row.getString(2));
            assertEquals(row.getString(1), row.getStruct(3).getString(0), "the variant has the same text");
            assertNull(row.getStruct(3).getString(1));
            assertEquals(row.getString(4), row.getStruct(5).getString(0));
        }
        assertTrue(rows.get(100).isNullAt(1) && rows.get(100).isNullAt(3), "NULL in, NULL out");
        assertTrue(rows.get(101).isNullAt(1), "a blank text fails: the plain function gives NULL");
        assertEquals("EMPTY_TEXT", rows.get(101).getStruct(3).getString(2));
        // the same call written twice ran once: generate's batches hold each row once per distinct call (four)
        int generated = CountingEngines.GENERATE_BATCHES.stream().mapToInt(Integer::intValue).sum();
        assertEquals(4 * DOCS, generated, "llm_generate, its variant, llm_summarize and its variant, once per row");
    }

    @Test
    void extractReturnsTheDdlTypesAndValidValues() {
        Dataset<Row> result = spark.sql("SELECT id, llm_extract(text, 'order_id int NOT NULL, amount double, "
                + "due date, refund boolean COMMENT \"asked for a refund\"', map('max_new_tokens', 48)) AS e FROM docs");
        StructType type = (StructType) result.schema().apply("e").dataType();
        assertEquals(List.of("order_id", "amount", "due", "refund", "error", "error_code"), List.of(type.fieldNames()));
        assertEquals(DataTypes.IntegerType, type.apply("order_id").dataType());
        assertEquals(DataTypes.DateType, type.apply("due").dataType());
        Map<Integer, Row> rows = byId(result);
        Row blank = rows.get(101).getStruct(1);
        assertEquals("EMPTY_TEXT", blank.getAs("error_code"));
        assertTrue(blank.isNullAt(0), "a failed row has no values, NOT NULL fields included");
        int good = 0;
        for (int id = 0; id < DOCS; id++) {
            Row e = rows.get(id).getStruct(1);
            String code = e.getAs("error_code");
            if (code == null) {
                good++;
                assertNotNull(e.getAs("order_id"), "required field, row " + id);
            } else {
                // a random model may run out of tokens, never produce something that does not fit
                assertEquals("OUTPUT_TRUNCATED", code, "row " + id + ": " + e.getAs("error"));
            }
        }
    }

    @Test
    void tokenCountsAndCostEstimates() throws Exception {
        Map<Integer, Row> rows = byId(spark.sql("SELECT id, llm_count_tokens(text), "
                + "llm_estimate_cost(text, 'gpt-4o-mini') FROM docs"));
        try (LlmEngine engine = LlmEngine.open(model, EngineOptions.defaults().withThreads(1))) {
            for (int id = 0; id < DOCS; id++) {
                int tokens = engine.countTokens(text(id));
                assertEquals(tokens, rows.get(id).getInt(1));
                assertEquals(tokens * 0.15 / 1e6, rows.get(id).getDouble(2), 1e-15);
            }
        }
        assertTrue(rows.get(100).isNullAt(1));
        // found while planning, before any row runs
        LlmSetupException unknown = assertThrows(LlmSetupException.class,
                () -> spark.sql("SELECT llm_estimate_cost(text, 'nope') FROM docs").queryExecution().executedPlan());
        assertTrue(unknown.getMessage().contains("spark.nightshift.prices.nope.input_per_1m_usd"), unknown.getMessage());
    }

    @Test
    void whereClausesNestedCallsAndGroupByRunEachCallOncePerRow() {
        List<Integer> filtered = spark.sql("SELECT id FROM docs WHERE llm_classify(text, "
                        + "array('billing', 'refund', 'other')).label = 'refund'").collectAsList().stream()
                .map(r -> r.getInt(0)).sorted().toList();
        assertEquals(DOCS, CountingEngines.CLASSIFY_BATCHES.stream().mapToInt(Integer::intValue).sum(),
                "the filter's call ran once per row");
        List<Integer> selected = spark.sql("SELECT id, llm_classify(text, array('billing', 'refund', 'other')).label l "
                + "FROM docs").collectAsList().stream().filter(r -> "refund".equals(r.getString(1)))
                .map(r -> r.getInt(0)).sorted().toList();
        assertEquals(selected, filtered);

        Map<String, Long> counts = spark.sql("SELECT llm_classify(text, array('billing', 'refund', 'other')).label l, "
                        + "count(*) n FROM docs WHERE text IS NOT NULL AND trim(text) != '' "
                        + "GROUP BY llm_classify(text, array('billing', 'refund', 'other')).label").collectAsList()
                .stream().collect(Collectors.toMap(r -> r.getString(0), r -> r.getLong(1)));
        assertEquals(DOCS, counts.values().stream().mapToLong(Long::longValue).sum());
        CountingEngines.reset();
        Row byOrdinal = spark.sql("SELECT count(DISTINCT l), avg(llm_count_tokens(text)) FROM (SELECT "
                + "llm_classify(text, array('billing', 'refund', 'other')).label l, text FROM docs) GROUP BY l IS NULL "
                + "ORDER BY 1 DESC").collectAsList().get(0);
        assertEquals(counts.size(), byOrdinal.getLong(0));
        Map<String, Long> grouped = spark.sql("SELECT llm_classify(text, array('billing', 'refund', 'other')).label, "
                + "count(*) FROM docs GROUP BY 1").collectAsList().stream().filter(r -> !r.isNullAt(0))
                .collect(Collectors.toMap(r -> r.getString(0), r -> r.getLong(1)));
        assertEquals(counts, grouped);

        Map<Integer, Row> nested = byId(spark.sql("SELECT id, llm_count_tokens(llm_generate(text, "
                + "map('max_new_tokens', 4))) FROM docs"));
        // the outer call reads the inner one's answers: the same counts as counting generated texts one step later
        Map<Integer, Row> twoSteps = byId(spark.sql("SELECT id, llm_count_tokens(g) FROM (SELECT id, llm_generate(text, "
                + "map('max_new_tokens', 4)) AS g FROM docs)"));
        for (int id = 0; id < DOCS; id++) {
            assertEquals(twoSteps.get(id).getInt(1), nested.get(id).getInt(1), "row " + id);
        }
    }

    @Test
    void callsOutsideSelectAndWhereRunBatchedOncePerRow() {
        String classify = "llm_classify(text, array('billing', 'refund', 'other'))";
        Map<Integer, String> labels = new HashMap<>();
        spark.sql("SELECT id, " + classify + ".label FROM docs WHERE text IS NOT NULL AND trim(text) != ''")
                .collectAsList().forEach(r -> labels.put(r.getInt(0), r.getString(1)));
        List<Integer> refunds = labels.entrySet().stream().filter(e -> e.getValue().equals("refund"))
                .map(Map.Entry::getKey).sorted().toList();

        // the same call in SELECT and WHERE runs once per row
        CountingEngines.reset();
        List<Integer> both = spark.sql("SELECT id, " + classify + ".label FROM docs WHERE " + classify
                + ".label = 'refund'").collectAsList().stream().map(r -> r.getInt(0)).sorted().toList();
        assertEquals(refunds, both);
        assertEquals(DOCS, CountingEngines.CLASSIFY_BATCHES.stream().mapToInt(Integer::intValue).sum());

        // ORDER BY a call, and a LIMIT over a call over a sort (the DataFrame API's show() adds one)
        List<Row> ordered = spark.sql("SELECT id FROM docs WHERE id < 100 ORDER BY " + classify + ".label, id")
                .collectAsList();
        assertEquals(DOCS, ordered.size());
        CountingEngines.reset();
        List<Row> top = spark.table("docs").orderBy("id").selectExpr("id", classify + ".label AS label").limit(3)
                .collectAsList();
        assertEquals(List.of(0, 1, 2), top.stream().map(r -> r.getInt(0)).toList());
        assertEquals(labels.get(1), top.get(1).getString(1));
        assertEquals(3, CountingEngines.CLASSIFY_BATCHES.stream().mapToInt(Integer::intValue).sum(),
                "the limit runs first: the model reads 3 rows");

        // explode of an extracted list, UNION, a CTE
        long exploded = spark.sql("SELECT id, tag FROM docs LATERAL VIEW explode(llm_extract(text, 'tags array<string>', "
                + "map('max_new_tokens', 24)).tags) t AS tag WHERE id < 4").count();
        Row sizes = spark.sql("SELECT sum(size(coalesce(llm_extract(text, 'tags array<string>', "
                + "map('max_new_tokens', 24)).tags, array()))) FROM docs WHERE id < 4").first();
        assertEquals(sizes.isNullAt(0) ? 0 : sizes.getLong(0), exploded, "one row per extracted tag");
        assertEquals(2 * DOCS, spark.sql("SELECT " + classify + ".label FROM docs WHERE id < 100 UNION ALL SELECT "
                + classify + ".label FROM docs WHERE id < 100").count());
        assertEquals(refunds.size(), spark.sql("WITH c AS (SELECT id, " + classify + " AS c FROM docs) "
                + "SELECT id FROM c WHERE c.c.label = 'refund'").count());

        // a call over a grouping key, and a summary per group of an aggregate's result
        List<Row> perKey = spark.sql("SELECT id % 3 AS k, llm_count_tokens(concat('group ', id % 3)) AS n FROM docs "
                + "WHERE id < 100 GROUP BY id % 3 ORDER BY k").collectAsList();
        assertEquals(3, perKey.size());
        assertTrue(perKey.stream().allMatch(r -> r.getInt(1) > 0), perKey.toString());
        List<Row> perGroup = spark.sql("SELECT id % 2 AS g, llm_summarize(concat_ws(' ', collect_list(text)), 10, "
                + "map('max_new_tokens', '4', 'overflow', 'truncate_middle')) AS s, count(*) AS n FROM docs WHERE id < 100 "
                + "GROUP BY 1 ORDER BY 1")
                .collectAsList();
        assertEquals(2, perGroup.size());
        assertEquals(DOCS, perGroup.stream().mapToLong(r -> r.getLong(2)).sum());
        assertTrue(perGroup.stream().allMatch(r -> r.getString(1) != null), perGroup.toString());
    }

    @Test
    void badCallsFailTheQueryWithAClearMessage() {
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("SELECT llm_classify(text, array('only')) FROM docs", "at least two distinct");
        cases.put("SELECT llm_classify(text, array()) FROM docs", "got no labels");
        cases.put("SELECT llm_classify(text, array(1, 2)) FROM docs", "labels must be an array of strings");
        cases.put("SELECT llm_classify(text, array(text, 'b')) FROM docs", "must be a constant");
        cases.put("SELECT llm_classify(text) FROM docs", "llm_classify takes 2 to 3 arguments");
        cases.put("SELECT llm_summarize(text, 20, map('temprature', '1')) FROM docs", "has no option 'temprature'");
        cases.put("SELECT llm_summarize(text, 20, map('prompt', 'Sum up {body}')) FROM docs", "unknown placeholder {body}");
        cases.put("SELECT llm_extract(text, 'a map<string,int>') FROM docs", "field a has type");
        cases.put("SELECT llm_extract(text, 'not ddl at all (') FROM docs", "are not a DDL column list");
        cases.put("SELECT llm_extract(text, 'error string') FROM docs", "may not be named error");
        cases.put("SELECT llm_generate(id) FROM docs", "CAST(x AS STRING)");
        cases.put("SELECT llm_generate(text, map('max_new_tokens', '0')) FROM docs", "max_new_tokens must be at least 1");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            AnalysisException e = assertThrows(AnalysisException.class, () -> spark.sql(c.getKey()).collect(), c.getKey());
            assertTrue(e.getMessage().contains(c.getValue()), c.getKey() + " -> " + e.getMessage());
        }

        spark.conf().unset(SqlModel.PATH);
        try {
            Exception none = assertThrows(Exception.class, () -> spark.sql("SELECT llm_count_tokens(text) FROM docs")
                    .collect());
            assertTrue(messages(none).contains("set spark.nightshift.model.path"), messages(none));
        } finally {
            spark.conf().set(SqlModel.PATH, model.toString());
        }

        assertEquals("host", SqlModel.from(spark.conf()).settings().engineOptions().kvCache());
        try {
            spark.conf().set(SqlModel.KV_CACHE, "device");
            assertEquals("device", SqlModel.from(spark.conf()).settings().engineOptions().kvCache());
            spark.conf().set(SqlModel.KV_CACHE, "gpu");
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> SqlModel.from(spark.conf()));
            assertEquals("spark.nightshift.model.*: kv_cache must be host or device, got 'gpu'", bad.getMessage());
        } finally {
            spark.conf().unset(SqlModel.KV_CACHE);
        }
    }

    private static String messages(Throwable e) {
        StringBuilder out = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            out.append(t.getMessage()).append(" | ");
        }
        return out.toString();
    }
}
