package dev.nightshift.toolchain;

import dev.nightshift.engine.ModelFolder;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.WeightSource;
import dev.nightshift.model.WeightSources;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Turns a Llama checkpoint (llama2.c file, Hugging Face folder, or random weights) into a complete
 * Nightshift model folder: {@code model.onnx}, {@code model.onnx.data}, {@code genai_config.json} and
 * the tokenizer files. The pipeline is three steps, each its own class:
 * <ol>
 *   <li><b>read</b>: {@link WeightSources} opens the checkpoint as a {@link WeightSource} (tensors by canonical name);</li>
 *   <li><b>quantize</b>: {@link WeightQuantization} — none (fp32/fp16), round to nearest (done block by block while
 *       writing), GPTQ ({@link CalibrationForward}), or GPTQ then distillation ({@link DistillationRefiner});</li>
 *   <li><b>write</b>: {@link LlamaOnnxWriter} (graph and weights), {@link GenaiConfig}, the tokenizer files.</li>
 * </ol>
 *
 * <p>The folder is written under a temporary name beside the target and renamed at the end, so a
 * failed conversion (disk full, bad tensor) never leaves a half-written model that looks usable.
 *
 * <pre>{@code
 * ConversionResult result = ModelConverter.convert(Path.of("stories260K.bin"), Path.of("models/stories"),
 *         ConversionOptions.of(Precision.INT4), Path.of("tok512.bin"), ConversionListener.NONE);
 * }</pre>
 */
public final class ModelConverter {

    private ModelConverter() {
    }

    /**
     * Converts the checkpoint at {@code from}; {@code tokenizer} is a llama2.c tokenizer .bin, a GGUF file whose
     * tokenizer is used ({@link GgufVocabulary}), or null.
     */
    public static ConversionResult convert(Path from, Path to, ConversionOptions options, Path tokenizer,
                                           ConversionListener listener) throws IOException {
        checkTarget(to);
        if (tokenizer != null && !Files.isRegularFile(tokenizer)) {
            throw new IOException("tokenizer file " + tokenizer + " does not exist; pass the llama2.c tokenizer.bin (e.g. tok512.bin) or a GGUF file");
        }
        try (WeightSource source = WeightSources.open(from)) {
            return convert(source, to, options, tokenizer, listener);
        }
    }

    /** Converts an already opened source (random weights, for instance). */
    public static ConversionResult convert(WeightSource source, Path to, ConversionOptions options, Path tokenizer,
                                           ConversionListener listener) throws IOException {
        checkTarget(to);
        Path absolute = to.toAbsolutePath().normalize();
        Files.createDirectories(absolute.getParent());
        // Not Files.createTempDirectory: that makes the folder 0700, so executors running as another user could not
        // read the model. createDirectory honours the umask like any other tool's output.
        Path partial = Files.createDirectory(absolute.getParent().resolve(
                "." + absolute.getFileName() + ".partial-" + java.util.UUID.randomUUID().toString().substring(0, 8)));
        try {
            LlamaOnnxWriter writer = new LlamaOnnxWriter(source, options, listener); // refuses an unsupported shape first
            CalibrationForward.Result calibrated = WeightQuantization.calibrate(source, options, listener);
            LlamaOnnxWriter.WrittenModel model = writer.write(partial, calibrated);
            GenaiConfig.write(partial, model);
            List<String> notes = new ArrayList<>();
            writeTokenizer(source, partial, tokenizer, model.contextLength(), notes);
            if (Files.isDirectory(absolute)) {
                Files.delete(absolute);
            }
            Files.move(partial, absolute, StandardCopyOption.ATOMIC_MOVE);
            return new ConversionResult(absolute, source.config(), options, model.bytesByKind(), model.totalBytes(), notes);
        } catch (IOException | RuntimeException e) {
            deleteTree(partial);
            throw e;
        }
    }

    private static void writeTokenizer(WeightSource source, Path folder, Path tokenizer, int contextLength,
                                       List<String> notes) throws IOException {
        if (tokenizer != null && GgufMetadata.isGguf(tokenizer)) {
            GgufVocabulary vocabulary = GgufVocabulary.read(tokenizer);
            if (vocabulary.vocabSize() != source.config().vocabSize()) {
                throw new IOException("tokenizer " + tokenizer + " has " + vocabulary.vocabSize() + " tokens but the checkpoint's "
                        + "vocabulary has " + source.config().vocabSize() + "; pass the tokenizer of this model");
            }
            vocabulary.writeTokenizerFiles(folder, contextLength);
            return;
        }
        if (tokenizer != null) {
            LlamaConfig config = source.config();
            Llama2cTokenizer llama2c = Llama2cTokenizer.read(tokenizer, config.vocabSize());
            TokenizerJsonWriter.write(llama2c, contextLength, folder);
            return;
        }
        Map<String, Path> sideFiles = source.sideFiles();
        for (Map.Entry<String, Path> file : sideFiles.entrySet()) {
            Files.copy(file.getValue(), folder.resolve(file.getKey()));
        }
        if (!sideFiles.containsKey(ModelFolder.TOKENIZER) && source instanceof dev.nightshift.model.RandomWeights) {
            TokenizerJsonWriter.write(SyntheticTokenizer.build(source.config().vocabSize()), contextLength, folder);
            notes.add("random weights: wrote a synthetic tokenizer; generated text is meaningless. Convert a real "
                    + "checkpoint (--from) for real output.");
        } else if (!sideFiles.containsKey(ModelFolder.TOKENIZER)) {
            notes.add("no tokenizer.json was written: the engine needs one to turn text into ids. For llama2.c "
                    + "checkpoints pass --tokenizer tokenizer.bin; for Hugging Face folders copy tokenizer.json beside config.json.");
        }
    }

    private static void checkTarget(Path to) throws IOException {
        if (Files.isRegularFile(to)) {
            throw new IOException("output " + to + " is a file; --to must name a new or empty folder");
        }
        if (Files.isDirectory(to)) {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(to)) {
                if (entries.iterator().hasNext()) {
                    throw new IOException("output folder " + to + " is not empty; choose a new folder or empty it first");
                }
            }
        }
    }

    private static void deleteTree(Path folder) {
        try (Stream<Path> paths = Files.walk(folder)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException ignored) {
            // Best effort: the partial folder has a hidden name and is never mistaken for a model.
        }
    }

    /** What {@link #convert} wrote; {@code notes} are warnings for the user (e.g. no tokenizer). */
    public record ConversionResult(Path folder, LlamaConfig config, ConversionOptions options,
                                   Map<String, Long> bytesByKind, long totalBytes, List<String> notes) {
    }
}
