-- Databricks notebook source
-- MAGIC %md
-- MAGIC # Nightshift: ad-hoc `llm_*` queries
-- MAGIC Batched LLM calls over a source table in plain SQL, on your own model: what a night would cost, a first look at
-- MAGIC labels, summaries and extracted fields on a sample, the rows that fail and why, and a check that an ad-hoc query
-- MAGIC gives the nightly job's answers. Needs the `llm_*` functions (`spark.sql.extensions` lists
-- MAGIC `dev.nightshift.sql.NightshiftExtensions` before Delta's; `conf/spark-defaults.conf` does) and a model, set in
-- MAGIC the next cell. `NightlyWorkflowTest` runs every statement here on the documents and results of a test run.

-- COMMAND ----------

-- Parameters: the source documents (JSON lines with id, title, text), the nightly job's results table, the model
-- the functions run (a folder made by `nightshift convert`, readable by every executor) and an API's input price.
SET nightshift.source = dbfs:/nightshift/data/sample-docs.jsonl;
SET nightshift.results = dbfs:/nightshift/warehouse/results;
SET spark.nightshift.model.path = /dbfs/nightshift/models/llama-3.2-1b-int4;
SET spark.nightshift.prices.hosted_small.input_per_1m_usd = 0.15;

-- COMMAND ----------

-- MAGIC %md ## What would a night cost?
-- MAGIC Tokens with the model's own tokenizer, and what sending every document to a hosted API would cost as input.

-- COMMAND ----------

SELECT count(*) AS documents, sum(llm_count_tokens(text)) AS tokens, max(llm_count_tokens(text)) AS longest,
       round(sum(llm_estimate_cost(text, 'hosted_small')), 6) AS api_input_usd
FROM json.`${nightshift.source}`;

-- COMMAND ----------

-- MAGIC %md ## Labels on a sample
-- MAGIC The LIMIT comes first, in a subquery, so the model reads only the sample.

-- COMMAND ----------

SELECT id, c.label, round(c.score, 3) AS score, c.scores
FROM (SELECT id, llm_classify(text, array('science', 'sports', 'business', 'food')) AS c
      FROM (SELECT * FROM json.`${nightshift.source}` ORDER BY id LIMIT 8))
ORDER BY id;

-- COMMAND ----------

-- Documents per label.
SELECT llm_classify(text, array('science', 'sports', 'business', 'food')).label AS label, count(*) AS documents
FROM json.`${nightshift.source}`
GROUP BY 1
ORDER BY documents DESC, label;

-- COMMAND ----------

-- MAGIC %md ## Summaries and typed fields

-- COMMAND ----------

-- The three longest documents, summarized in at most 20 words.
SELECT id, length(text) AS characters, llm_summarize(text, 20, map('max_new_tokens', 32)) AS summary
FROM (SELECT * FROM json.`${nightshift.source}` ORDER BY length(text) DESC, id LIMIT 3);

-- COMMAND ----------

-- Typed fields, decoded under their schema: the struct has the DDL's types, or the row's error.
SELECT id, f.place, f.count, f.outdoor, f.error_code
FROM (SELECT id, llm_extract(text, 'place string COMMENT "where it happened", count int, outdoor boolean',
                             map('max_new_tokens', 64)) AS f
      FROM (SELECT * FROM json.`${nightshift.source}` ORDER BY id LIMIT 4))
ORDER BY id;

-- COMMAND ----------

-- MAGIC %md ## Rows that fail, and why
-- MAGIC A row never fails the query: its error travels in the result (`CONTEXT_OVERFLOW` when a document and the
-- MAGIC answer's room exceed the model's context, `EMPTY_TEXT` for a blank text, ...), counted here per outcome.

-- COMMAND ----------

SELECT coalesce(g.error_code, 'ok') AS outcome, count(*) AS documents
FROM (SELECT llm_generate_or_error(concat('Write a headline for: ', text), map('max_new_tokens', 8)) AS g
      FROM json.`${nightshift.source}`)
GROUP BY 1
ORDER BY outcome;

-- COMMAND ----------

-- MAGIC %md ## Does an ad-hoc query give the nightly job's answers?
-- MAGIC The nightly classify task's prompt shows `{title}. {text}`; the same text and prompt here give the same label
-- MAGIC and probability. Rows listed below differ (none expected while the model and task are unchanged).

-- COMMAND ----------

SELECT s.id, s.c.label AS sql_label, r.label AS job_label, round(s.c.score - r.score, 9) AS score_difference
FROM (SELECT id, llm_classify(concat(title, '. ', text), array('science', 'sports', 'business', 'food'),
                              map('prompt', 'Which topic is this article about: {labels}?\n\n{text}\n\nTopic:')) AS c
      FROM json.`${nightshift.source}`) s
JOIN delta.`${nightshift.results}` r ON r.doc_id = s.id AND r.task = 'topic'
WHERE s.c.label <> r.label OR abs(s.c.score - r.score) > 1e-9
ORDER BY s.id;
