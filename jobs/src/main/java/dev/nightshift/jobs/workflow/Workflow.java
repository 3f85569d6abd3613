package dev.nightshift.jobs.workflow;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A workflow file in the Databricks Jobs API 2.1 shape (issue 11): the job's {@code parameters}, and its
 * {@code tasks}, each a {@code spark_jar_task} with {@code depends_on}, {@code max_retries},
 * {@code min_retry_interval_millis}, {@code timeout_seconds} and {@code retry_on_timeout}. Cluster, schedule and
 * notification settings are Databricks' business and are not read here.
 *
 * <pre>{@code
 * Workflow nightly = Workflow.read(Path.of("conf/workflows/nightly.json"));
 * List<String> args = nightly.resolve(nightly.order().get(0), Map.of("conf", "/tmp/conf"));
 * }</pre>
 */
public record Workflow(Path file, String name, Map<String, String> parameters, List<WorkflowTask> tasks) {

    /** Jobs API 2.1's dynamic value reference to a job parameter. */
    private static final Pattern REFERENCE = Pattern.compile("\\{\\{\\s*job\\.parameters\\.([A-Za-z0-9_.-]+)\\s*}}");

    public Workflow {
        parameters = Map.copyOf(parameters);
        tasks = List.copyOf(tasks);
    }

    /** Reads a workflow file and checks its shape: every task's key, its jar task and its dependencies. */
    public static Workflow read(Path file) throws WorkflowException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new WorkflowException(file + ": no such workflow file");
        } catch (JsonProcessingException e) {
            throw new WorkflowException(file + " is not valid JSON: line " + e.getLocation().getLineNr() + ": "
                    + e.getOriginalMessage());
        } catch (IOException e) {
            throw new WorkflowException(file + ": cannot read it: " + e.getMessage());
        }
        List<String> problems = new ArrayList<>();
        if (root == null || !root.isObject()) {
            throw new WorkflowException(file + ": expected a JSON object (a Jobs API 2.1 job settings document)");
        }
        String name = root.path("name").asText(file.getFileName().toString());
        Map<String, String> parameters = new LinkedHashMap<>();
        for (JsonNode parameter : root.path("parameters")) {
            if (!parameter.path("name").isTextual()) {
                problems.add(file + ": parameters[]: every entry needs a \"name\" (and a \"default\")");
            } else {
                parameters.put(parameter.get("name").asText(), parameter.path("default").asText(""));
            }
        }
        if (!root.path("tasks").isArray() || root.path("tasks").isEmpty()) {
            throw new WorkflowException(file + ": no \"tasks\" array; add at least one task with a task_key and a spark_jar_task");
        }
        List<WorkflowTask> tasks = new ArrayList<>();
        Set<String> keys = new LinkedHashSet<>();
        int index = 0;
        for (JsonNode node : root.get("tasks")) {
            String where = file + ": tasks[" + index++ + "]";
            String key = node.path("task_key").asText("");
            if (key.isEmpty()) {
                problems.add(where + " has no task_key; give every task a unique one");
                continue;
            }
            where = file + ": task " + key;
            if (!keys.add(key)) {
                problems.add(where + " appears twice; task keys must be unique");
                continue;
            }
            JsonNode jar = node.path("spark_jar_task");
            if (!jar.path("main_class_name").isTextual()) {
                problems.add(where + " has no spark_jar_task.main_class_name; only spark_jar_task tasks run here");
                continue;
            }
            List<String> args = new ArrayList<>();
            for (JsonNode arg : jar.path("parameters")) {
                if (!arg.isValueNode()) {
                    problems.add(where + ": spark_jar_task.parameters must be strings");
                }
                args.add(arg.asText());
            }
            List<String> dependsOn = new ArrayList<>();
            for (JsonNode dependency : node.path("depends_on")) {
                dependsOn.add(dependency.path("task_key").asText(""));
            }
            int maxRetries = node.path("max_retries").asInt(0);
            if (maxRetries < 0) {
                problems.add(where + ": max_retries " + maxRetries + " (retry forever) is not supported here; give a count from 0");
            }
            long timeout = node.path("timeout_seconds").asLong(0);
            if (timeout < 0) {
                problems.add(where + ": timeout_seconds must be 0 (none) or more, got " + timeout);
            }
            tasks.add(new WorkflowTask(key, dependsOn, jar.get("main_class_name").asText(), args, Math.max(0, maxRetries),
                    Math.max(0, node.path("min_retry_interval_millis").asLong(0)), Math.max(0, timeout),
                    node.path("retry_on_timeout").asBoolean(false)));
        }
        for (WorkflowTask task : tasks) {
            for (String dependency : task.dependsOn()) {
                if (!keys.contains(dependency)) {
                    problems.add(file + ": task " + task.key() + " depends on '" + dependency + "', which is no task_key; "
                            + "known: " + String.join(", ", keys));
                }
            }
            for (String arg : task.parameters()) {
                Matcher reference = REFERENCE.matcher(arg);
                while (reference.find()) {
                    if (!parameters.containsKey(reference.group(1))) {
                        problems.add(file + ": task " + task.key() + " refers to {{job.parameters." + reference.group(1)
                                + "}}, which the job's \"parameters\" do not define");
                    }
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new WorkflowException(problems);
        }
        Workflow workflow = new Workflow(file, name, parameters, tasks);
        workflow.order();
        return workflow;
    }

    /**
     * The tasks in an order where each comes after its dependencies (file order among ready tasks).
     *
     * @throws WorkflowException naming the tasks of a dependency cycle
     */
    public List<WorkflowTask> order() throws WorkflowException {
        Map<String, WorkflowTask> byKey = new LinkedHashMap<>();
        tasks.forEach(task -> byKey.put(task.key(), task));
        List<WorkflowTask> ordered = new ArrayList<>();
        Set<String> done = new LinkedHashSet<>();
        while (ordered.size() < tasks.size()) {
            WorkflowTask ready = tasks.stream().filter(t -> !done.contains(t.key()) && done.containsAll(t.dependsOn()))
                    .findFirst().orElse(null);
            if (ready == null) {
                throw new WorkflowException(file + ": the dependencies form a cycle: " + cycle(byKey, done)
                        + "; remove one of its depends_on entries");
            }
            ordered.add(ready);
            done.add(ready.key());
        }
        return ordered;
    }

    private static String cycle(Map<String, WorkflowTask> byKey, Set<String> done) {
        // Follow unfinished dependencies from an unfinished task until one repeats.
        String start = byKey.keySet().stream().filter(k -> !done.contains(k)).findFirst().orElseThrow();
        Deque<String> path = new ArrayDeque<>();
        String current = start;
        while (!path.contains(current)) {
            path.addLast(current);
            current = byKey.get(current).dependsOn().stream().filter(k -> !done.contains(k)).findFirst().orElseThrow();
        }
        List<String> loop = new ArrayList<>(path);
        loop = loop.subList(loop.indexOf(current), loop.size());
        loop.add(current);
        return String.join(" -> ", loop);
    }

    /**
     * A task's parameters with {@code {{job.parameters.NAME}}} replaced by {@code overrides}' value, else the
     * parameter's default.
     */
    public List<String> resolve(WorkflowTask task, Map<String, String> overrides) {
        List<String> resolved = new ArrayList<>();
        for (String arg : task.parameters()) {
            Matcher reference = REFERENCE.matcher(arg);
            StringBuilder out = new StringBuilder();
            while (reference.find()) {
                String value = overrides.getOrDefault(reference.group(1), parameters.get(reference.group(1)));
                reference.appendReplacement(out, Matcher.quoteReplacement(value));
            }
            reference.appendTail(out);
            resolved.add(out.toString());
        }
        return resolved;
    }

    /** Checks that every override names a job parameter of this file. */
    public void checkOverrides(Map<String, String> overrides) throws WorkflowException {
        for (String name : overrides.keySet()) {
            if (!parameters.containsKey(name)) {
                throw new WorkflowException("--param " + name + ": " + file + " has no job parameter of that name; its parameters: "
                        + (parameters.isEmpty() ? "(none)" : String.join(", ", parameters.keySet())));
            }
        }
    }
}
