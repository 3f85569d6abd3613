package dev.nightshift.jobs.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import dev.nightshift.task.FieldSpec;

import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Extraction metrics against a gold JSON object per row, field by field, pure Java.
 *
 * <ul>
 *   <li><b>field_exact[f]</b>: rows whose value of f equals the gold value (JSON equality; strings compared after
 *   trimming white space; numbers by value, so 5 equals 5.0; a missing key equals null). Failed rows count as
 *   wrong.</li>
 *   <li><b>field_f1[f]</b> (list fields): the mean over rows of the F1 between the predicted and gold sets of trimmed
 *   strings (both empty: 1).</li>
 *   <li><b>schema_validity</b>: rows whose answer is a JSON object with exactly the configured fields, each of its
 *   type (null only where not required, enum values, dates YYYY-MM-DD on the calendar).</li>
 *   <li><b>exact_mean</b>: the mean of the field_exact figures (what the report plots against cost).</li>
 * </ul>
 */
public final class ExtractMetrics {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ExtractMetrics() {
    }

    /** The row's share of fields that match exactly (0 for a failed or unparseable answer). */
    public static double rowExact(List<FieldSpec> fields, JsonNode gold, Prediction p) {
        JsonNode answer = parse(p);
        if (answer == null || fields.isEmpty()) {
            return 0;
        }
        int same = 0;
        for (FieldSpec field : fields) {
            same += equal(gold.get(field.name()), answer.get(field.name())) ? 1 : 0;
        }
        return (double) same / fields.size();
    }

    public static List<Metric> compute(List<FieldSpec> fields, List<JsonNode> gold, List<Prediction> predictions) {
        int n = gold.size();
        int[] exact = new int[fields.size()];
        double[] f1 = new double[fields.size()];
        int valid = 0;
        for (int i = 0; i < n; i++) {
            JsonNode answer = parse(predictions.get(i));
            if (answer != null && valid(fields, answer)) {
                valid++;
            }
            for (int f = 0; f < fields.size(); f++) {
                String name = fields.get(f).name();
                JsonNode predicted = answer == null ? null : answer.get(name);
                if (answer != null && equal(gold.get(i).get(name), predicted)) {
                    exact[f]++;
                }
                if (fields.get(f).type() == FieldSpec.FieldType.LIST) {
                    f1[f] += answer == null ? 0 : setF1(strings(gold.get(i).get(name)), strings(predicted));
                }
            }
        }
        List<Metric> metrics = new ArrayList<>();
        double exactSum = 0;
        for (int f = 0; f < fields.size(); f++) {
            double value = n == 0 ? Double.NaN : (double) exact[f] / n;
            exactSum += value;
            metrics.add(Metric.of("field_exact[" + fields.get(f).name() + "]", value));
            if (fields.get(f).type() == FieldSpec.FieldType.LIST) {
                metrics.add(Metric.of("field_f1[" + fields.get(f).name() + "]", n == 0 ? Double.NaN : f1[f] / n));
            }
        }
        metrics.add(0, Metric.of("exact_mean", fields.isEmpty() ? Double.NaN : exactSum / fields.size()));
        metrics.add(1, Metric.of("schema_validity", n == 0 ? Double.NaN : (double) valid / n));
        return metrics;
    }

    static JsonNode parse(Prediction p) {
        if (p.failed() || p.fields() == null) {
            return null;
        }
        try {
            JsonNode node = JSON.readTree(p.fields());
            return node != null && node.isObject() ? node : null;
        } catch (java.io.IOException e) {
            return null;
        }
    }

    static boolean equal(JsonNode gold, JsonNode predicted) {
        boolean goldNull = gold == null || gold.isNull();
        boolean predictedNull = predicted == null || predicted.isNull();
        if (goldNull || predictedNull) {
            return goldNull == predictedNull;
        }
        if (gold.isNumber() && predicted.isNumber()) {
            return gold.decimalValue().compareTo(predicted.decimalValue()) == 0;
        }
        if (gold.isTextual() && predicted.isTextual()) {
            return gold.asText().strip().equals(predicted.asText().strip());
        }
        if (gold.isArray() && predicted.isArray()) {
            if (gold.size() != predicted.size()) {
                return false;
            }
            for (int i = 0; i < gold.size(); i++) {
                if (!equal(gold.get(i), predicted.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (gold.isObject() && predicted.isObject()) {
            Set<String> names = new HashSet<>();
            gold.fieldNames().forEachRemaining(names::add);
            predicted.fieldNames().forEachRemaining(names::add);
            return names.stream().allMatch(name -> equal(gold.get(name), predicted.get(name)));
        }
        return gold.equals(predicted);
    }

    private static Set<String> strings(JsonNode node) {
        Set<String> values = new HashSet<>();
        if (node != null && node.isArray()) {
            node.forEach(item -> values.add(item.asText().strip()));
        }
        return values;
    }

    static double setF1(Set<String> gold, Set<String> predicted) {
        if (gold.isEmpty() && predicted.isEmpty()) {
            return 1;
        }
        long tp = predicted.stream().filter(gold::contains).count();
        return 2.0 * tp / (gold.size() + predicted.size());
    }

    /** Whether an answer is exactly the configured object (the same rules the constrained decoder enforces). */
    static boolean valid(List<FieldSpec> fields, JsonNode answer) {
        if (answer.size() != fields.size()) {
            return false;
        }
        for (FieldSpec field : fields) {
            if (!answer.has(field.name()) || !validValue(field, answer.get(field.name()))) {
                return false;
            }
        }
        Iterator<String> names = answer.fieldNames();
        Set<String> configured = new HashSet<>();
        fields.forEach(f -> configured.add(f.name()));
        while (names.hasNext()) {
            if (!configured.contains(names.next())) {
                return false;
            }
        }
        return true;
    }

    private static boolean validValue(FieldSpec field, JsonNode value) {
        if (value.isNull()) {
            return !field.required();
        }
        return switch (field.type()) {
            case ANY -> value.isTextual() || value.isNumber() || value.isBoolean();
            case STRING -> value.isTextual();
            case INTEGER -> value.isIntegralNumber();
            case NUMBER -> value.isNumber();
            case BOOLEAN -> value.isBoolean();
            case DATE -> value.isTextual() && isDate(value.asText());
            case ENUM -> value.isTextual() && field.values().contains(value.asText());
            case LIST -> value.isArray() && allText(value);
            case OBJECT -> value.getNodeType() == JsonNodeType.OBJECT && valid(field.fields(), value);
        };
    }

    private static boolean allText(JsonNode array) {
        for (JsonNode item : array) {
            if (!item.isTextual()) {
                return false;
            }
        }
        return true;
    }

    private static boolean isDate(String text) {
        if (!text.matches("\\d{4}-\\d{2}-\\d{2}")) {
            return false;
        }
        try {
            LocalDate.parse(text);
            return true;
        } catch (DateTimeParseException e) {
            return false;
        }
    }
}
