package dev.nightshift.jobs.workflow;

import java.util.List;

/**
 * One task of a workflow file: a Jobs API 2.1 {@code spark_jar_task} with its dependencies, retries and timeout.
 *
 * @param key                    {@code task_key}, unique in the file
 * @param dependsOn              {@code depends_on[].task_key}: tasks that must succeed first
 * @param mainClass              {@code spark_jar_task.main_class_name}
 * @param parameters             {@code spark_jar_task.parameters}, with {@code {{job.parameters.NAME}}} references unresolved
 * @param maxRetries             {@code max_retries} (0: one attempt; -1, the API's "forever", is refused by the reader)
 * @param minRetryIntervalMillis {@code min_retry_interval_millis}: the wait before a retry
 * @param timeoutSeconds         {@code timeout_seconds} per attempt (0: none)
 * @param retryOnTimeout         {@code retry_on_timeout}: whether a timed-out attempt is retried (the API's default: no)
 */
public record WorkflowTask(String key, List<String> dependsOn, String mainClass, List<String> parameters, int maxRetries,
                           long minRetryIntervalMillis, long timeoutSeconds, boolean retryOnTimeout) {

    public WorkflowTask {
        dependsOn = List.copyOf(dependsOn);
        parameters = List.copyOf(parameters);
    }
}
