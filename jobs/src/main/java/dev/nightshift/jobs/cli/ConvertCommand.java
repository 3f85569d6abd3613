package dev.nightshift.jobs.cli;

import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Convert a Llama checkpoint into an ONNX model folder (model.onnx, model.onnx.data, genai_config.json, tokenizer files).",
                "",
                "Sources: a llama2.c checkpoint file (version 0 or 1), a Hugging Face folder (config.json + *.safetensors), "
                        + "or --random SHAPE for seeded random weights (tests and benchmarks)."},
        footer = {"", "Examples:",
                "  bin/nightshift convert --from ../shared/models/stories260K/stories260K.bin \\",
                "      --tokenizer ../shared/models/stories260K/tok512.bin \\",
                "      --to models/stories260K-int4 --precision int4",
                "  bin/nightshift convert --from /models/Llama-3.2-1B-Instruct \\",
                "      --to models/llama32-1b-int4",
                "  bin/nightshift convert --random llama-3.2-1b --to models/random-1b-int4"})
final class ConvertCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--from", paramLabel = "FILE|DIR", description = "llama2.c checkpoint file or Hugging Face folder.")
    Path from;

    @Option(names = "--random", paramLabel = "SHAPE",
            description = "Random weights instead of --from: ${COMPLETION-CANDIDATES}, or dim,hidden,layers,heads,kvHeads,vocab[,context].",
            completionCandidates = RandomShapes.Names.class)
    String random;

    @Option(names = "--seed", defaultValue = "42", description = "Seed for --random (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--to", required = true, paramLabel = "DIR", description = "New or empty output folder.")
    Path to;

    @Option(names = "--precision", defaultValue = "int4", description = "int4, int8, fp16 or fp32 (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--block-size", defaultValue = "32", description = "Quantization block size (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(names = "--asymmetric", description = "Asymmetric quantization (zero points) instead of symmetric.")
    boolean asymmetric;

    @Option(names = "--accuracy-level", defaultValue = "4",
            description = "MatMulNBits accuracy_level: 4 = int8 activations on CPU (fast), 0 = provider default (default: ${DEFAULT-VALUE}).")
    int accuracyLevel;

    @Option(names = "--context-length", defaultValue = "0", description = "KV cache length; 0 keeps the checkpoint's.")
    int contextLength;

    @Option(names = "--calibrate", defaultValue = "0", paramLabel = "N",
            description = "int4/int8: GPTQ error-compensating quantization calibrated on N tokens of text the model "
                    + "samples itself (e.g. 2048); models up to 200M parameters. 0 = round-to-nearest (default: ${DEFAULT-VALUE}).")
    int calibrate;

    @Option(names = "--refine", defaultValue = "0", paramLabel = "STEPS",
            description = "With --calibrate: after GPTQ, STEPS steps of distillation that train the block scales so "
                    + "the quantized model's next-token distributions match the fp32 model's, on 32,768 tokens of its "
                    + "own text (e.g. 300; small models: about 1 s a step for stories260K). 0 = none (default: ${DEFAULT-VALUE}).")
    int refine;

    @Option(names = "--lm-head-bits", defaultValue = "8",
            description = "Bits of the quantized lm_head, 8 or 4: 4 reads a quarter less per decoded token, at some accuracy (default: ${DEFAULT-VALUE}).")
    int lmHeadBits;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "Tokenizer to convert into tokenizer.json: a llama2.c tokenizer .bin, or a GGUF file "
            + "(llama.cpp; its Llama 2 SentencePiece or Llama 3 BPE vocabulary).")
    Path tokenizer;

    @Override
    public Integer call() throws Exception {
        if ((from == null) == (random == null)) {
            throw new UserError.Usage("give exactly one of --from or --random");
        }
        ConversionOptions options = new ConversionOptions(Precision.parse(precision), blockSize, !asymmetric,
                accuracyLevel, contextLength, calibrate, lmHeadBits, refine);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ProgressBar calibrationBar = new ProgressBar(err);
        ProgressBar refineBar = new ProgressBar(err);
        ProgressBar bar = new ProgressBar(err);
        boolean[] calibrating = {false};
        ConversionListener listener = (stage, done, total) -> {
            if (stage.equals("calibration") && !calibrating[0]) {
                calibrating[0] = true;
                err.printf(Locale.ROOT, "calibrating: sampling %,d tokens of text from the model, then quantizing layer by layer%n", total);
                err.flush();
            } else if (stage.equals("calibration layers")) {
                calibrating[0] = true;
                calibrationBar.update(done, total);
            } else if (stage.equals("refinement")) {
                if (done == 1) {
                    calibrationBar.finish();
                    err.printf(Locale.ROOT, "refining: %,d steps of distillation from the fp32 model%n", total);
                    err.flush();
                }
                refineBar.update(done, total);
            } else if (stage.equals("weights")) {
                if (calibrating[0]) {
                    calibrationBar.finish();
                    refineBar.finish();
                    calibrating[0] = false;
                }
                bar.update(done, total);
            }
        };
        long started = System.nanoTime();
        ModelConverter.ConversionResult result;
        if (random != null) {
            LlamaConfig config = RandomShapes.parse(random);
            result = ModelConverter.convert(new RandomWeights(config, seed), to, options, tokenizer, listener);
        } else {
            result = ModelConverter.convert(from, to, options, tokenizer, listener);
        }
        bar.finish();
        double seconds = (System.nanoTime() - started) / 1e9;
        out.printf(Locale.ROOT, "wrote %s (%s, %,d parameters, %.1f MiB) in %.1f s%n", result.folder(),
                options.precision().id(), result.config().parameterCount(), result.totalBytes() / 1048576.0, seconds);
        for (String note : result.notes()) {
            out.println("note: " + note);
        }
        return 0;
    }
}
