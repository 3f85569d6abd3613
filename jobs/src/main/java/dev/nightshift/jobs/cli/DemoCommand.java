package dev.nightshift.jobs.cli;

import dev.nightshift.engine.ModelFolder;
import dev.nightshift.jobs.nightly.JobConfig;
import dev.nightshift.jobs.nightly.JobConfigLoader;
import dev.nightshift.jobs.nightly.NightlyJob;
import dev.nightshift.jobs.nightly.RunSummary;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"The nightly job end to end on this machine: builds a tiny random-weight model (unless --model is "
                + "given), writes 36 sample documents, runs the job on local[*] into a Delta warehouse under --work, and "
                + "prints a results preview, the run summary and an example SQL query. Run it twice: the second run skips everything."},
        footer = {"", "Examples:",
                "  bin/nightshift demo",
                "  bin/nightshift convert --from ../shared/models/stories260K/stories260K.bin \\",
                "      --tokenizer ../shared/models/stories260K/tok512.bin \\",
                "      --to models/stories260K",
                "  bin/nightshift demo --model models/stories260K"})
final class DemoCommand implements Callable<Integer> {

    static final String DOCS_RESOURCE = "/demo/sample-docs.jsonl";

    @Spec
    CommandSpec spec;

    @Option(names = "--work", defaultValue = "nightshift-work", paramLabel = "DIR",
            description = "Folder for the model, documents, config and Delta tables (default: ${DEFAULT-VALUE}).")
    Path work;

    @Option(names = "--model", paramLabel = "DIR", description = "A converted model folder to use instead of the random one.")
    Path model;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Path root = work.toAbsolutePath().normalize();
        Path modelDir = model != null ? model.toAbsolutePath().normalize() : randomModel(root, out);
        if (model != null && !Files.isDirectory(modelDir)) {
            throw new IllegalArgumentException("--model " + model + " is not a folder; convert a model first (see the examples in --help)");
        }
        Path docs = root.resolve("data/sample-docs.jsonl");
        Files.createDirectories(docs.getParent());
        try (InputStream in = DemoCommand.class.getResourceAsStream(DOCS_RESOURCE)) {
            Files.copy(in, docs, StandardCopyOption.REPLACE_EXISTING);
        }
        Path configFile = root.resolve("demo.yaml");
        Files.writeString(configFile, config(docs, modelDir, root.resolve("warehouse")));
        out.printf("documents: %s (36 short texts written for this demo)%nconfig:    %s%n%n", docs, configFile);
        out.flush();

        JobConfig job = JobConfigLoader.load(configFile);
        SparkSession spark = JobConsole.session("local[*]", root.resolve("warehouse"));
        RunSummary run = NightlyJob.of(spark, job).listener(JobConsole.progress(spec.commandLine().getErr())).run();

        out.println();
        out.println("Results (first rows):");
        String results = job.output().results().path();
        JobConsole.printTable(spark.sql("SELECT doc_id, task, coalesce(label, output) AS answer, round(score, 3) AS score, "
                + "prompt_tokens, output_tokens, finish_reason, error FROM delta.`" + results + "` ORDER BY doc_id, task"),
                8, 48, out);
        out.println();
        JobConsole.printSummary(run, out);
        if (run.rowsProcessed() == 0) {
            out.println("  (nothing changed since the last run, so every row was skipped)");
        }
        out.println();
        out.println("Try SQL over the outputs (the llm_* functions run the job's model inside the query):");
        out.printf("  bin/nightshift sql --config %s \"SELECT task, answer, count(*) AS n FROM (SELECT task, coalesce(label, "
                + "'(text)') AS answer FROM results) GROUP BY task, answer ORDER BY task, n DESC\"%n", relative(configFile));
        out.printf("  bin/nightshift sql --config %s \"SELECT run_id, status, rows_processed, rows_skipped, tokens_in, "
                + "tokens_out FROM runs ORDER BY started_at\"%n", relative(configFile));
        out.printf("  bin/nightshift sql --config %s \"SELECT doc_id, llm_classify(output, array('good news', 'bad news')).label "
                + "AS tone, llm_count_tokens(output) AS tokens FROM results WHERE task = 'summary' ORDER BY doc_id LIMIT 5\"%n",
                relative(configFile));
        if (model == null) {
            out.println();
            out.println("NOTE: the model has random weights, so its labels and summaries are meaningless; the demo shows the");
            out.println("      pipeline (incremental runs, Delta MERGE, tokens, cost), not model quality. For a real model:");
            out.println("      bin/nightshift convert --from <llama2.c .bin or Hugging Face folder> --to models/mine && bin/nightshift demo --model models/mine");
        }
        out.flush();
        return run.exitCode();
    }

    /** The random-weight model, built once under the work folder and reused by later demo runs. */
    private static Path randomModel(Path root, PrintWriter out) throws IOException {
        Path folder = root.resolve("models/random-tiny-int4");
        if (Files.isRegularFile(folder.resolve(ModelFolder.GENAI_CONFIG))) {
            out.println("model:     " + folder + " (random weights, built by an earlier demo run)");
            return folder;
        }
        ModelConverter.convert(new RandomWeights(RandomShapes.parse("tiny"), 42), folder,
                ConversionOptions.of(Precision.INT4), null, ConversionListener.NONE);
        out.println("model:     " + folder + " (built now: a tiny Llama with RANDOM weights and a synthetic tokenizer;");
        out.println("           its text is meaningless. Use --model DIR to point the demo at a real converted model.)");
        return folder;
    }

    private static String relative(Path file) {
        Path here = Path.of("").toAbsolutePath();
        return file.startsWith(here) ? here.relativize(file).toString() : file.toString();
    }

    static String config(Path docs, Path model, Path warehouse) {
        return """
                # Written by `nightshift demo`; edit it and run `bin/nightshift run --config <this file>`.
                job: demo
                source:
                  path: %s
                  format: json
                  id: id
                  text: text
                  title: title
                tasks:
                  - name: topic
                    type: classify
                    labels: [science, sports, business, food]
                    prompt: "Which topic is this article about: {labels}?\\n\\n{title}. {text}\\n\\nTopic:"
                  - name: summary
                    type: summarize
                    max_words: 16
                    prompt: "Summarize in at most {max_words} words.\\n\\n{title}. {text}\\n\\nSummary:"
                    generation: {max_new_tokens: 24, temperature: 0}
                model:
                  path: %s
                  threads: 0
                output:
                  results: {path: %s}
                  runs: {path: %s}
                run:
                  chunk_rows: 1000
                  max_failure_rate: 0.05
                prices:
                  executor_hour_usd: 0.10
                  apis:
                    - {name: small-hosted-model, input_per_1m_usd: 0.15, output_per_1m_usd: 0.60}
                    - {name: large-hosted-model, input_per_1m_usd: 2.50, output_per_1m_usd: 10.00}
                """.formatted(quote(docs), quote(model), quote(warehouse.resolve("results")), quote(warehouse.resolve("runs")));
    }

    private static String quote(Path path) {
        return "'" + path.toString().replace("'", "''") + "'";
    }
}
