package dev.nightshift.jobs.nightly;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A test job's folder: source documents (JSON lines), a fake model folder, tables, and the YAML config. */
final class JobFiles {

    private static final ObjectMapper JSON = new ObjectMapper();

    final Path dir;
    final Path docs;
    final Path model;

    JobFiles(Path dir) {
        this.dir = dir;
        this.docs = dir.resolve("docs.jsonl");
        this.model = dir.resolve("model");
        try {
            Files.createDirectories(model);
            Files.writeString(model.resolve("genai_config.json"), "{\"fake\": 1}");
            // Never loaded: the fake engine stands in for the model, but the job checks the folder looks like one.
            Files.writeString(model.resolve("model.onnx"), "fake");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes n documents doc-000 .. with varied lengths; entries of {@code edits} replace texts by id. */
    JobFiles documents(int n, Map<String, String> edits) {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String id = String.format("doc-%03d", i);
            ObjectNode row = JSON.createObjectNode();
            row.put("id", id);
            row.put("title", "Title " + i);
            row.put("text", edits.getOrDefault(id, ("Document " + i + " talks about topic " + (i % 7) + ". ").repeat(1 + i % 5)));
            row.put("region", i % 2 == 0 ? "north" : "south");
            lines.add(row.toString());
        }
        write(docs, String.join("\n", lines) + "\n");
        return this;
    }

    /** The model file changes: a new fingerprint, as after swapping the model. */
    void replaceModel() {
        write(model.resolve("genai_config.json"), "{\"fake\": 2}");
    }

    String results() {
        return dir.resolve("results").toString();
    }

    String runs() {
        return dir.resolve("runs").toString();
    }

    /** A two-task config (classify + summarize); {@code extra} is appended at top level (e.g. a run: section). */
    String yaml(String summaryPrompt, int chunkRows, String extra) {
        return """
                job: test-job
                source:
                  path: %s
                  format: json
                  id: id
                  text: text
                  title: title
                  columns: [region]
                tasks:
                  - name: topic
                    type: classify
                    labels: [World, Sports, Business, Sci/Tech]
                    prompt: "Topic of this {region} news? {labels}\\n{title}: {text}\\nAnswer:"
                  - name: tldr
                    type: summarize
                    max_words: 5
                    prompt: "%s"
                    generation: {max_new_tokens: 12}
                model:
                  path: %s
                output:
                  results: {path: %s}
                  runs: {path: %s}
                run:
                  chunk_rows: %d
                  max_failure_rate: 0.2
                prices:
                  executor_hour_usd: 0.40
                  apis:
                    - {name: big-api, input_per_1m_usd: 2.5, output_per_1m_usd: 10}
                %s
                """.formatted(docs, summaryPrompt, model, results(), runs(), chunkRows, extra);
    }

    JobConfig config(String summaryPrompt, int chunkRows) {
        return JobConfigLoader.parse(yaml(summaryPrompt, chunkRows, ""), dir.resolve("job.yaml").toString());
    }

    JobConfig config() {
        return config("Summarize: {text}", 1000);
    }

    Path writeConfig(String yaml) {
        Path file = dir.resolve("job.yaml");
        write(file, yaml);
        return file;
    }

    static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
