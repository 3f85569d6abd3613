package dev.nightshift.sql;

import dev.nightshift.task.TaskType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.Locale;

/**
 * The SQL functions {@link NightshiftExtensions} registers: name, argument counts, usage (shown by
 * {@code DESCRIBE FUNCTION}) and the task kind each runs. The result types of most are fixed; classify's and extract's
 * are structs that also carry the row's {@code error} and {@code error_code} (null when it succeeded).
 *
 * <p>Row errors never fail a query. Struct results say why a row failed in their own {@code error} fields; the
 * string results of {@code llm_summarize} and {@code llm_generate} are NULL for a failed row, and their
 * {@code _or_error} variants return {@code struct<text, error, error_code>} instead.
 */
public enum LlmFunction {
    SUMMARIZE("llm_summarize", TaskType.SUMMARIZE, 1, 3,
            "llm_summarize(text [, max_words [, options]]) - a summary of text in at most max_words words "
                    + "(default 60); NULL when the row failed (llm_summarize_or_error says why)"),
    SUMMARIZE_OR_ERROR("llm_summarize_or_error", TaskType.SUMMARIZE, 1, 3,
            "llm_summarize_or_error(text [, max_words [, options]]) - struct<text, error, error_code>"),
    CLASSIFY("llm_classify", TaskType.CLASSIFY, 2, 3,
            "llm_classify(text, array_of_labels [, options]) - struct<label string, score double, "
                    + "scores map<string,double>, error string, error_code string>: always one of the labels"),
    EXTRACT("llm_extract", TaskType.EXTRACT, 2, 3,
            "llm_extract(text, 'name string, amount double, due date' [, options]) - a struct with the DDL's fields "
                    + "(decoding constrained to them) plus error and error_code"),
    GENERATE("llm_generate", TaskType.GENERATE, 1, 2,
            "llm_generate(prompt [, options]) - the model's completion of prompt; NULL when the row failed "
                    + "(llm_generate_or_error says why)"),
    GENERATE_OR_ERROR("llm_generate_or_error", TaskType.GENERATE, 1, 2,
            "llm_generate_or_error(prompt [, options]) - struct<text, error, error_code>"),
    COUNT_TOKENS("llm_count_tokens", null, 1, 1,
            "llm_count_tokens(text) - the text's token count with the configured model's tokenizer (no BOS, no chat "
                    + "template)"),
    ESTIMATE_COST("llm_estimate_cost", null, 2, 2,
            "llm_estimate_cost(text, api_name) - USD to send text as input to a hosted API, from its "
                    + "spark.nightshift.prices.<api_name>.input_per_1m_usd and this model's token count");

    /** The struct of the {@code _or_error} variants. */
    static final StructType TEXT_OR_ERROR = new StructType().add("text", DataTypes.StringType)
            .add("error", DataTypes.StringType).add("error_code", DataTypes.StringType);
    /** The struct of {@code llm_classify}. */
    static final StructType CLASSIFIED = new StructType().add("label", DataTypes.StringType)
            .add("score", DataTypes.DoubleType)
            .add("scores", DataTypes.createMapType(DataTypes.StringType, DataTypes.DoubleType))
            .add("error", DataTypes.StringType).add("error_code", DataTypes.StringType);

    private final String sqlName;
    private final TaskType task;
    private final int minArgs;
    private final int maxArgs;
    private final String usage;

    LlmFunction(String sqlName, TaskType task, int minArgs, int maxArgs, String usage) {
        this.sqlName = sqlName;
        this.task = task;
        this.minArgs = minArgs;
        this.maxArgs = maxArgs;
        this.usage = usage;
    }

    /** The name SQL calls it by. */
    public String sqlName() {
        return sqlName;
    }

    /** The task kind it runs, or null for the tokenizer functions. */
    public TaskType task() {
        return task;
    }

    public int minArgs() {
        return minArgs;
    }

    public int maxArgs() {
        return maxArgs;
    }

    public String usage() {
        return usage;
    }

    /** The argument position of the options map, or -1 when the function takes none. */
    int optionsIndex() {
        return switch (this) {
            case SUMMARIZE, SUMMARIZE_OR_ERROR, CLASSIFY, EXTRACT -> 2;
            case GENERATE, GENERATE_OR_ERROR -> 1;
            case COUNT_TOKENS, ESTIMATE_COST -> -1;
        };
    }

    /** Whether a failed row returns a struct carrying its error (else NULL). */
    boolean carriesErrors() {
        return this != SUMMARIZE && this != GENERATE && task != null;
    }

    /** The result type; extract's depends on its fields. */
    DataType resultType(StructType extracted) {
        return switch (this) {
            case SUMMARIZE, GENERATE -> DataTypes.StringType;
            case SUMMARIZE_OR_ERROR, GENERATE_OR_ERROR -> TEXT_OR_ERROR;
            case CLASSIFY -> CLASSIFIED;
            case EXTRACT -> nullable(extracted).add("error", DataTypes.StringType).add("error_code", DataTypes.StringType);
            case COUNT_TOKENS -> DataTypes.IntegerType;
            case ESTIMATE_COST -> DataTypes.DoubleType;
        };
    }

    /**
     * The DDL's struct with every field nullable: NOT NULL makes a field required in the answer, but a failed row has
     * no values at all (and Spark's generated code would trust a non-nullable field never to be null).
     */
    static StructType nullable(StructType struct) {
        StructType out = new StructType();
        for (org.apache.spark.sql.types.StructField field : struct.fields()) {
            DataType type = field.dataType() instanceof StructType inner ? nullable(inner) : field.dataType();
            out = out.add(field.name(), type, true, field.metadata());
        }
        return out;
    }

    @Override
    public String toString() {
        return sqlName.toLowerCase(Locale.ROOT);
    }
}
