package dev.nightshift.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nightshift.SharedFiles;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Llama2cCheckpointTest {

    @TempDir
    Path dir;

    @Test
    void readsTheStories260KHeader() throws IOException {
        try (Llama2cCheckpoint model = Llama2cCheckpoint.open(SharedFiles.stories260K())) {
            LlamaConfig expected = new LlamaConfig(64, 172, 5, 8, 4, 8, 512, 512, 1e-5f, 10000.0, null, true, true, 1,
                    new int[] {2});
            assertEquals(expected, model.config());
            assertEquals(0, model.version());
            assertEquals("llama2.c v0 checkpoint " + SharedFiles.stories260K(), model.description());
            assertEquals(32, model.tensor("layers.4.wk").rows());
            assertThrows(IllegalArgumentException.class, () -> model.tensor("output")); // tied: no output tensor
            float[] norm = model.tensor("norm").toArray();
            assertTrue(norm[0] != 0 && Float.isFinite(norm[0]));
        }
    }

    @ParameterizedTest(name = "version {0}, tied {1}, heads {2}/{3}")
    @CsvSource({"0, true, 8, 4", "0, false, 4, 4", "1, true, 4, 4", "1, false, 8, 2"})
    void roundTripsRandomWeights(int version, boolean tied, int heads, int kvHeads) throws IOException {
        LlamaConfig config = Llama2cWriter.config(64, 96, 2, heads, kvHeads, 100, 40, tied);
        RandomWeights source = new RandomWeights(config, version * 10 + heads);
        Path file = Llama2cWriter.write(source, dir.resolve("model.bin"), version);
        try (Llama2cCheckpoint model = Llama2cCheckpoint.open(file)) {
            assertEquals(config, model.config());
            assertEquals(version, model.version());
            WeightSourceAssertions.assertSameWeights(source, model, "F32");
        }
    }

    @Test
    void refusesATruncatedFile() throws IOException {
        Path file = writeSmall(0, true);
        long size = Files.size(file);
        truncate(file, size - 4);
        CheckpointException error = assertThrows(CheckpointException.class, () -> Llama2cCheckpoint.open(file));
        assertTrue(error.getMessage().startsWith("truncated llama2.c checkpoint " + file + ": expected " + size
                + " bytes, found " + (size - 4)), error.getMessage());
        truncate(file, 10);
        assertTrue(assertThrows(CheckpointException.class, () -> Llama2cCheckpoint.open(file)).getMessage()
                .contains("truncated llama2.c checkpoint " + file));
    }

    @Test
    void refusesTrailingBytes() throws IOException {
        Path file = writeSmall(1, false);
        Files.write(file, new byte[8], java.nio.file.StandardOpenOption.APPEND);
        String message = assertThrows(CheckpointException.class, () -> Llama2cCheckpoint.open(file)).getMessage();
        assertTrue(message.startsWith("unexpected trailing bytes in llama2.c checkpoint " + file), message);
    }

    @Test
    void namesTheBadHeaderField() throws IOException {
        Path file = writeSmall(0, true);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(16); // n_kv_heads
            raf.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(3).array());
        }
        String message = assertThrows(CheckpointException.class, () -> Llama2cCheckpoint.open(file)).getMessage();
        assertTrue(message.contains(file + " has header field n_kv_heads = 3 (must divide n_heads = 4)"), message);

        Path text = Files.writeString(dir.resolve("notes.txt"), "this is not a checkpoint, just some text");
        message = assertThrows(CheckpointException.class, () -> Llama2cCheckpoint.open(text)).getMessage();
        assertTrue(message.contains("not a llama2.c checkpoint") && message.contains("header field dim"), message);
    }

    @Test
    void refusesQuantizedVersion2() throws IOException {
        ByteBuffer header = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN).putInt(Llama2cCheckpoint.MAGIC)
                .putInt(2);
        Path file = Files.write(dir.resolve("q80.bin"), header.array());
        String message = assertThrows(CheckpointException.class, () -> Llama2cCheckpoint.open(file)).getMessage();
        assertTrue(message.contains("unsupported llama2.c checkpoint " + file + ": version 2 (Q8_0"), message);
    }

    @Test
    void readsTheSameWeightsFromBothVersions() throws IOException {
        try (Llama2cCheckpoint stories = Llama2cCheckpoint.open(SharedFiles.stories260K());
             Llama2cCheckpoint v1 = Llama2cCheckpoint.open(Llama2cWriter.write(stories, dir.resolve("v1.bin"), 1))) {
            WeightSourceAssertions.assertSameWeights(stories, v1, "F32");
            assertArrayEquals(stories.tensor("layers.2.w2").toArray(), v1.tensor("layers.2.w2").toArray());
        }
    }

    private Path writeSmall(int version, boolean tied) throws IOException {
        return Llama2cWriter.write(new RandomWeights(Llama2cWriter.config(16, 24, 1, 4, 2, 10, 8, tied), 1),
                dir.resolve("small.bin"), version);
    }

    private static void truncate(Path file, long size) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(size);
        }
    }
}
