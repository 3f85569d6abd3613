package dev.nightshift.sql;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.engine.ErrorCode;
import dev.nightshift.task.TaskOutput;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.util.ArrayBasedMapData;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Decimal;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;

import java.io.IOException;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;

/**
 * A task's answer for one row as the Catalyst value of its call's result type: a string, a {@code struct<text, error,
 * error_code>}, classify's struct, or extract's struct with the DDL's own field types (an answer whose value does not
 * fit its declared type, such as 3.5 for an INT, makes the row's {@code INVALID_OUTPUT} error).
 */
final class ResultValues {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ResultValues() {
    }

    /** A failed row's value: NULL for the plain string functions, else the struct with its error. */
    static Object failed(LlmRequest request, String error) {
        if (!request.function().carriesErrors()) {
            return null;
        }
        ErrorCode.Coded coded = ErrorCode.split(error);
        StructType type = (StructType) request.resultType();
        Object[] values = new Object[type.fields().length];
        values[values.length - 2] = UTF8String.fromString(coded.message());
        values[values.length - 1] = UTF8String.fromString(coded.code().name());
        return new GenericInternalRow(values);
    }

    static Object of(LlmRequest request, TaskOutput output) {
        if (output.failed()) {
            return failed(request, output.error());
        }
        return switch (request.function()) {
            case SUMMARIZE, GENERATE -> UTF8String.fromString(output.output());
            case SUMMARIZE_OR_ERROR, GENERATE_OR_ERROR ->
                    new GenericInternalRow(new Object[] {UTF8String.fromString(output.output()), null, null});
            case CLASSIFY -> new GenericInternalRow(new Object[] {UTF8String.fromString(output.label()),
                    output.score(), scores(output.details().scores()), null, null});
            case EXTRACT -> extracted(request, output.fields());
            case COUNT_TOKENS, ESTIMATE_COST -> throw new IllegalStateException("not a task function");
        };
    }

    private static Object scores(Map<String, Double> scores) {
        if (scores == null) {
            return null;
        }
        Object[] keys = new Object[scores.size()];
        Object[] values = new Object[scores.size()];
        int i = 0;
        for (Map.Entry<String, Double> entry : scores.entrySet()) {
            keys[i] = UTF8String.fromString(entry.getKey());
            values[i++] = entry.getValue();
        }
        return new ArrayBasedMapData(new GenericArrayData(keys), new GenericArrayData(values));
    }

    private static Object extracted(LlmRequest request, String fields) {
        StructType struct = request.extracted();
        try {
            JsonNode json = JSON.readTree(fields);
            Object[] values = new Object[struct.fields().length + 2];
            Object row = value(json, struct, "");
            Object[] own = ((GenericInternalRow) row).values();
            System.arraycopy(own, 0, values, 0, own.length);
            return new GenericInternalRow(values);
        } catch (IOException | IllegalArgumentException e) {
            return failed(request, ErrorCode.INVALID_OUTPUT.message("the answer " + fields + " does not fit the "
                    + "declared fields: " + e.getMessage()));
        }
    }

    /** A JSON value as the Catalyst value of {@code type}; null for JSON null or a missing value. */
    static Object value(JsonNode node, DataType type, String path) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (type instanceof StructType struct) {
            if (!node.isObject()) {
                throw new IllegalArgumentException(path + " is not an object");
            }
            StructField[] fields = struct.fields();
            Object[] values = new Object[fields.length];
            for (int i = 0; i < fields.length; i++) {
                values[i] = value(node.get(fields[i].name()), fields[i].dataType(), path + fields[i].name() + ".");
            }
            return new GenericInternalRow(values);
        }
        String field = path.isEmpty() ? "the value" : path.substring(0, path.length() - 1);
        if (type instanceof ArrayType array) {
            if (!node.isArray()) {
                throw new IllegalArgumentException(field + " is not a list");
            }
            Object[] items = new Object[node.size()];
            for (int i = 0; i < items.length; i++) {
                items[i] = value(node.get(i), array.elementType(), path);
            }
            return new GenericArrayData(items);
        }
        if (type instanceof StringType) {
            return UTF8String.fromString(node.isTextual() ? node.textValue() : node.toString());
        }
        if (type.equals(DataTypes.BooleanType)) {
            if (!node.isBoolean()) {
                throw new IllegalArgumentException(field + " is not a boolean");
            }
            return node.booleanValue();
        }
        if (type.equals(DataTypes.DateType)) {
            try {
                return (int) LocalDate.parse(node.textValue()).toEpochDay();
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(field + " is not a yyyy-mm-dd date");
            }
        }
        if (!node.isNumber()) {
            throw new IllegalArgumentException(field + " is not a number");
        }
        if (type.equals(DataTypes.DoubleType)) {
            return node.doubleValue();
        }
        if (type.equals(DataTypes.FloatType)) {
            return node.floatValue();
        }
        if (type instanceof DecimalType decimal) {
            Decimal value = Decimal.apply(node.decimalValue());
            if (!value.changePrecision(decimal.precision(), decimal.scale())) {
                throw new IllegalArgumentException(field + " " + node + " does not fit " + decimal.sql());
            }
            return value;
        }
        if (!node.canConvertToLong() || !node.isIntegralNumber()) {
            throw new IllegalArgumentException(field + " " + node + " is not a whole number");
        }
        long whole = node.longValue();
        for (Map.Entry<DataType, Long> limit : List.of(Map.entry(DataTypes.ByteType, (long) Byte.MAX_VALUE),
                Map.entry(DataTypes.ShortType, (long) Short.MAX_VALUE),
                Map.entry(DataTypes.IntegerType, (long) Integer.MAX_VALUE))) {
            if (type.equals(limit.getKey())) {
                if (whole > limit.getValue() || whole < -limit.getValue() - 1) {
                    throw new IllegalArgumentException(field + " " + node + " does not fit " + type.sql());
                }
                return type.equals(DataTypes.ByteType) ? (Object) (byte) whole
                        : type.equals(DataTypes.ShortType) ? (Object) (short) whole : (Object) (int) whole;
            }
        }
        return whole;
    }
}
