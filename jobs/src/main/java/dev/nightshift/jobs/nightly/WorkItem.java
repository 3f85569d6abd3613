package dev.nightshift.jobs.nightly;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.Iterator;
import java.util.List;

/**
 * One (document, task) that may need the model, as the planner produces it and executors read it. Spark carries it
 * as a row of {@link #SCHEMA} (the anti-join and the chunk numbering are Spark joins); code converts with
 * {@link #toRow()} and {@link #of(Row)}, which go by column name, so no code depends on the column order.
 *
 * @param docId       the document id
 * @param task        the task name
 * @param promptParts the rendered prompt's parts (literal text and filled placeholders)
 * @param inputHash   the incremental key: prompt text, task version and model
 * @param promptChars the prompt's length, for chunk order and the ETA plan
 * @param problem     why the document cannot be inferred ({@code "[CODE] message"}), or null
 */
record WorkItem(String docId, String task, List<String> promptParts, String inputHash, int promptChars,
                String problem) {

    static final StructType SCHEMA = new StructType()
            .add("doc_id", DataTypes.StringType, false)
            .add("task", DataTypes.StringType, false)
            .add("prompt_parts", DataTypes.createArrayType(DataTypes.StringType, false))
            .add("input_hash", DataTypes.StringType, false)
            .add("prompt_chars", DataTypes.IntegerType, false)
            .add("problem", DataTypes.StringType);

    WorkItem {
        promptParts = List.copyOf(promptParts);
    }

    /** A row of {@link #SCHEMA}. */
    Row toRow() {
        return RowFactory.create(docId, task, scala.jdk.javaapi.CollectionConverters.asScala(promptParts).toSeq(),
                inputHash, promptChars, problem);
    }

    /** The rows of {@code rows} read as work items, one at a time (an executor's partition, a driver's local iterator). */
    static Iterator<WorkItem> of(Iterator<Row> rows) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public WorkItem next() {
                return WorkItem.of(rows.next());
            }
        };
    }

    /** Reads a work item by column name (extra columns such as the chunk number are ignored). */
    static WorkItem of(Row row) {
        List<String> parts = row.getList(row.fieldIndex("prompt_parts"));
        Integer chars = row.getAs("prompt_chars");
        return new WorkItem(row.getAs("doc_id"), row.getAs("task"), parts, row.getAs("input_hash"), chars,
                row.getAs("problem"));
    }
}
