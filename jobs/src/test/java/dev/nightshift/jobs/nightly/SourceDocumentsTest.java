package dev.nightshift.jobs.nightly;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reading the source: malformed files stop the job with the file and line, no reader option changes data silently,
 * and keep_latest picks the same row whatever the input order. No MERGE runs here, so these tests are quick.
 */
class SourceDocumentsTest extends SparkJobTest {


    /** A job over {@code file} (csv or json) with columns id, title, text, region; {@code options} is a YAML map. */
    private JobConfig config(Path file, String format, String options, String extraSource) {
        JobFiles files = new JobFiles(dir);
        String yaml = files.yaml("Summarize: {text}", 1000, "")
                .replace("path: " + files.docs + "\n  format: json", "path: " + file + "\n  format: " + format
                        + (options == null ? "" : "\n  options: " + options) + extraSource);
        return JobConfigLoader.parse(yaml, dir.resolve("job.yaml").toString());
    }

    private List<String> ids(JobConfig config) {
        SourceDocuments source = new SourceDocuments(spark, config);
        Dataset<Row> docs = source.read();
        source.check(docs);
        return docs.select("doc_id").as(org.apache.spark.sql.Encoders.STRING()).collectAsList().stream().sorted().toList();
    }

    private JobConfigException refused(JobConfig config) {
        return assertThrows(JobConfigException.class, () -> ids(config));
    }

    private Path write(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void anUnterminatedQuoteIsAnInputErrorWithItsLineInsteadOfSwallowingTheRowsAfterIt() throws Exception {
        Path csv = write("docs.csv", """
                id;title;text;region
                1;One;first document;north
                2;Two;"an unterminated quote;south
                3;Three;third document;north
                4;Four;fourth document;south
                """);
        String message = refused(config(csv, "csv", "{sep: \";\"}", "")).getMessage();
        assertTrue(message.startsWith(csv + " line 3 opens a quoted value that is never closed"), message);
    }

    @Test
    void rowsWithExtraOrMissingFieldsAreInputErrorsWithTheirLines() throws Exception {
        Path extra = write("extra.csv", "id;title;text;region\n1;One;first;north\n2;Two;second;south;surplus\n");
        String message = refused(config(extra, "csv", "{sep: \";\"}", "")).getMessage();
        assertTrue(message.startsWith(extra + " line 3 has 5 fields where the header has 4 (separator ';')"), message);

        Path shortRows = write("short.csv", "id;title;text;region\n1;One;first\n2;Two;second;south\n3\n");
        message = refused(config(shortRows, "csv", "{sep: \";\"}", "")).getMessage();
        assertTrue(message.startsWith(shortRows + " line 2 has 3 fields where the header has 4"), message);
        assertTrue(message.contains("(2 malformed records in this file)"), message);
    }

    @Test
    void filesInPartitionFoldersAreCheckedAndNamed() throws Exception {
        Path table = dir.resolve("partitioned");
        Path north = Files.createDirectories(table.resolve("region=north"));
        Path south = Files.createDirectories(table.resolve("region=south"));
        Files.writeString(north.resolve("part-0.csv"), "id,title,text\n1,A,fine\n");
        Files.writeString(south.resolve("part-0.csv"), "id,title,text\n2,B,fine\n3,C,one,too many\n");
        JobConfig config = config(table, "csv", null, "");
        String message = refused(config).getMessage();
        assertTrue(message.startsWith(south.resolve("part-0.csv") + " line 3 has 4 fields where the header has 3"), message);

        Files.writeString(south.resolve("part-0.csv"), "id,title,text\n2,B,fine\n");
        assertEquals(List.of("1", "2"), ids(config), "the partition column region is read as usual");
    }

    @Test
    void withBadRowsErrorRowsMalformedRecordsBecomeErrorRowsAndTheRestIsInferred() throws Exception {
        Path csv = write("docs.csv", """
                id;title;text;region
                1;One;first document;north
                2;Two;second document;south;surplus
                3;Three
                4;Four;fourth document;south
                """);
        JobConfig config = config(csv, "csv", "{sep: \";\"}", "\n  bad_rows: error_rows");
        assertTrue(refused(config(csv, "csv", "{sep: \";\"}", "")).getMessage().contains(
                "or set source.bad_rows: error_rows to keep such records as error rows"), "the default names the opt-in");

        RunSummary run = NightlyJob.of(spark, config).engines(new FakeEngine.Factory()).run();

        assertEquals(4, run.docsRead());
        assertEquals(8, run.rowsProcessed());
        assertEquals(4, run.rowsFailed(), "two tasks for each of the two malformed records");
        List<Row> rows = spark.sql("SELECT doc_id, task, error FROM delta.`" + dir.resolve("results")
                + "` ORDER BY doc_id, task").collectAsList();
        for (Row row : rows) {
            String error = row.getString(2);
            if (row.getString(0).equals("2") || row.getString(0).equals("3")) {
                assertTrue(error != null && error.contains("malformed CSV record"), row.toString());
            } else {
                assertEquals(null, error, row.toString());
            }
        }
        assertTrue(rows.stream().anyMatch(r -> r.getString(2) != null && r.getString(2).contains("2;Two;second document;south;surplus")),
                rows.toString());

        Path unclosed = write("unclosed.csv", "id;title;text;region\n1;One;\"open;north\n2;Two;x;south\n");
        assertTrue(refused(config(unclosed, "csv", "{sep: \";\"}", "\n  bad_rows: error_rows")).getMessage()
                .contains("line 2 opens a quoted value that is never closed"), "lost rows cannot become error rows");
    }

    @Test
    void aQuoteInsideAQuotedValueMustBeDoubledOrTheRowsAfterItWouldMerge() throws Exception {
        Path csv = write("docs.csv", "id,title,text,region\n1,One,\"he said \"hi\" twice\",north\n2,Two,second,south\n");
        String message = refused(config(csv, "csv", null, "")).getMessage();
        assertTrue(message.startsWith(csv + " line 2 has 'h' after a closing quote"), message);
    }

    @Test
    void wellFormedCsvKeepsIdsAsWrittenAndQuotedLineBreaksAsLf() throws Exception {
        Path csv = write("docs.csv", "id,title,text,region\r\n007,A,\"two\r\nlines, \"\"quoted\"\"\",north\r\n7,B,plain,south\r\n");
        JobConfig config = config(csv, "csv", null, "");
        assertEquals(List.of("007", "7"), ids(config), "ids are text: 007 and 7 are two documents");
        List<Row> texts = new SourceDocuments(spark, config).read().orderBy("doc_id").select("__text").collectAsList();
        // Spark's CSV parser reads a line break inside quotes as \n whatever the file's line ends (README).
        assertEquals("two\nlines, \"quoted\"", texts.get(0).getString(0));
    }

    @Test
    void readerOptionsThatWouldChangeDataSilentlyAreRefused() throws Exception {
        Path csv = write("docs.csv", "id,title,text,region\n007,A,x,north\n");
        assertTrue(refused(config(csv, "csv", "{inferSchema: \"true\"}", "")).getMessage()
                .contains("inferSchema would read CSV ids such as 007 and 7 as the same number"));
        assertTrue(refused(config(csv, "csv", "{mode: DROPMALFORMED}", "")).getMessage()
                .contains("mode DROPMALFORMED would drop or pad malformed records silently"));
        assertTrue(refused(config(csv, "csv", "{ignoreCorruptFiles: \"true\"}", "")).getMessage()
                .contains("ignoreCorruptFiles would skip unreadable files silently"));
    }

    @Test
    void malformedJsonLinesAreCountedAndTheFirstIsNamedInsteadOfNullIds() throws Exception {
        Path json = dir.resolve("docs.jsonl");
        byte[] badUtf8 = {'{', '"', 'i', 'd', '"', ':', '"', (byte) 0xff, '"', '}', '\n'};
        Files.write(json, concat("""
                {"id": "1", "title": "A", "text": "fine", "region": "north"}
                {"id": "2", "title": "B", "text": "cut off
                {"id": "3", "title": "C", "text": "fine", "region": "north"}
                """.getBytes(java.nio.charset.StandardCharsets.UTF_8), badUtf8));
        String message = refused(config(json, "json", null, "")).getMessage();
        assertTrue(message.startsWith("2 lines of " + json + " are not valid JSON objects (first at line 2, which is not "
                + "valid JSON: "), message);
    }

    @Test
    void aBinaryFileIsNotValidUtf8RatherThanAnUnknownColumn() throws Exception {
        Path binary = dir.resolve("docs.bin");
        byte[] bytes = new byte[4096];
        new java.util.Random(1).nextBytes(bytes);
        Files.write(binary, bytes);
        String message = refused(config(binary, "json", null, "")).getMessage();
        assertTrue(message.contains("of " + binary + " ") && message.contains("is not valid UTF-8"), message);
        message = refused(config(binary, "csv", null, "")).getMessage();
        assertTrue(message.startsWith(binary + " line ") && message.contains("is not valid UTF-8 text"), message);
    }

    @Test
    void anUnreadableParquetFileNamesTheSourceAndSparksReason() throws Exception {
        Path parquet = Files.createDirectories(dir.resolve("table"));
        spark.createDataFrame(List.of(RowFactory.create("1", "A", "x", "north")), new StructType()
                .add("id", DataTypes.StringType).add("title", DataTypes.StringType).add("text", DataTypes.StringType)
                .add("region", DataTypes.StringType)).write().mode("overwrite").parquet(parquet.toString());
        Files.writeString(parquet.resolve("part-99999-broken.parquet"), "this is not parquet");
        String message = refused(config(parquet, "parquet", null, "")).getMessage();
        assertTrue(message.startsWith("cannot read the source parquet path " + parquet + ": "), message);
        assertTrue(message.length() > ("cannot read the source parquet path " + parquet + ": ").length() + 10, message);
    }

    @Test
    void aDeltaTableWithAMissingDataFileIsAnInputErrorNamingTheSource() throws Exception {
        Path delta = dir.resolve("delta-docs");
        spark.createDataFrame(List.of(RowFactory.create("1", "A", "x", "north")), new StructType()
                .add("id", DataTypes.StringType).add("title", DataTypes.StringType).add("text", DataTypes.StringType)
                .add("region", DataTypes.StringType)).write().format("delta").save(delta.toString());
        try (java.util.stream.Stream<Path> files = Files.list(delta)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".parquet")).toList()) {
                Files.delete(file);
            }
        }
        String message = refused(config(delta, "delta", null, "")).getMessage();
        assertTrue(message.startsWith("cannot read the source delta path " + delta + ": "), message);
        assertTrue(message.contains(".parquet"), "names the missing file: " + message);
    }

    @Test
    void anInvalidFilterSaysWhatSparkCouldNotParse() throws Exception {
        Path csv = write("docs.csv", "id,title,text,region\n1,A,x,north\n");
        String message = refused(config(csv, "csv", null, "\n  filter: \"region = \"")).getMessage();
        assertTrue(message.contains("the filter 'region = ' is not a valid condition on the source: [PARSE_SYNTAX_ERROR]"),
                message);
    }

    @Test
    void keepLatestTiesResolveTheSameWayWhateverTheInputOrder() {
        JobConfig base = new JobFiles(dir).config();
        JobConfig.Source s = base.source();
        JobConfig config = base.withSource(new JobConfig.Source(s.table(), s.id(), s.text(), s.title(), s.columns(),
                s.filter(), JobConfig.Duplicates.KEEP_LATEST, "version"));
        StructType schema = new StructType().add("doc_id", DataTypes.StringType).add("__text", DataTypes.StringType)
                .add("__title", DataTypes.StringType).add("__c0", DataTypes.StringType).add("__latest", DataTypes.IntegerType);
        // Same id, same latest_by, same text: only the title or the extra column differ.
        List<Row> rows = new ArrayList<>(List.of(
                RowFactory.create("a", "same text", "Title B", "north", 2),
                RowFactory.create("a", "same text", "Title A", "north", 2),
                RowFactory.create("a", "same text", "Title A", "south", 2),
                RowFactory.create("a", "newest?", "Title Z", "north", 1)));
        List<String> picks = new ArrayList<>();
        for (int order = 0; order < 6; order++) {
            Collections.rotate(rows, 1);
            if (order == 3) {
                Collections.reverse(rows);
            }
            Row kept = new SourceDocuments(spark, config).deduplicate(spark.createDataFrame(rows, schema).repartition(1))
                    .first();
            picks.add(kept.getAs("__title") + "/" + kept.getAs("__c0"));
        }
        assertEquals(Collections.nCopies(6, "Title B/north"), picks);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

}
