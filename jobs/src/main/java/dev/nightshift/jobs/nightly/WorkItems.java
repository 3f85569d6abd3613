package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.ErrorCode;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * One document row to one work item per task: the rendered prompt's parts (literal text and filled placeholders, as
 * {@link dev.nightshift.task.PromptTemplate#renderParts} gives them) and its input hash. Input rows hold the
 * document's columns in the order of {@code placeholders} (doc id first, then text); rendering runs on executors.
 */
final class WorkItems implements FlatMapFunction<Row, Row> {

    static final StructType SCHEMA = new StructType()
            .add("doc_id", DataTypes.StringType, false)
            .add("task", DataTypes.StringType, false)
            .add("prompt_parts", DataTypes.createArrayType(DataTypes.StringType, false))
            .add("input_hash", DataTypes.StringType, false)
            .add("prompt_chars", DataTypes.IntegerType, false)
            .add("problem", DataTypes.StringType);

    private final List<TaskSpec> tasks;
    private final Map<String, Integer> placeholders;
    private final String textColumn;
    private final String modelFingerprint;

    /**
     * @param placeholders     placeholder name to position in the input row ("id" is 0, "text" is 1)
     * @param textColumn       the source's text column, named in "empty text" errors
     * @param modelFingerprint part of every input hash
     */
    WorkItems(List<TaskSpec> tasks, Map<String, Integer> placeholders, String textColumn, String modelFingerprint) {
        this.tasks = List.copyOf(tasks);
        this.placeholders = Map.copyOf(placeholders);
        this.textColumn = textColumn;
        this.modelFingerprint = modelFingerprint;
    }

    /** Optional document column: why the source could not give this document as written (it gets error rows). */
    static final String PROBLEM_COLUMN = "__problem";

    private static String sourceProblem(Row doc) {
        if (doc.schema() == null || !List.of(doc.schema().fieldNames()).contains(PROBLEM_COLUMN)) {
            return null;
        }
        int index = doc.fieldIndex(PROBLEM_COLUMN);
        return doc.isNullAt(index) ? null : doc.getString(index);
    }

    @Override
    public Iterator<Row> call(Row doc) {
        String docId = doc.getString(0);
        String text = doc.isNullAt(1) ? null : doc.getString(1);
        String problem = sourceProblem(doc);
        if (problem != null) {
            problem = ErrorCode.MALFORMED_ROW.message(problem);
        } else if (text == null || text.isBlank()) {
            problem = ErrorCode.EMPTY_TEXT.message("bad text: column " + textColumn + " is "
                    + (text == null ? "null" : "blank") + " for this document");
        }
        List<Row> items = new ArrayList<>(tasks.size());
        for (TaskSpec task : tasks) {
            List<String> parts = task.template().renderParts(name -> {
                Integer index = placeholders.get(name);
                return index == null || doc.isNullAt(index) ? null : doc.getString(index);
            });
            String prompt = String.join("", parts);
            items.add(RowFactory.create(docId, task.name(),
                    scala.jdk.javaapi.CollectionConverters.asScala(parts).toSeq(),
                    task.inputHash(prompt, modelFingerprint), prompt.length(), problem));
        }
        return items.iterator();
    }
}
