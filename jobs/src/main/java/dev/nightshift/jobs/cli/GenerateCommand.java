package dev.nightshift.jobs.cli;

import dev.nightshift.engine.EngineOptions;
import dev.nightshift.engine.ErrorCode;
import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.LlmEngine;
import dev.nightshift.engine.ModelFolder;
import dev.nightshift.engine.OverflowPolicy;
import dev.nightshift.engine.Prompt;
import dev.nightshift.jobs.nightly.SettingRange;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Complete prompts with a model folder and print each completion with its token counts and timings.",
        footer = {"", "Examples:",
                "  bin/nightshift generate --model models/stories260K \\",
                "      --prompt 'Once upon a time' --max-new-tokens 64",
                "  bin/nightshift generate --model models/llama32-1b-int4 --chat \\",
                "      --prompts questions.txt --temperature 0.7 --seed 1"})
final class GenerateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model folder (from `nightshift convert` or an ONNX Runtime GenAI export).")
    Path model;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "A prompt; repeat for several.")
    List<String> prompts = new ArrayList<>();

    @Option(names = "--prompts", paramLabel = "FILE", description = "A file with one prompt per line.")
    Path promptFile;

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Most tokens per completion (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens, 0 = all (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus mass (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--repetition-penalty", defaultValue = "1", description = "Penalty on repeated tokens (default: ${DEFAULT-VALUE}).")
    double repetitionPenalty;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed; row i uses seed + i (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--stop", paramLabel = "TEXT", description = "Stop string; repeat for several.")
    List<String> stops = new ArrayList<>();

    @Option(names = "--chat", description = "Wrap each prompt in the model's chat template as a user message.")
    boolean chat;

    @Option(names = "--overflow", defaultValue = "error", description = "Prompts longer than the context: error, truncate_head or truncate_middle (default: ${DEFAULT-VALUE}).")
    String overflow;

    @Option(names = "--threads", defaultValue = "0", description = "ONNX Runtime threads, 0 = all cores (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--provider", defaultValue = "cpu", description = "cpu or cuda (default: ${DEFAULT-VALUE}).")
    String provider;

    @Option(names = "--kv-cache", defaultValue = "host", description = "Where the KV cache lives: host, or device (the "
            + "provider's device memory, allocated by ONNX Runtime: on CUDA it stays on the GPU) (default: ${DEFAULT-VALUE}).")
    String kvCache;

    @Override
    public Integer call() throws Exception {
        List<String> texts = new ArrayList<>(prompts);
        if (promptFile != null) {
            for (String line : Files.readAllLines(promptFile)) {
                if (!line.isBlank()) {
                    texts.add(line);
                }
            }
        }
        if (texts.isEmpty()) {
            throw new UserError.Usage("give at least one --prompt or a --prompts file");
        }
        SettingRange.THREADS.require("--threads", threads);
        SettingRange.MAX_NEW_TOKENS.require("--max-new-tokens", maxNewTokens);
        SettingRange.TEMPERATURE.require("--temperature", temperature);
        SettingRange.TOP_K.require("--top-k", topK);
        SettingRange.TOP_P.require("--top-p", topP);
        SettingRange.REPETITION_PENALTY.require("--repetition-penalty", repetitionPenalty);
        OverflowPolicy policy = OverflowPolicy.parse(overflow);
        if (policy == OverflowPolicy.MAP_REDUCE) {
            throw new UserError.Usage("--overflow map_reduce applies to summarize tasks of a job; generate takes error, "
                    + "truncate_head or truncate_middle");
        }
        GenerationOptions base = new GenerationOptions(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, stops,
                policy);
        List<Prompt> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            rows.add(new Prompt(texts.get(i), "", chat, base.withSeed(seed + i)));
        }
        if (chat) {
            // a missing or broken template fails every row: say so once, before the model loads
            ModelFolder.of(model).requireChatTemplate();
        }
        PrintWriter out = spec.commandLine().getOut();
        EngineOptions options;
        try {
            options = EngineOptions.defaults().withThreads(threads).withProvider(provider).withKvCache(kvCache);
        } catch (IllegalArgumentException e) {
            throw new UserError.Usage(e.getMessage().replace("kv_cache", "--kv-cache").replace("provider", "--provider"));
        }
        try (LlmEngine engine = LlmEngine.open(model, options)) {
            engine.warnings().forEach(warning -> spec.commandLine().getErr().println("warning: " + warning));
            if (!kvCache.equals(EngineOptions.KV_HOST)) {
                spec.commandLine().getErr().println("KV cache: " + engine.kvCacheMemory());
            }
            List<GenerationResult> results = engine.generate(rows);
            for (int i = 0; i < results.size(); i++) {
                GenerationResult result = results.get(i);
                out.println("=== " + (i + 1) + ": " + abbreviate(texts.get(i)));
                if (result.failed()) {
                    ErrorCode.Coded error = ErrorCode.split(result.error());
                    out.println("ERROR: " + error.message() + " [" + error.code() + "]");
                } else {
                    out.println(result.text());
                }
                if (result.warning() != null) {
                    out.println("warning: " + result.warning());
                }
                out.printf(Locale.ROOT, "--- prompt %d tokens, generated %d, finish %s%s, first token %.0f ms, decode %.0f ms%n",
                        result.promptTokens(), result.generatedTokens(), result.finishReason().name().toLowerCase(Locale.ROOT),
                        result.truncated() ? " (prompt truncated)" : "", result.firstTokenNanos() / 1e6, result.decodeNanos() / 1e6);
            }
            return results.stream().anyMatch(GenerationResult::failed) ? 1 : 0;
        }
    }

    private static String abbreviate(String text) {
        String flat = text.replace('\n', ' ');
        return flat.length() <= 60 ? flat : flat.substring(0, 57) + "...";
    }
}
