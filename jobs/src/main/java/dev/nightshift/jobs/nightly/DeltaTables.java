package dev.nightshift.jobs.nightly;

import io.delta.tables.DeltaTable;
import io.delta.tables.DeltaTableBuilder;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/** Creating, checking, reading and merging into the job's Delta tables, by name or by path. */
final class DeltaTables {

    private DeltaTables() {
    }

    static boolean exists(SparkSession spark, TableRef ref) {
        if (ref.isPath()) {
            if (DeltaTable.isDeltaTable(spark, ref.path())) {
                return true;
            }
            if (pathExists(spark, ref.path()) && !isEmptyDir(spark, ref.path())) {
                throw new JobConfigException(ref.describe() + " exists but is not a Delta table; point the output at a "
                        + "new folder or an existing Nightshift table");
            }
            return false;
        }
        return spark.catalog().tableExists(ref.name());
    }

    static Dataset<Row> read(SparkSession spark, TableRef ref) {
        return ref.isPath() ? spark.read().format("delta").load(ref.path()) : spark.read().table(ref.name());
    }

    static DeltaTable open(SparkSession spark, TableRef ref) {
        return ref.isPath() ? DeltaTable.forPath(spark, ref.path()) : DeltaTable.forName(spark, ref.name());
    }

    /**
     * Creates the table when it is missing; when it exists, checks that its columns are exactly {@code schema}'s, so
     * an upgrade that changes the schema stops with a message instead of writing a mixed table.
     *
     * @return whether the table already existed
     */
    static boolean ensure(SparkSession spark, TableRef ref, StructType schema, String kind, String version,
                          String... partitionColumns) {
        return ensure(spark, ref, schema, List.of(), kind, version, partitionColumns);
    }

    /** As {@link #ensure(SparkSession, TableRef, StructType, String, String, String...)}, allowing the named
     *  optional columns (their types are checked by whoever owns them). */
    static boolean ensure(SparkSession spark, TableRef ref, StructType schema, List<String> optional, String kind,
                          String version, String... partitionColumns) {
        if (check(spark, ref, schema, optional, kind, version)) {
            return true;
        }
        DeltaTableBuilder builder = DeltaTable.createIfNotExists(spark);
        builder = ref.isPath() ? builder.location(ref.path()) : builder.tableName(ref.name());
        builder = builder.addColumns(schema).property("nightshift.table", kind).property("nightshift.schema", version)
                .comment("Nightshift " + kind + " table, schema " + version + " (see README)");
        if (partitionColumns.length > 0) {
            builder = builder.partitionedBy(partitionColumns);
        }
        builder.execute();
        return false;
    }

    /**
     * What {@link #ensure} checks, without creating anything (the dry run writes nothing).
     *
     * @return whether the table exists (its schema then checked)
     */
    static boolean check(SparkSession spark, TableRef ref, StructType schema, List<String> optional, String kind,
                         String version) {
        if (!exists(spark, ref)) {
            return false;
        }
        checkSchema(read(spark, ref).schema(), schema, optional, ref, kind, version);
        return true;
    }

    static void checkSchema(StructType actual, StructType expected, List<String> optional, TableRef ref, String kind,
                            String version) {
        List<String> problems = new ArrayList<>();
        for (StructField field : expected.fields()) {
            int index = indexOf(actual, field.name());
            if (index < 0) {
                problems.add("missing column " + field.name() + " " + field.dataType().sql());
            } else if (!actual.fields()[index].dataType().sameType(field.dataType())) {
                problems.add("column " + field.name() + " is " + actual.fields()[index].dataType().sql()
                        + ", expected " + field.dataType().sql());
            }
        }
        for (StructField field : actual.fields()) {
            if (indexOf(expected, field.name()) < 0 && !optional.contains(field.name())) {
                problems.add("unexpected column " + field.name());
            }
        }
        if (!problems.isEmpty()) {
            throw new JobConfigException("the " + kind + " " + ref.describe() + " does not have the schema this version "
                    + "writes (" + version + "): " + String.join("; ", problems) + ". Nothing was written. Point the "
                    + "output at a new table, or migrate this one (see README, \"Results table\").");
        }
    }

    static int indexOf(StructType schema, String name) {
        String[] names = schema.fieldNames();
        for (int i = 0; i < names.length; i++) {
            if (names[i].equals(name)) {
                return i;
            }
        }
        return -1;
    }

    static boolean pathExists(SparkSession spark, String path) {
        try {
            Path p = new Path(path);
            return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check " + path + ": " + e.getMessage(), e);
        }
    }

    private static boolean isEmptyDir(SparkSession spark, String path) {
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            return fs.getFileStatus(p).isDirectory() && fs.listStatus(p).length == 0;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + path + ": " + e.getMessage(), e);
        }
    }

    static void delete(SparkSession spark, String path) {
        try {
            Path p = new Path(path);
            p.getFileSystem(spark.sparkContext().hadoopConfiguration()).delete(p, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete staging folder " + path + ": " + e.getMessage(), e);
        }
    }
}
