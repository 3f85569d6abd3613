package dev.nightshift.jobs.cli;

import dev.nightshift.SharedFiles;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static dev.nightshift.jobs.cli.ConvertCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `generate` and `bench` on small models. */
class EngineCommandsTest {

    @TempDir
    static Path work;
    static Path stories;

    @BeforeAll
    static void convert() {
        stories = work.resolve("stories");
        ConvertCommandTest.Outcome outcome = run("convert", "--from", SharedFiles.stories260K().toString(),
                "--tokenizer", SharedFiles.tok512().toString(), "--to", stories.toString(), "--precision", "fp32");
        assertEquals(0, outcome.code(), outcome.err());
    }

    @Test
    void generatePrintsCompletionsAndStats() {
        ConvertCommandTest.Outcome outcome = run("generate", "--model", stories.toString(), "--prompt", "Once upon a time",
                "--prompt", "The little dog", "--max-new-tokens", "20");
        assertEquals(0, outcome.code(), outcome.err());
        assertTrue(outcome.out().contains(", there was a little girl named Lily."), outcome.out());
        assertTrue(outcome.out().contains("=== 2: The little dog"), outcome.out());
        assertTrue(outcome.out().contains("generated 20, finish length"), outcome.out());
    }

    @Test
    void generateWithTheDeviceKvCachePrintsWhatTheHostCacheDoes() {
        String[] args = {"generate", "--model", stories.toString(), "--prompt", "Once upon a time", "--prompt", "The little dog",
                "--max-new-tokens", "24", "--threads", "1"};
        ConvertCommandTest.Outcome host = run(args);
        String[] device = java.util.Arrays.copyOf(args, args.length + 2);
        device[args.length] = "--kv-cache";
        device[args.length + 1] = "device";
        ConvertCommandTest.Outcome onDevice = run(device);
        assertEquals(0, onDevice.code(), onDevice.err());
        assertTrue(onDevice.err().contains("KV cache: device cpu:0"), onDevice.err());
        assertEquals(withoutTimes(host.out()), withoutTimes(onDevice.out()));
        ConvertCommandTest.Outcome bad = run("generate", "--model", stories.toString(), "--prompt", "x", "--kv-cache", "gpu");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--kv-cache must be host or device, got 'gpu'"), bad.err());
    }

    /** The completions and token counts, without the per-row milliseconds. */
    private static String withoutTimes(String out) {
        return out.replaceAll(", first token \\d+ ms, decode \\d+ ms", "");
    }

    @Test
    void generateReportsRowErrorsWithExitCode1() {
        ConvertCommandTest.Outcome outcome = run("generate", "--model", stories.toString(), "--prompt", "dog ".repeat(2000),
                "--max-new-tokens", "4");
        assertEquals(1, outcome.code());
        assertTrue(outcome.out().contains("ERROR: prompt of"), outcome.out());
    }

    @Test
    void generateNamesAMissingModel() {
        ConvertCommandTest.Outcome outcome = run("generate", "--model", work.resolve("absent").toString(), "--prompt", "x");
        assertEquals(2, outcome.code());
        assertTrue(outcome.err().contains("does not exist"), outcome.err());
    }

    @Test
    void generateWithChatRefusesABrokenTemplateBeforeLoadingTheModel() throws Exception {
        Path folder = work.resolve("bad-template");
        ConvertCommandTest.Outcome converted = run("convert", "--from", SharedFiles.stories260K().toString(),
                "--tokenizer", SharedFiles.tok512().toString(), "--to", folder.toString(), "--precision", "fp32");
        assertEquals(0, converted.code(), converted.err());
        java.nio.file.Files.writeString(folder.resolve("chat_template.jinja"), "{{ bos_token }}{{ messages[0]['content'] }");
        ConvertCommandTest.Outcome outcome = run("generate", "--model", folder.toString(), "--chat", "--prompt", "Hi");
        assertEquals(2, outcome.code(), outcome.out());
        assertTrue(outcome.err().contains(folder.resolve("chat_template.jinja") + " is not valid Jinja: unexpected '}'"),
                outcome.err());
    }

    @Test
    void benchPrintsFigures() {
        ConvertCommandTest.Outcome outcome = run("bench", "--random", "tiny", "--batch-sizes", "1,2", "--prompt-tokens", "16",
                "--new-tokens", "4", "--repeat", "1", "--prefix-tokens", "20", "--document-tokens", "10", "--prefix-rows", "2");
        assertEquals(0, outcome.code(), outcome.err());
        assertTrue(outcome.out().contains("prefill tok/s"), outcome.out());
        assertTrue(outcome.out().contains("shared prefix (2 rows"), outcome.out());
        assertTrue(outcome.out().contains("peak RSS"), outcome.out());
    }

    @Test
    void benchComparesLabelScoringWithNaiveGenerationAndSummarizesALongDocument() {
        // stories260K writes text; a random model's byte tokens decode to replacement characters that re-encode longer,
        // so its summaries of summaries need not shrink
        ConvertCommandTest.Outcome outcome = run("bench", "--model", stories.toString(), "--batch-sizes", "1", "--prompt-tokens",
                "16", "--new-tokens", "4", "--repeat", "1", "--prefix-tokens", "0", "--classify-rows", "3", "--classify-tokens",
                "20", "--summary-tokens", "1200", "--executor-hour-usd", "0.5");
        assertEquals(0, outcome.code(), outcome.err());
        assertTrue(outcome.out().matches("(?s).*classify \\(3 documents of ~20 tokens, 4 labels\\): label scoring [0-9.]+ "
                + "docs/s \\(0 failed\\); naive generate 4 tokens then parse [0-9.]+ docs/s, [0-3] of 3 answers .*"),
                outcome.out());
        // stories260K's context is 512 tokens: a 1,200-token document takes several chunks
        assertTrue(outcome.out().matches("(?s).*map-reduce summary of a 1[0-9]{3}-token document \\(context 512, "
                + "max_new_tokens 96\\): [2-9] chunks, depth [2-4], [0-9]+ prompt \\+ [0-9]+ completion tokens, [0-9.]+ s, "
                + "\\$[0-9.]+ at \\$0.50 per executor-hour; per 10k document tokens [0-9.]+ s\n.*"), outcome.out());
    }

    @Test
    void benchComparesConstrainedWithUnconstrainedDecoding() {
        ConvertCommandTest.Outcome outcome = run("bench", "--random", "tiny", "--batch-sizes", "1,2", "--prompt-tokens", "16",
                "--new-tokens", "24", "--repeat", "1", "--prefix-tokens", "0",
                "--json-schema", java.nio.file.Path.of("..", "conf", "bench", "invoice.schema.json").toString());
        assertEquals(0, outcome.code(), outcome.err());
        assertTrue(outcome.out().contains("constrained decoding (../conf/bench/invoice.schema.json): first run"), outcome.out());
        // the batch-2 row of the comparison: two rates with their spread, then the slowdown in percent
        assertTrue(outcome.out().matches("(?s).*slowdown\\n.*\\n     2 +[0-9.]+ \\(.*\\) +[0-9.]+ \\(.*\\) +-?[0-9.]+%\\n.*"),
                outcome.out());
    }

    @Test
    void benchComparesContinuousWithShrinkingBatches() {
        ConvertCommandTest.Outcome outcome = run("bench", "--random", "tiny", "--batch-sizes", "1", "--prompt-tokens", "16",
                "--new-tokens", "4", "--repeat", "1", "--prefix-tokens", "0", "--continuous-rows", "6",
                "--continuous-slots", "2", "--continuous-new-tokens", "2..6", "--continuous-document-tokens", "40");
        assertEquals(0, outcome.code(), outcome.err());
        assertTrue(outcome.out().contains("continuous vs shrinking batches (6 summarize rows, documents 10..40 tokens, "
                + "max_new_tokens 2..6 ignoring end of sequence"), outcome.out());
        // six rows through two slots: the four after the first two each take a finished row's slot
        assertTrue(outcome.out().matches("(?s).*\n  continuous [0-9.]+ \\(.*\\) rows/s, [0-9.]+ \\(.*\\) tokens/s, [0-9.]+ live "
                + "rows per decode step \\([0-9]+ steps per run\\), occupancy [0-9]+%, 4 refills per run\n  shrinking .*"
                + "0 refills per run\n  continuous / shrinking rows/s, per run pair: [0-9.]+x .*"), outcome.out());

        ConvertCommandTest.Outcome reversed = run("bench", "--random", "tiny", "--continuous-rows", "6",
                "--continuous-new-tokens", "9..3");
        assertEquals(2, reversed.code(), reversed.out());
        assertTrue(reversed.err().contains("--continuous-new-tokens must be MIN..MAX with MIN <= MAX (like 8..128), got '9..3'"),
                reversed.err());
    }

    @Test
    void benchDefaultsFitA512TokenModel() {
        // stories260K's context is 512: the default shared-prefix test (300 + 200 tokens, plus BOS) used to overflow it
        ConvertCommandTest.Outcome outcome = run("bench", "--model", stories.toString(), "--batch-sizes", "1", "--repeat", "1",
                "--prefix-rows", "2");
        assertEquals(0, outcome.code(), outcome.err() + outcome.out());
        assertTrue(outcome.out().contains("prompt 256 tokens, 64 new tokens"), outcome.out());
        assertTrue(outcome.out().contains("shared prefix (2 rows, 300-token instruction + 200-token documents)"), outcome.out());
        assertTrue(outcome.out().contains("copy bandwidth measured with the engine's"), outcome.out());
    }

    @Test
    void benchRefusesExplicitSizesBeyondTheContext() {
        ConvertCommandTest.Outcome prompt = run("bench", "--model", stories.toString(), "--prompt-tokens", "500",
                "--new-tokens", "64");
        assertEquals(2, prompt.code(), prompt.out());
        assertTrue(prompt.err().contains("= 564 tokens do not fit the model's context of 512 tokens"), prompt.err());

        ConvertCommandTest.Outcome prefix = run("bench", "--model", stories.toString(), "--prefix-tokens", "400",
                "--document-tokens", "200");
        assertEquals(2, prefix.code(), prefix.out());
        assertTrue(prefix.err().contains("context of 512 tokens"), prefix.err());
    }
    @Test
    void benchReplaysTheExactPromptsADryRunWroteAndCountsEveryRow() throws Exception {
        Path docs = work.resolve("prompts-docs.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            lines.append("{\"id\": \"d").append(i).append("\", \"text\": \"")
                    .append("The little dog ran to the park. ".repeat(1 + 3 * i)).append("\"}\n");
        }
        lines.append("{\"id\": \"blank\", \"text\": \"  \"}\n");
        java.nio.file.Files.writeString(docs, lines);
        Path config = java.nio.file.Files.writeString(work.resolve("prompts-job.yaml"), """
                job: prompts-bench
                source: {path: %s, format: json}
                tasks:
                  - {name: topic, type: classify, labels: [dog, cat]}
                  - {name: tldr, type: summarize, generation: {max_new_tokens: 3}}
                model: {path: %s, max_batch_rows: 2}
                output: {results: {path: %s}, runs: {path: %s}}
                """.formatted(docs, stories, work.resolve("prompts-results"), work.resolve("prompts-runs")));
        Path prompts = work.resolve("out/prompts.jsonl");

        ConvertCommandTest.Outcome dry = run("run", "--config", config.toString(), "--dry-run", "--write-prompts",
                prompts.toString(), "--calibration-file", work.resolve("calibration.properties").toString(),
                "--warehouse", work.resolve("warehouse").toString());
        assertEquals(0, dry.code(), dry.err() + dry.out());
        java.util.regex.Matcher total = java.util.regex.Pattern.compile("total: ([0-9,]+) prompt tokens").matcher(dry.out());
        assertTrue(total.find(), dry.out());
        java.util.List<String> written = java.nio.file.Files.readAllLines(prompts);
        assertEquals(1 + 12, written.size(), "a header and 6 documents x 2 tasks");
        assertTrue(written.get(0).contains("\"format\":\"nightshift-prompts-v1\""), written.get(0));

        ConvertCommandTest.Outcome bench = run("bench", "--prompts", prompts.toString(), "--repeat", "2");
        assertEquals(0, bench.code(), bench.err() + bench.out());
        assertTrue(bench.out().contains("12 rows of job prompts-bench, tasks [topic, tldr]"), bench.out());
        // each run: every row of the file counted, the blank document's two rows failed (as in the job), and the
        // prompt tokens of the others exactly the dry run's count
        String tokens = total.group(1).replace(",", "");
        java.util.regex.Matcher runs = java.util.regex.Pattern.compile("(?m)^ +[12] +12 +2 +" + tokens + " +[0-9]+ "
                + "+[0-9.]+ +[0-9.]+$").matcher(bench.out());
        assertTrue(runs.find() && runs.find(), "dry run's prompt tokens " + tokens + "\n" + bench.out());
        // and says why they failed, per error code, in each run
        java.util.regex.Matcher why = java.util.regex.Pattern.compile("(?m)^ +failed rows: 2 EMPTY_TEXT \\(first: "
                + "[^)]*blank[^)]*\\)$").matcher(bench.out());
        assertTrue(why.find() && why.find(), bench.out());
        assertTrue(bench.out().matches("(?s).*engine rows/s [0-9.]+ \\([0-9.]+-[0-9.]+\\); rows/hour [0-9,]+ .*"),
                bench.out());

        ConvertCommandTest.Outcome notPrompts = run("bench", "--prompts", docs.toString());
        assertEquals(2, notPrompts.code(), notPrompts.out());
        assertTrue(notPrompts.err().contains(docs + ":1: not a prompts file"), notPrompts.err());
        ConvertCommandTest.Outcome notDry = run("run", "--config", config.toString(), "--write-prompts", prompts.toString());
        assertEquals(2, notDry.code(), notDry.out());
        assertTrue(notDry.err().contains("--write-prompts goes with --dry-run"), notDry.err());
    }
}
