package dev.nightshift.jobs.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.jobs.nightly.JobConfig;
import dev.nightshift.jobs.nightly.JobConfigException;
import dev.nightshift.task.TaskType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The gold column's values for one task, checked: every sampled document has one, classify labels are the task's,
 * extract values are JSON objects. A value that is a list (or, for classify, a comma-separated list of the task's
 * labels) makes the evaluation multi-label.
 *
 * @param column the gold column's name (for messages)
 * @param ids    the sampled document ids, in sample order
 * @param values id → the raw gold value (a String, or a List of Strings)
 */
public record GoldValues(String column, List<String> ids, Map<String, Object> values) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public GoldValues {
        ids = List.copyOf(ids);
        values = new LinkedHashMap<>(values);
    }

    /** Fails with the documents that have no gold value, and the fix. */
    void requirePresent() {
        List<String> missing = ids.stream().filter(id -> values.get(id) == null
                || (values.get(id) instanceof String s && s.isBlank())).toList();
        if (!missing.isEmpty()) {
            throw new JobConfigException(missing.size() + " sampled document(s) have no value in the gold column '"
                    + column + "' (e.g. " + String.join(", ", missing.subList(0, Math.min(5, missing.size())))
                    + "); keep only labelled documents, e.g. source.filter: \"" + column + " IS NOT NULL\"");
        }
    }

    /** Whether the classify gold is multi-label: a list value, or a comma list of labels that is not itself a label. */
    boolean multiLabel(List<String> labels) {
        for (Object value : values.values()) {
            if (value instanceof List<?>) {
                return true;
            }
            if (value instanceof String s && !labels.contains(s.strip()) && s.contains(",")) {
                return true;
            }
        }
        return false;
    }

    /** Single-label gold, in id order, checked against the task's labels. */
    List<String> labels(JobConfig.Task task) {
        List<String> gold = new ArrayList<>();
        Map<String, Integer> unknown = new TreeMap<>();
        for (String id : ids) {
            String value = values.get(id).toString().strip();
            if (!task.labels().contains(value)) {
                unknown.merge(value, 1, Integer::sum);
            }
            gold.add(value);
        }
        refuseUnknown(task, unknown);
        return gold;
    }

    /** Multi-label gold sets, in id order, checked against the task's labels. */
    List<Set<String>> labelSets(JobConfig.Task task) {
        List<Set<String>> gold = new ArrayList<>();
        Map<String, Integer> unknown = new TreeMap<>();
        for (String id : ids) {
            Object value = values.get(id);
            List<String> items = new ArrayList<>();
            if (value instanceof List<?> list) {
                list.forEach(item -> items.add(String.valueOf(item).strip()));
            } else {
                for (String part : value.toString().split(",")) {
                    items.add(part.strip());
                }
            }
            Set<String> set = new LinkedHashSet<>();
            for (String item : items) {
                if (item.isEmpty()) {
                    continue;
                }
                if (!task.labels().contains(item)) {
                    unknown.merge(item, 1, Integer::sum);
                }
                set.add(item);
            }
            gold.add(set);
        }
        refuseUnknown(task, unknown);
        return gold;
    }

    private void refuseUnknown(JobConfig.Task task, Map<String, Integer> unknown) {
        if (!unknown.isEmpty()) {
            List<String> shown = new ArrayList<>();
            unknown.entrySet().stream().limit(5).forEach(e -> shown.add("'" + e.getKey() + "' (" + e.getValue() + " rows)"));
            throw new JobConfigException("the gold column '" + column + "' has values that are not labels of task '"
                    + task.name() + "' " + task.labels() + ": " + String.join(", ", shown)
                    + "; fix the gold values or the task's labels (labels are compared exactly, case included)");
        }
    }

    /** Reference texts, in id order. */
    List<String> texts() {
        return ids.stream().map(id -> values.get(id).toString()).toList();
    }

    /** Gold JSON objects, in id order. */
    List<JsonNode> objects(TaskType type) {
        List<JsonNode> gold = new ArrayList<>();
        for (String id : ids) {
            Object value = values.get(id);
            JsonNode node;
            try {
                node = JSON.readTree(value.toString());
            } catch (java.io.IOException e) {
                node = null;
            }
            if (node == null || !node.isObject()) {
                throw new JobConfigException("the gold column '" + column + "' of document " + id + " is not a JSON object "
                        + "(got " + abbreviate(value.toString()) + "); " + type.id() + " gold is one object of the task's "
                        + "fields, as a JSON string or a struct column");
            }
            gold.add(node);
        }
        return gold;
    }

    private static String abbreviate(String text) {
        return text.length() > 60 ? text.substring(0, 59) + "…" : text;
    }
}
