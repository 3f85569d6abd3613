package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.ErrorCode;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * One document row to one {@link WorkItem} per task: the rendered prompt's parts (literal text and filled
 * placeholders, as {@link dev.nightshift.task.PromptTemplate#renderParts} gives them) and its input hash. Document
 * rows are {@link SourceDocuments#read()}'s; placeholders are looked up by column name
 * ({@link SourceDocuments#placeholderColumns}). Rendering runs on executors.
 */
final class WorkItems implements FlatMapFunction<Row, Row> {

    private final List<TaskSpec> tasks;
    private final Map<String, String> placeholders;
    private final String textColumn;
    private final String modelFingerprint;

    /**
     * @param placeholders     placeholder name to the document row's column ("id" is doc_id, "text" the text)
     * @param textColumn       the source's text column, named in "empty text" errors
     * @param modelFingerprint part of every input hash
     */
    WorkItems(List<TaskSpec> tasks, Map<String, String> placeholders, String textColumn, String modelFingerprint) {
        this.tasks = List.copyOf(tasks);
        this.placeholders = Map.copyOf(placeholders);
        this.textColumn = textColumn;
        this.modelFingerprint = modelFingerprint;
    }

    /** Optional document column: why the source could not give this document as written (it gets error rows). */
    static final String PROBLEM_COLUMN = "__problem";

    private static String column(Row doc, String name) {
        if (doc.schema() == null || !List.of(doc.schema().fieldNames()).contains(name)) {
            return null;
        }
        return doc.getAs(name);
    }

    @Override
    public Iterator<Row> call(Row doc) {
        String docId = doc.getAs(SourceDocuments.ID);
        String text = doc.getAs(SourceDocuments.TEXT);
        String problem = column(doc, PROBLEM_COLUMN);
        if (problem != null) {
            problem = ErrorCode.MALFORMED_ROW.message(problem);
        } else if (text == null || text.isBlank()) {
            problem = ErrorCode.EMPTY_TEXT.message("bad text: column " + textColumn + " is "
                    + (text == null ? "null" : "blank") + " for this document");
        }
        List<Row> items = new ArrayList<>(tasks.size());
        for (TaskSpec task : tasks) {
            String[] rowProblem = {problem};
            Map<String, String> own = task.task().placeholderColumns();
            List<String> parts = task.template().renderParts(name -> {
                String column = placeholders.get(own.getOrDefault(name, name));
                String value = column == null ? null : doc.getAs(column);
                try {
                    return task.task().renderValue(name, value);
                } catch (IllegalArgumentException e) {
                    // the row's own value is unusable (a label set naming no configured label): an error row
                    rowProblem[0] = rowProblem[0] != null ? rowProblem[0] : e.getMessage();
                    return value;
                }
            });
            String prompt = String.join("", parts);
            items.add(new WorkItem(docId, task.name(), parts, task.inputHash(prompt, modelFingerprint), prompt.length(),
                    rowProblem[0]).toRow());
        }
        return items.iterator();
    }
}
