-- Databricks notebook source
-- MAGIC %md
-- MAGIC # Nightshift: the nightly results
-- MAGIC Labels, errors, tokens and cost per night, the saving against API prices, what changed since the last run, and
-- MAGIC two nights compared with Delta time travel. Reads the Delta tables the nightly job writes (`output.results` and
-- MAGIC `output.runs` of its config). Set the paths in the next cell; every query reads them through Spark SQL's
-- MAGIC variable substitution (`${nightshift.results}`), so the notebook also runs as plain SQL in `spark.sql`.
-- MAGIC `NightlyWorkflowTest` runs every statement here against tables a test run of the job wrote.

-- COMMAND ----------

-- Parameters: the job's results and runs tables (paths), and the results table version to compare with
-- (a version from DESCRIBE HISTORY below: the last one written by an earlier night).
SET nightshift.results = dbfs:/nightshift/warehouse/results;
SET nightshift.runs = dbfs:/nightshift/warehouse/runs;
SET nightshift.compare_version = 1;

-- COMMAND ----------

-- MAGIC %md ## Rows per label

-- COMMAND ----------

-- Classify tasks: documents per label and the mean probability of the chosen label.
SELECT task, label, count(*) AS rows, round(avg(score), 3) AS mean_score
FROM delta.`${nightshift.results}`
WHERE label IS NOT NULL
GROUP BY task, label
ORDER BY task, rows DESC, label;

-- COMMAND ----------

-- Multi-label tasks: how often each label is among a document's labels.
SELECT task, label, count(*) AS rows
FROM (SELECT task, explode(labels) AS label FROM delta.`${nightshift.results}` WHERE labels IS NOT NULL)
GROUP BY task, label
ORDER BY task, rows DESC, label;

-- COMMAND ----------

-- MAGIC %md ## Errors

-- COMMAND ----------

-- Error rate per task. stale_outputs: rows that keep an earlier good output beside a newer failed attempt.
SELECT task,
       count(*) AS rows,
       count_if(error IS NOT NULL) AS errors,
       round(count_if(error IS NOT NULL) / count(*), 4) AS error_rate,
       count_if(output IS NOT NULL AND error IS NOT NULL) AS stale_outputs
FROM delta.`${nightshift.results}`
GROUP BY task
ORDER BY task;

-- COMMAND ----------

-- Top errors by error_code, with one example message each.
SELECT task, error_code, count(*) AS rows, min(error) AS example
FROM delta.`${nightshift.results}`
WHERE error_code IS NOT NULL
GROUP BY task, error_code
ORDER BY rows DESC, task, error_code
LIMIT 20;

-- COMMAND ----------

-- MAGIC %md ## Tokens and cost per night

-- COMMAND ----------

-- Every finished run's rows, tokens (successful rows only), time and cluster cost, by the night it started.
SELECT to_date(started_at) AS night,
       count(*) AS runs,
       sum(rows_processed) AS rows_processed,
       sum(rows_failed) AS rows_failed,
       sum(rows_skipped) AS rows_skipped,
       sum(tokens_in) AS tokens_in,
       sum(tokens_out) AS tokens_out,
       round(sum(wall_seconds), 1) AS wall_seconds,
       round(sum(cluster_cost_usd), 4) AS cluster_cost_usd
FROM delta.`${nightshift.runs}`
WHERE status <> 'running'
GROUP BY to_date(started_at)
ORDER BY night;

-- COMMAND ----------

-- The saving against API prices: what the same tokens would have cost at each configured API (prices.apis),
-- against this cluster's cost.
SELECT to_date(started_at) AS night,
       cost.api AS api,
       round(sum(cost.cost_usd), 6) AS api_cost_usd,
       round(sum(cluster_cost_usd), 6) AS cluster_cost_usd,
       round(sum(cost.saving_usd), 6) AS saving_usd
FROM delta.`${nightshift.runs}` LATERAL VIEW explode(api_costs) costs AS cost
WHERE status <> 'running'
GROUP BY to_date(started_at), cost.api
ORDER BY night, api;

-- COMMAND ----------

-- The latest runs, newest first.
SELECT job, run_id, status, started_at, rows_read, rows_skipped, rows_processed, rows_failed, rows_with_errors,
       round(tokens_per_second, 1) AS tokens_per_second, provider, message
FROM delta.`${nightshift.runs}`
ORDER BY started_at DESC
LIMIT 20;

-- COMMAND ----------

-- MAGIC %md ## What changed since the last run

-- COMMAND ----------

-- Rows the latest run of each job wrote: new documents (first attempt) and documents whose input changed (or that
-- --retry-failed retried). Unchanged documents are skipped by a run, so they are not here.
SELECT r.task, r.doc_id,
       CASE WHEN r.attempts = 1 THEN 'new' ELSE 'changed or retried' END AS why,
       r.attempts, r.label, r.error_code, r.processed_at
FROM delta.`${nightshift.results}` r
JOIN (SELECT max_by(run_id, started_at) AS run_id FROM delta.`${nightshift.runs}` GROUP BY job) latest
  ON r.run_id = latest.run_id
ORDER BY r.task, r.doc_id;

-- COMMAND ----------

-- MAGIC %md ## Two nights compared (Delta time travel)

-- COMMAND ----------

-- The results table's versions: each night's MERGEs, with the operation and rows touched. Pick the last version of
-- the night to compare with and set nightshift.compare_version above.
DESCRIBE HISTORY delta.`${nightshift.results}`;

-- COMMAND ----------

-- Every (document, task) whose input, label or output differs between that version and now.
SELECT coalesce(cur.task, prev.task) AS task,
       coalesce(cur.doc_id, prev.doc_id) AS doc_id,
       CASE WHEN prev.doc_id IS NULL THEN 'added' WHEN cur.doc_id IS NULL THEN 'removed' ELSE 'changed' END AS change,
       prev.label AS label_before, cur.label AS label_now,
       prev.output AS output_before, cur.output AS output_now
FROM delta.`${nightshift.results}` cur
FULL OUTER JOIN delta.`${nightshift.results}` VERSION AS OF ${nightshift.compare_version} prev
  ON cur.doc_id = prev.doc_id AND cur.task = prev.task
WHERE prev.input_hash IS DISTINCT FROM cur.input_hash
   OR prev.label IS DISTINCT FROM cur.label
   OR prev.output IS DISTINCT FROM cur.output
ORDER BY task, doc_id;

-- COMMAND ----------

-- Label moves between the two versions, per classify task.
SELECT cur.task, prev.label AS label_before, cur.label AS label_now, count(*) AS rows
FROM delta.`${nightshift.results}` cur
JOIN delta.`${nightshift.results}` VERSION AS OF ${nightshift.compare_version} prev
  ON cur.doc_id = prev.doc_id AND cur.task = prev.task
WHERE cur.label IS NOT NULL AND prev.label IS DISTINCT FROM cur.label
GROUP BY cur.task, prev.label, cur.label
ORDER BY cur.task, rows DESC;
