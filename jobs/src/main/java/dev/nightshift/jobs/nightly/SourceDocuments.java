package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.Reason;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.count_distinct;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.substring;
import static org.apache.spark.sql.functions.when;

/**
 * The job's documents: read, checked and de-duplicated before any inference. Every problem is a
 * {@link JobConfigException} that names the file, line or setting and the fix; nothing about the source is changed
 * silently (README, "Reading the source").
 */
final class SourceDocuments {

    /** The document row's id column. */
    static final String ID = "doc_id";
    /** The document row's text column. */
    static final String TEXT = "__text";
    private static final String TITLE = "__title";
    private static final String EXTRA = "__c";

    /** Spark's corrupt-record column under {@code source.bad_rows: error_rows}. */
    private static final String CORRUPT = "__nightshift_corrupt_record";

    private final SparkSession spark;
    private final JobConfig config;

    SourceDocuments(SparkSession spark, JobConfig config) {
        this.spark = spark;
        this.config = config;
    }

    /**
     * The source's rows as stored (every column), files checked and {@code source.filter} applied: what {@link #read()}
     * selects from, and what {@code eval} samples its labelled documents from.
     */
    Dataset<Row> raw() {
        JobConfig.Source source = config.source();
        TableRef ref = source.table();
        Dataset<Row> raw;
        try {
            if (ref.isPath()) {
                if (!DeltaTables.pathExists(spark, ref.path())) {
                    throw new JobConfigException(config.locations().of("source.path") + ": " + ref.path()
                            + " does not exist");
                }
                if (ref.format().equals("delta")) {
                    raw = spark.read().format("delta").load(ref.path());
                } else {
                    Map<String, String> options = readerOptions(ref, config.locations().of("source.options"),
                            source.badRows());
                    SourceFileCheck.check(spark, ref, options, source.badRows(), config.locations().of("source.options"));
                    DataFrameReader reader = spark.read().format(ref.format()).options(options);
                    if (source.badRows() == JobConfig.BadRows.ERROR_ROWS) {
                        // Spark puts a record whose field count differs from the header's into this column, but only
                        // when the schema has it: the header's columns (all text) plus the corrupt-record column.
                        reader = reader.schema(reader.load(ref.path()).schema().add(CORRUPT, DataTypes.StringType));
                    }
                    raw = reader.load(ref.path());
                }
            } else {
                if (!spark.catalog().tableExists(ref.name())) {
                    throw new JobConfigException(config.locations().of("source.table") + ": table " + ref.name()
                            + " does not exist in the catalog (tables created without a Hive metastore last one session; "
                            + "use source.path for files and Delta folders)");
                }
                raw = spark.read().table(ref.name());
            }
        } catch (JobConfigException e) {
            throw e;
        } catch (Exception e) {
            // AnalysisException (a checked exception Scala does not declare) and friends: unreadable files, bad options
            throw new JobConfigException("cannot read the source " + ref.describe() + ": " + Reason.of(e), e);
        }
        List<String> available = List.of(raw.columns());
        if (available.isEmpty()) {
            throw new JobConfigException("the source " + ref.describe() + " has no columns (an empty folder or file?)");
        }
        if (source.filter() != null) {
            try {
                raw = raw.where(source.filter());
            } catch (Exception e) {
                // ParseException/AnalysisException: checked in Java's eyes, undeclared by Scala.
                throw new JobConfigException(config.locations().of("source.filter") + ": the filter '" + source.filter()
                        + "' is not a valid condition on the source: " + Reason.of(e), e);
            }
        }
        return raw;
    }

    /**
     * The source as (doc_id, text, title?, extra columns...), all strings, filter applied. Column names are taken
     * literally (back-quoted), so no config value reaches SQL except {@code source.filter}, which is parsed as a
     * single expression.
     */
    Dataset<Row> read() {
        JobConfig.Source source = config.source();
        Dataset<Row> raw = raw();
        List<String> available = List.of(raw.columns());
        List<Column> columns = new ArrayList<>();
        columns.add(SqlNames.column(column(available, source.id(), "source.id")).cast("string").as(ID));
        columns.add(SqlNames.column(column(available, source.text(), "source.text")).cast("string").as(TEXT));
        if (source.title() != null) {
            columns.add(SqlNames.column(column(available, source.title(), "source.title")).cast("string").as(TITLE));
        }
        for (int i = 0; i < source.columns().size(); i++) {
            columns.add(SqlNames.column(column(available, source.columns().get(i), "source.columns"))
                    .cast("string").as(EXTRA + i));
        }
        if (source.latestBy() != null) {
            columns.add(SqlNames.column(column(available, source.latestBy(), "source.latest_by")).as("__latest"));
        }
        if (source.badRows() == JobConfig.BadRows.ERROR_ROWS) {
            // Read by WorkItems: a document with a problem gets error rows instead of inference.
            columns.add(when(col(CORRUPT).isNotNull(), concat(lit("malformed CSV record (its field count differs from "
                    + "the header's; kept by source.bad_rows: error_rows): "), substring(col(CORRUPT), 1, 300)))
                    .as(WorkItems.PROBLEM_COLUMN));
        }
        return raw.select(columns.toArray(Column[]::new));
    }

    /**
     * Prompt placeholder to the column of {@link #read()}'s rows that fills it: {id}, {text}, {title} when configured,
     * then each of {@code source.columns} (a column that repeats a name above keeps the first meaning).
     */
    static Map<String, String> placeholderColumns(JobConfig.Source source) {
        Map<String, String> columns = new LinkedHashMap<>();
        columns.put("id", ID);
        columns.put("text", TEXT);
        if (source.title() != null) {
            columns.put("title", TITLE);
        }
        for (int i = 0; i < source.columns().size(); i++) {
            columns.putIfAbsent(source.columns().get(i), EXTRA + i);
        }
        return columns;
    }

    /**
     * Reader options for file sources: ours, then the user's, minus those that would change data silently. CSV
     * columns are all read as text (no {@code inferSchema}: ids {@code 7} and {@code 007} would become one), and a
     * record Spark cannot parse fails the read ({@code FAILFAST}) instead of being dropped or padded with nulls.
     */
    static Map<String, String> readerOptions(TableRef ref, String where, JobConfig.BadRows badRows) {
        Map<String, String> options = new LinkedHashMap<>();
        if (ref.format().equals("csv")) {
            options.put("header", "true");
            options.put("multiLine", "true");
            options.put("escape", "\"");
            options.put("inferSchema", "false");
        }
        if (ref.format().equals("csv") && badRows == JobConfig.BadRows.ERROR_ROWS) {
            options.put("mode", "PERMISSIVE");
            options.put("columnNameOfCorruptRecord", CORRUPT);
        } else if (ref.format().equals("csv") || ref.format().equals("json")) {
            options.put("mode", "FAILFAST");
        }
        for (Map.Entry<String, String> option : ref.options().entrySet()) {
            String key = option.getKey().toLowerCase(Locale.ROOT);
            String value = option.getValue().toLowerCase(Locale.ROOT);
            if (key.equals("inferschema") && !value.equals("false")) {
                throw new JobConfigException(where + ": inferSchema would read CSV ids such as 007 and 7 as the same "
                        + "number (and change other values' text); remove it: nightshift reads every CSV column as text");
            }
            if (key.equals("mode") && !value.equals("failfast")) {
                throw new JobConfigException(where + ": mode " + option.getValue() + " would drop or pad malformed "
                        + "records silently; remove it (malformed lines stop the job with their line number)");
            }
            if ((key.equals("ignorecorruptfiles") || key.equals("ignoremissingfiles")) && value.equals("true")) {
                throw new JobConfigException(where + ": " + option.getKey() + " would skip unreadable files silently; "
                        + "remove it (an unreadable file stops the job with its name)");
            }
            if (key.equals("columnnameofcorruptrecord")) {
                throw new JobConfigException(where + ": columnNameOfCorruptRecord is not supported: malformed records "
                        + "stop the job with their file and line; remove the option");
            }
            options.put(option.getKey(), option.getValue());
        }
        return options;
    }

    /** A configured column's actual name (exact, else the one case-insensitive match), or a clear error. */
    private String column(List<String> available, String name, String key) {
        if (available.contains(name)) {
            return name;
        }
        List<String> folded = available.stream().filter(c -> c.equalsIgnoreCase(name)).toList();
        if (folded.size() == 1) {
            return folded.get(0);
        }
        throw new JobConfigException(config.locations().of(key) + ": unknown column '" + name + "' in the source "
                + config.source().table().describe() + "; its columns are " + available);
    }

    /** Counts documents and checks ids before any work: empty source, null ids and (by policy) duplicates. */
    long check(Dataset<Row> docs) {
        Row stats;
        try {
            stats = docs.agg(count(lit(1)).as("rows"), count(when(col(ID).isNull(), 1)).as("null_ids"),
                    count_distinct(col(ID)).as("distinct_ids")).first();
        } catch (Exception e) {
            // SparkException is checked in Java's eyes, undeclared by Scala. The first action reads every file: a corrupt parquet file, a missing Delta file or a record Spark
            // cannot parse (FAILFAST) surfaces here, as a problem of the input rather than a failed job.
            throw new JobConfigException("cannot read the source " + config.source().table().describe() + ": "
                    + Reason.of(e), e);
        }
        long rows = stats.<Long>getAs("rows");
        long nullIds = stats.<Long>getAs("null_ids");
        long distinct = stats.<Long>getAs("distinct_ids");
        String source = config.source().table().describe()
                + (config.source().filter() == null ? "" : " (filter: " + config.source().filter() + ")");
        if (rows == 0) {
            throw new JobConfigException("the source " + source + " has no rows; nothing to do. Check the path, "
                    + "table or filter (an empty nightly input is usually an upstream failure)");
        }
        if (nullIds > 0) {
            throw new JobConfigException(nullIds + " source rows have a null id (column " + config.source().id()
                    + "); every document needs an id to be merged on");
        }
        if (distinct < rows && config.source().duplicates() == JobConfig.Duplicates.ERROR) {
            List<String> examples = docs.groupBy("doc_id").count().where(col("count").gt(1)).limit(5)
                    .select("doc_id").as(Encoders.STRING()).collectAsList();
            throw new JobConfigException(config.locations().of("source.duplicates") + ": " + (rows - distinct)
                    + " source rows repeat an id (for example " + examples + "); de-duplicate the source, or set "
                    + "source.duplicates: keep_latest with source.latest_by: <column>");
        }
        return distinct;
    }

    /**
     * With {@code keep_latest}, one row per id: the greatest {@code latest_by}. Ties are broken by every column the job
     * uses (text, title, extra columns, in that order, nulls last), so the pick never depends on file or partition
     * order; rows that tie on all of them are identical as far as the job can see.
     */
    Dataset<Row> deduplicate(Dataset<Row> docs) {
        if (config.source().duplicates() != JobConfig.Duplicates.KEEP_LATEST) {
            return docs;
        }
        List<Column> order = new ArrayList<>();
        order.add(col("__latest").desc_nulls_last());
        for (String column : docs.columns()) {
            if (column.startsWith("__") && !column.equals("__latest")) {
                order.add(col(column).desc_nulls_last());
            }
        }
        return docs.withColumn("__rank", row_number().over(Window.partitionBy("doc_id")
                        .orderBy(order.toArray(Column[]::new))))
                .where(col("__rank").equalTo(1)).drop("__rank", "__latest");
    }
}
