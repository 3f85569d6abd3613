package dev.nightshift.sql;

import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.ModelCard;
import dev.nightshift.engine.OverflowPolicy;
import dev.nightshift.task.ClassifyOptions;
import dev.nightshift.task.ClassifyTask;
import dev.nightshift.task.FieldSpec;
import dev.nightshift.task.Task;
import dev.nightshift.task.TaskOptionException;
import dev.nightshift.task.TaskType;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.catalyst.util.MapData;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What one {@code llm_*} call asks of every row, read from its constant arguments: the task (prompt, labels, fields,
 * generation settings — the same {@link Task} a job config builds, so the same inputs give the same answers), the
 * chat setting, extract's result struct, and the API a cost estimate prices. Built on the driver while the query is
 * analysed, so a bad argument fails the query before any row runs.
 *
 * @param function  which function
 * @param task      the task each row runs, or null for the tokenizer functions
 * @param chat      auto, true or false: wrap prompts in the model's chat template ({@link #resolveChat})
 * @param extracted extract: the fields' struct exactly as the DDL declares it, else null
 * @param api       estimate_cost: the API name, else null
 */
public record LlmRequest(LlmFunction function, Task task, String chat, StructType extracted, String api)
        implements Serializable {

    /** Option keys every task function takes (generation settings and the prompt). */
    static final List<String> GENERATION_KEYS = List.of("prompt", "chat", "max_new_tokens", "temperature", "top_k",
            "top_p", "repetition_penalty", "seed", "stop", "overflow");
    private static final Set<String> RESERVED_FIELDS = Set.of("error", "error_code");

    /** The result type of the call. */
    public DataType resultType() {
        return function.resultType(extracted);
    }

    /** Whether prompts are wrapped in the model's chat template: {@code auto} means when the model has one. */
    public boolean resolveChat(ModelCard model) {
        return model.usesChat(chat);
    }

    /**
     * Reads a call's arguments; the first is the text (any string expression), the others must be constants.
     *
     * @throws IllegalArgumentException saying which argument is wrong and how to write it
     */
    public static LlmRequest of(LlmFunction function, List<Expression> args) {
        String name = function.sqlName();
        if (args.size() < function.minArgs() || args.size() > function.maxArgs()) {
            throw new IllegalArgumentException(name + " takes " + (function.minArgs() == function.maxArgs()
                    ? function.minArgs() : function.minArgs() + " to " + function.maxArgs()) + " arguments, got "
                    + args.size() + ": " + function.usage());
        }
        DataType textType = args.get(0).dataType();
        if (!(textType instanceof StringType) && !textType.equals(DataTypes.NullType)) {
            throw new IllegalArgumentException(name + "'s first argument must be a STRING, got "
                    + textType.simpleString() + "; cast it: CAST(x AS STRING)");
        }
        for (int i = 1; i < args.size(); i++) {
            if (!args.get(i).foldable()) {
                throw new IllegalArgumentException(name + "'s argument " + (i + 1) + " (" + args.get(i).sql()
                        + ") must be a constant, the same for every row: " + function.usage());
            }
        }
        Map<String, String> options = function.optionsIndex() >= 0 && args.size() > function.optionsIndex()
                ? options(name, args.get(function.optionsIndex())) : Map.of();
        try {
            return switch (function) {
                case COUNT_TOKENS -> new LlmRequest(function, null, "false", null, null);
                case ESTIMATE_COST -> new LlmRequest(function, null, "false", null, constantString(name, args.get(1),
                        "api_name"));
                case SUMMARIZE, SUMMARIZE_OR_ERROR -> {
                    int maxWords = args.size() > 1 ? constantInt(name, args.get(1), "max_words")
                            : TaskType.SUMMARIZE.defaultMaxWords();
                    yield task(function, options, List.of(), List.of(), maxWords, null);
                }
                case CLASSIFY -> task(function, options, labels(name, args.get(1)), List.of(), 0, null);
                case EXTRACT -> {
                    StructType struct = ddl(name, constantString(name, args.get(1), "fields"));
                    yield task(function, options, List.of(), fieldSpecs(struct), 0, struct);
                }
                case GENERATE, GENERATE_OR_ERROR -> task(function, options, List.of(), List.of(), 0, null);
            };
        } catch (TaskOptionException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
    }

    private static LlmRequest task(LlmFunction function, Map<String, String> options, List<String> labels,
                                   List<FieldSpec> fields, int maxWords, StructType extracted) {
        String name = function.sqlName();
        TaskType type = function.task();
        List<String> known = new ArrayList<>(GENERATION_KEYS);
        if (type == TaskType.GENERATE) {
            known.remove("prompt");
        }
        if (type == TaskType.CLASSIFY) {
            known.add(ClassifyTask.CALIBRATE);
        }
        for (String key : options.keySet()) {
            if (!known.contains(key)) {
                throw new IllegalArgumentException(name + " has no option '" + key + "'"
                        + (key.equals("prompt") ? " (its first argument is the prompt)" : "") + "; its options: "
                        + String.join(", ", known));
            }
        }
        String prompt = type == TaskType.GENERATE ? "{text}" : options.get("prompt");
        String chat = options.getOrDefault("chat", "auto").toLowerCase(Locale.ROOT);
        if (!List.of("auto", "true", "false").contains(chat)) {
            throw new IllegalArgumentException(name + ": option chat must be auto, true or false, got '" + chat + "'");
        }
        boolean calibrate = bool(name, options, ClassifyTask.CALIBRATE);
        GenerationOptions generation = generation(name, type, options);
        Task task = type.create(prompt, labels, fields, maxWords,
                type == TaskType.CLASSIFY ? ClassifyOptions.calibrated(calibrate) : ClassifyOptions.NONE, generation);
        // a SQL call has one value per row, {text}; the task's own constants ({labels}, ...) are already bound
        task.checkPlaceholders(Set.of("text"), "to use other columns, build the text argument with concat()");
        return new LlmRequest(function, task, chat, extracted, null);
    }

    /** The generation settings a job config would give the task with these keys (same defaults, same checks). */
    private static GenerationOptions generation(String name, TaskType type, Map<String, String> options) {
        try {
            String overflow = options.getOrDefault("overflow", "error");
            List<String> stop = options.containsKey("stop") ? List.of(options.get("stop")) : List.of();
            return new GenerationOptions(
                    (int) number(name, options, "max_new_tokens", type.defaultMaxNewTokens(), true),
                    number(name, options, "temperature", 0, false),
                    (int) number(name, options, "top_k", 0, true),
                    number(name, options, "top_p", 1, false),
                    number(name, options, "repetition_penalty", 1, false),
                    seed(name, options),
                    stop, OverflowPolicy.parse(overflow));
        } catch (TaskOptionException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
    }

    private static long seed(String name, Map<String, String> options) {
        String text = options.get("seed");
        try {
            // a map of numbers may be widened to decimals by Spark: 3 arrives as "3.0"
            return text == null ? 0 : new java.math.BigDecimal(text.strip()).longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException(name + ": option seed must be a whole number, got '" + text + "'");
        }
    }

    private static double number(String name, Map<String, String> options, String key, double fallback,
                                 boolean whole) {
        String text = options.get(key);
        if (text == null) {
            return fallback;
        }
        try {
            double value = Double.parseDouble(text.strip());
            if (whole && (value != Math.rint(value) || Math.abs(value) > Integer.MAX_VALUE)) {
                throw new NumberFormatException();
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": option " + key + " must be " + (whole ? "a whole number"
                    : "a number") + ", got '" + text + "'");
        }
    }

    private static boolean bool(String name, Map<String, String> options, String key) {
        String text = options.getOrDefault(key, "false").strip().toLowerCase(Locale.ROOT);
        if (!text.equals("true") && !text.equals("false")) {
            throw new IllegalArgumentException(name + ": option " + key + " must be true or false, got '" + text + "'");
        }
        return Boolean.parseBoolean(text);
    }

    /** The options map: string keys, values of any simple type, read as their text. */
    private static Map<String, String> options(String name, Expression arg) {
        if (!(arg.dataType() instanceof MapType map) || !(map.keyType() instanceof StringType)) {
            throw new IllegalArgumentException(name + "'s options must be a map with string keys, e.g. "
                    + "map('max_new_tokens', '64', 'temperature', '0'), got " + arg.dataType().simpleString());
        }
        Object value = arg.eval(null);
        Map<String, String> options = new LinkedHashMap<>();
        if (value == null) {
            return options;
        }
        MapData data = (MapData) value;
        ArrayData keys = data.keyArray();
        ArrayData values = data.valueArray();
        for (int i = 0; i < data.numElements(); i++) {
            String key = keys.getUTF8String(i).toString().strip().toLowerCase(Locale.ROOT);
            Object item = values.isNullAt(i) ? null : values.get(i, map.valueType());
            if (item == null) {
                throw new IllegalArgumentException(name + ": option " + key + " is NULL; leave it out for the default");
            }
            options.put(key, item.toString());
        }
        return options;
    }

    private static List<String> labels(String name, Expression arg) {
        if (arg.dataType() instanceof ArrayType empty && empty.elementType().equals(DataTypes.NullType)) {
            throw new IllegalArgumentException(name + " got no labels; give at least two: array('billing', 'refund')");
        }
        if (!(arg.dataType() instanceof ArrayType array) || !(array.elementType() instanceof StringType)) {
            throw new IllegalArgumentException(name + "'s labels must be an array of strings, e.g. "
                    + "array('billing', 'refund', 'other'), got " + arg.dataType().simpleString());
        }
        ArrayData data = (ArrayData) arg.eval(null);
        if (data == null) {
            throw new IllegalArgumentException(name + "'s labels are NULL; give at least two: array('a', 'b')");
        }
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < data.numElements(); i++) {
            if (data.isNullAt(i)) {
                throw new IllegalArgumentException(name + "'s labels contain a NULL; every label must be a string");
            }
            labels.add(data.getUTF8String(i).toString());
        }
        return labels;
    }

    private static String constantString(String name, Expression arg, String what) {
        if (!(arg.dataType() instanceof StringType)) {
            throw new IllegalArgumentException(name + "'s " + what + " must be a string, got "
                    + arg.dataType().simpleString());
        }
        Object value = arg.eval(null);
        if (value == null) {
            throw new IllegalArgumentException(name + "'s " + what + " is NULL");
        }
        return value.toString();
    }

    private static int constantInt(String name, Expression arg, String what) {
        Object value = arg.eval(null);
        if (!(value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte)) {
            throw new IllegalArgumentException(name + "'s " + what + " must be a whole number, got "
                    + (value == null ? "NULL" : arg.dataType().simpleString()));
        }
        return Math.toIntExact(((Number) value).longValue());
    }

    /** The DDL as Spark reads it ({@code name string NOT NULL COMMENT 'what it is', ...}). */
    private static StructType ddl(String name, String ddl) {
        StructType struct;
        try {
            struct = StructType.fromDDL(ddl);
        } catch (Exception e) {  // Spark's ParseException is checked in Java's eyes
            throw new IllegalArgumentException(name + ": fields '" + ddl + "' are not a DDL column list like "
                    + "'name string, amount double, due date': " + e.getMessage().lines().findFirst().orElse(""), e);
        }
        if (struct.fields().length == 0) {
            throw new IllegalArgumentException(name + ": fields '" + ddl + "' declare no field");
        }
        for (StructField field : struct.fields()) {
            if (RESERVED_FIELDS.contains(field.name().toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException(name + ": a field may not be named " + field.name()
                        + " (the result's error columns); rename it");
            }
        }
        return struct;
    }

    /** The task's typed fields: Spark types mapped to the extract types; NOT NULL is required, COMMENT describes. */
    static List<FieldSpec> fieldSpecs(StructType struct) {
        List<FieldSpec> fields = new ArrayList<>();
        for (StructField field : struct.fields()) {
            fields.add(fieldSpec(field, true));
        }
        return fields;
    }

    private static FieldSpec fieldSpec(StructField field, boolean top) {
        DataType type = field.dataType();
        String description = field.getComment().isDefined() ? field.getComment().get() : "";
        FieldSpec.FieldType kind;
        List<FieldSpec> inner = List.of();
        if (type instanceof StringType) {
            kind = FieldSpec.FieldType.STRING;
        } else if (type.equals(DataTypes.ByteType) || type.equals(DataTypes.ShortType)
                || type.equals(DataTypes.IntegerType) || type.equals(DataTypes.LongType)) {
            kind = FieldSpec.FieldType.INTEGER;
        } else if (type.equals(DataTypes.FloatType) || type.equals(DataTypes.DoubleType) || type instanceof DecimalType) {
            kind = FieldSpec.FieldType.NUMBER;
        } else if (type.equals(DataTypes.BooleanType)) {
            kind = FieldSpec.FieldType.BOOLEAN;
        } else if (type.equals(DataTypes.DateType)) {
            kind = FieldSpec.FieldType.DATE;
        } else if (type instanceof ArrayType array && array.elementType() instanceof StringType) {
            kind = FieldSpec.FieldType.LIST;
        } else if (type instanceof StructType struct && top) {
            kind = FieldSpec.FieldType.OBJECT;
            List<FieldSpec> nested = new ArrayList<>();
            for (StructField f : struct.fields()) {
                nested.add(fieldSpec(f, false));
            }
            inner = nested;
        } else {
            throw new TaskOptionException("fields", "field " + field.name() + " has type " + type.sql()
                    + "; use STRING, an integer type, DOUBLE/FLOAT/DECIMAL, BOOLEAN, DATE, ARRAY<STRING>, or a STRUCT "
                    + "of those (one level)");
        }
        return new FieldSpec(field.name(), kind, description, !field.nullable(), List.of(), inner);
    }
}
