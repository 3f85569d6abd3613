package dev.nightshift.model;

import dev.nightshift.engine.ModelFolder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a checkpoint in whichever format it is: a Hugging Face folder or a llama2.c file. */
public final class WeightSources {

    private WeightSources() {
    }

    /**
     * A folder with {@code config.json} opens as a {@link HuggingFaceCheckpoint}; a file as a
     * {@link Llama2cCheckpoint} (version 1 when it starts with the "ak42" magic, else the legacy version 0, whose
     * header is sanity-checked since it has no magic).
     *
     * <pre>{@code
     * try (WeightSource model = WeightSources.open(Path.of(args[0]))) {
     *     System.out.println(model.description() + ": " + model.config());
     * }
     * }</pre>
     */
    public static WeightSource open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            if (!Files.isRegularFile(path.resolve(ModelFolder.CONFIG))) {
                throw new CheckpointException(path + " is a folder without config.json: not a Hugging Face checkpoint");
            }
            return HuggingFaceCheckpoint.open(path);
        }
        if (!Files.exists(path)) {
            throw new CheckpointException("checkpoint " + path + " does not exist (expected a Hugging Face folder"
                    + " or a llama2.c .bin file)");
        }
        String fileName = path.getFileName().toString();
        if (fileName.endsWith(".safetensors") || fileName.endsWith(".json")) {
            throw new CheckpointException(path + " is one file of a Hugging Face checkpoint; pass its folder, "
                    + path.toAbsolutePath().getParent());
        }
        // Llama2cCheckpoint tells version 1 and 2 (refused) from legacy version 0 by the "ak42" magic.
        return Llama2cCheckpoint.open(path);
    }
}
