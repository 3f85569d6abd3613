-- Databricks notebook source
-- MAGIC %md
-- MAGIC # Nightshift: quality against gold labels
-- MAGIC Reads the tables `nightshift eval` appends under its output folder (`eval.output.path` or `--output`):
-- MAGIC `eval_summary` (one row per evaluation, candidate and metric) and `eval_rows` (one row per document and
-- MAGIC candidate). Set the folder in the next cell; queries read it through Spark SQL's variable substitution
-- MAGIC (`${nightshift.eval}`), so the notebook also runs as plain SQL. `NightlyWorkflowTest` runs every statement here.

-- COMMAND ----------

-- Parameter: the eval output folder (holding eval_rows and eval_summary).
SET nightshift.eval = dbfs:/nightshift/eval;

-- COMMAND ----------

-- MAGIC %md ## Evaluations

-- COMMAND ----------

-- Every evaluation, newest first: task, candidates and sampled documents.
SELECT eval_id, evaluated_at, job, task,
       count(DISTINCT candidate) AS candidates,
       max(CASE WHEN metric = 'rows' THEN value END) AS rows
FROM delta.`${nightshift.eval}/eval_summary`
GROUP BY eval_id, evaluated_at, job, task
ORDER BY evaluated_at DESC;

-- COMMAND ----------

-- The latest evaluation's headline figures per candidate (NULL where the task kind does not compute a metric).
SELECT candidate,
       max(CASE WHEN metric = 'rows' THEN value END) AS rows,
       max(CASE WHEN metric = 'accuracy' THEN value END) AS accuracy,
       max(CASE WHEN metric = 'macro_f1' THEN value END) AS macro_f1,
       max(CASE WHEN metric = 'micro_f1' THEN value END) AS micro_f1,
       max(CASE WHEN metric = 'rougeL_f' THEN value END) AS rouge_l,
       max(CASE WHEN metric = 'exact_mean' THEN value END) AS exact_mean,
       max(CASE WHEN metric = 'error_rate' THEN value END) AS error_rate,
       max(CASE WHEN metric = 'latency_p50_ms' THEN value END) AS latency_p50_ms,
       max(CASE WHEN metric = 'cost_per_1k_rows_usd' THEN value END) AS cost_per_1k_rows_usd
FROM delta.`${nightshift.eval}/eval_summary`
WHERE eval_id = (SELECT max_by(eval_id, evaluated_at) FROM delta.`${nightshift.eval}/eval_summary`)
GROUP BY candidate
ORDER BY candidate;

-- COMMAND ----------

-- Quality over time: the headline quality metric of every evaluation, per task and candidate.
SELECT task, candidate, evaluated_at, metric, round(value, 4) AS value
FROM delta.`${nightshift.eval}/eval_summary`
WHERE metric IN ('accuracy', 'macro_f1', 'micro_f1', 'rougeL_f', 'exact_mean', 'error_rate')
ORDER BY task, candidate, metric, evaluated_at;

-- COMMAND ----------

-- MAGIC %md ## Per label and confusions (classify)

-- COMMAND ----------

-- Precision, recall and F1 per label, latest evaluation.
SELECT candidate,
       regexp_extract(metric, '^[a-z0-9]+\\[(.*)\\]$', 1) AS label,
       max(CASE WHEN metric LIKE 'precision[%' THEN value END) AS precision,
       max(CASE WHEN metric LIKE 'recall[%' THEN value END) AS recall,
       max(CASE WHEN metric LIKE 'f1[%' THEN value END) AS f1
FROM delta.`${nightshift.eval}/eval_summary`
WHERE eval_id = (SELECT max_by(eval_id, evaluated_at) FROM delta.`${nightshift.eval}/eval_summary`)
  AND (metric LIKE 'precision[%' OR metric LIKE 'recall[%' OR metric LIKE 'f1[%')
GROUP BY candidate, regexp_extract(metric, '^[a-z0-9]+\\[(.*)\\]$', 1)
ORDER BY candidate, label;

-- COMMAND ----------

-- The confusion matrix as (gold, predicted, rows), latest evaluation; "(error)" counts rows that failed.
SELECT candidate,
       regexp_extract(metric, '^confusion\\[(.*) -> (.*)\\]$', 1) AS gold,
       regexp_extract(metric, '^confusion\\[(.*) -> (.*)\\]$', 2) AS predicted,
       value AS rows
FROM delta.`${nightshift.eval}/eval_summary`
WHERE eval_id = (SELECT max_by(eval_id, evaluated_at) FROM delta.`${nightshift.eval}/eval_summary`)
  AND metric LIKE 'confusion[%' AND value > 0
ORDER BY candidate, gold, predicted;

-- COMMAND ----------

-- MAGIC %md ## Documents to look at

-- COMMAND ----------

-- Nightshift's confident mistakes in the latest evaluation: wrong (quality below 1) at the highest scores.
SELECT doc_id, gold, predicted, round(score, 3) AS score, round(quality, 3) AS quality, error
FROM delta.`${nightshift.eval}/eval_rows`
WHERE eval_id = (SELECT max_by(eval_id, evaluated_at) FROM delta.`${nightshift.eval}/eval_rows`)
  AND candidate = 'nightshift' AND (quality < 1 OR error IS NOT NULL)
ORDER BY score DESC NULLS LAST, doc_id
LIMIT 50;

-- COMMAND ----------

-- Where Nightshift and a recorded candidate (e.g. the hosted API) disagree, latest evaluation.
SELECT ours.doc_id, ours.gold, ours.predicted AS nightshift, theirs.candidate, theirs.predicted AS theirs,
       ours.quality AS nightshift_quality, theirs.quality AS their_quality
FROM delta.`${nightshift.eval}/eval_rows` ours
JOIN delta.`${nightshift.eval}/eval_rows` theirs
  ON ours.eval_id = theirs.eval_id AND ours.doc_id = theirs.doc_id AND theirs.candidate <> 'nightshift'
WHERE ours.candidate = 'nightshift'
  AND ours.eval_id = (SELECT max_by(eval_id, evaluated_at) FROM delta.`${nightshift.eval}/eval_rows`)
  AND ours.predicted IS DISTINCT FROM theirs.predicted
ORDER BY ours.doc_id, theirs.candidate;
