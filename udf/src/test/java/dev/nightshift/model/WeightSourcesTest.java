package dev.nightshift.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nightshift.SharedFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightSourcesTest {

    @TempDir
    Path dir;

    @Test
    void detectsEachFormat() throws IOException {
        try (WeightSource stories = WeightSources.open(SharedFiles.stories260K())) {
            assertEquals(0, assertInstanceOf(Llama2cCheckpoint.class, stories).version());
            try (WeightSource v1 = WeightSources.open(Llama2cWriter.write(stories, dir.resolve("v1.bin"), 1))) {
                assertEquals(1, assertInstanceOf(Llama2cCheckpoint.class, v1).version());
            }
        }
        LlamaConfig config = new LlamaConfig(32, 48, 1, 4, 2, 8, 20, 16, 1e-5f, 10000.0, null, false, true, 1,
                new int[] {2});
        Path folder = HuggingFaceWriter.of(new RandomWeights(config, 1)).write(dir.resolve("hf"));
        try (WeightSource hf = WeightSources.open(folder)) {
            assertInstanceOf(HuggingFaceCheckpoint.class, hf);
            assertEquals(config, hf.config());
        }
    }

    @Test
    void explainsWhatIsNotACheckpoint() throws IOException {
        Path missing = dir.resolve("nothing-here");
        assertMessage(missing, "checkpoint " + missing + " does not exist");
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertMessage(empty, empty + " is a folder without config.json: not a Hugging Face checkpoint");
        Path safetensors = Files.write(dir.resolve("model.safetensors"), new byte[16]);
        assertMessage(safetensors, safetensors + " is one file of a Hugging Face checkpoint; pass its folder");
        Path q80 = Files.write(dir.resolve("q80.bin"), ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(Llama2cCheckpoint.MAGIC).putInt(2).array());
        assertMessage(q80, "unsupported llama2.c checkpoint " + q80 + ": version 2");
        Path text = Files.writeString(dir.resolve("readme.md"), "# a model card, not weights\n");
        assertMessage(text, "not a llama2.c checkpoint (or a corrupt one): " + text + " has header field dim");
    }

    private static void assertMessage(Path path, String expectedStart) {
        String message = assertThrows(CheckpointException.class, () -> WeightSources.open(path)).getMessage();
        assertTrue(message.startsWith(expectedStart), "expected <" + expectedStart + "...>, got <" + message + ">");
    }
}
