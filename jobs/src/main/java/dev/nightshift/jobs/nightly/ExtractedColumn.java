package dev.nightshift.jobs.nightly;

import dev.nightshift.task.FieldSpec;
import dev.nightshift.task.TaskType;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.from_json;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.when;

/**
 * The results table's typed extract column, {@code extracted}: a struct with one field per extract task (named after
 * the task) whose Spark type comes from the task's fields ({@link FieldSpec#sparkType(List)}), so that
 * {@code SELECT extracted.invoice.amount + 1 FROM results WHERE task = 'invoice'} works. Each row fills only its own
 * task's field, parsed from its {@code fields} JSON, which stays the source of truth: the struct can always be
 * rebuilt from it.
 *
 * <p>The column exists once a job with an extract task has run. A new extract task adds its field
 * ({@code ALTER TABLE ... ADD COLUMNS}, no data rewritten); a task whose fields changed type gets its field rebuilt
 * from every row's {@code fields} (the table is rewritten once, atomically, under the run's claim). Tasks no longer
 * in the config keep their field.
 */
final class ExtractedColumn {

    static final String NAME = "extracted";

    private ExtractedColumn() {
    }

    /** The typed struct of each extract task of the config, by task name, in config order. */
    static Map<String, StructType> types(JobConfig config) {
        Map<String, StructType> types = new LinkedHashMap<>();
        for (JobConfig.Task task : config.tasks()) {
            if (task.type() == TaskType.EXTRACT) {
                types.put(task.name(), FieldSpec.sparkType(task.fieldSpecs()));
            }
        }
        return types;
    }

    /**
     * Gives the table's {@code extracted} column a field of the right type for each task in {@code types}: adds what
     * is missing, rebuilds a field whose type changed.
     */
    static void ensure(SparkSession spark, TableRef ref, Map<String, StructType> types) {
        if (types.isEmpty()) {
            return;
        }
        StructType current = current(DeltaTables.read(spark, ref).schema());
        if (current == null) {
            StructType column = new StructType();
            for (Map.Entry<String, StructType> task : types.entrySet()) {
                column = column.add(task.getKey(), task.getValue());
            }
            spark.sql("ALTER TABLE " + ref.sql() + " ADD COLUMNS (" + NAME + " " + column.sql() + ")");
            return;
        }
        StructType rebuilt = current;
        boolean changed = false;
        for (Map.Entry<String, StructType> task : types.entrySet()) {
            int index = DeltaTables.indexOf(current, task.getKey());
            if (index < 0) {
                spark.sql("ALTER TABLE " + ref.sql() + " ADD COLUMNS (" + NAME + "." + SqlNames.quote(task.getKey())
                        + " " + task.getValue().sql() + ")");
                rebuilt = rebuilt.add(task.getKey(), task.getValue());
            } else if (!current.fields()[index].dataType().sameType(task.getValue())) {
                StructField[] fields = rebuilt.fields().clone();
                fields[DeltaTables.indexOf(rebuilt, task.getKey())] = new StructField(task.getKey(), task.getValue(), true,
                        org.apache.spark.sql.types.Metadata.empty());
                rebuilt = new StructType(fields);
                changed = true;
            }
        }
        if (changed) {
            rewrite(spark, ref, rebuilt);
        }
    }

    /**
     * {@code rows} with the {@code extracted} column the table has (none when the table has none): each row's own
     * task field parsed from its {@code fields} JSON, the other tasks' fields null.
     */
    static Dataset<Row> withColumn(Dataset<Row> rows, StructType tableSchema) {
        StructType type = current(tableSchema);
        return type == null ? rows : rows.withColumn(NAME, column(type));
    }

    /** The table's {@code extracted} type, or null when it has none. */
    static StructType current(StructType tableSchema) {
        int index = DeltaTables.indexOf(tableSchema, NAME);
        if (index < 0) {
            return null;
        }
        DataType type = tableSchema.fields()[index].dataType();
        if (!(type instanceof StructType struct)) {
            throw new JobConfigException("the results table's column " + NAME + " is " + type.sql() + ", not the "
                    + "struct Nightshift writes; rename that column or point output.results at a new table");
        }
        return struct;
    }

    private static Column column(StructType type) {
        List<Column> perTask = new ArrayList<>();
        for (StructField task : type.fields()) {
            perTask.add(when(col("task").equalTo(lit(task.name())),
                    from_json(col("fields"), (StructType) task.dataType())).as(task.name()));
        }
        return struct(perTask.toArray(Column[]::new));
    }

    /** Rewrites the table once with {@code extracted} of the given type, rebuilt from every row's {@code fields}. */
    private static void rewrite(SparkSession spark, TableRef ref, StructType type) {
        Dataset<Row> rebuilt = DeltaTables.read(spark, ref).withColumn(NAME, column(type));
        var writer = rebuilt.write().format("delta").mode("overwrite").option("overwriteSchema", "true")
                .partitionBy("task");
        if (ref.isPath()) {
            writer.save(ref.path());
        } else {
            writer.saveAsTable(ref.name());
        }
    }
}
