package dev.nightshift.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MappedTensorTest {

    @TempDir
    Path dir;

    @Test
    void readsAcrossMappingsOfAFewRows() throws IOException {
        int rows = 7;
        int cols = 5;
        float[] values = new float[rows * cols];
        ByteBuffer bytes = ByteBuffer.allocate(12 + values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.position(12); // the tensor starts at an offset that is not a page boundary
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.5f - 3;
            bytes.putFloat(values[i]);
        }
        Path file = Files.write(dir.resolve("t.bin"), bytes.array());
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            for (long chunkBytes : new long[] {1, 20, 40, 60, 1 << 20}) {
                Tensor tensor = new MappedTensor("t", file, channel, 12, rows, cols, MappedTensor.Encoding.F32,
                        chunkBytes);
                assertArrayEquals(values, tensor.toArray(), "chunks of " + chunkBytes + " bytes");
                float[] middle = new float[3 * cols + 2];
                tensor.readRows(2, 3, middle, 2);
                for (int i = 0; i < 3 * cols; i++) {
                    assertEquals(values[2 * cols + i], middle[2 + i]);
                }
            }
            Tensor tensor = new MappedTensor("t", file, channel, 12, rows, cols, MappedTensor.Encoding.F32);
            assertThrows(IndexOutOfBoundsException.class, () -> tensor.readRows(6, 2, new float[100], 0));
            assertThrows(IndexOutOfBoundsException.class, () -> tensor.readRows(0, 2, new float[9], 0));
        }
    }

    @Test
    void decodesF16AndBf16() throws IOException {
        float[] values = {1.0f, -2.0f, 0.5f, 65504.0f, 0.0f, -0.25f};
        for (MappedTensor.Encoding encoding : new MappedTensor.Encoding[] {MappedTensor.Encoding.F16,
            MappedTensor.Encoding.BF16}) {
            ByteBuffer bytes = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
            for (float value : values) {
                bytes.putShort(encoding == MappedTensor.Encoding.F16 ? HalfPrecision.floatToF16(value)
                        : HalfPrecision.floatToBf16(value));
            }
            Path file = Files.write(dir.resolve(encoding + ".bin"), bytes.array());
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                float[] expected = values.clone();
                if (encoding == MappedTensor.Encoding.BF16) {
                    expected[3] = 65536.0f; // 65504 rounds up in bfloat16's 8-bit mantissa
                }
                assertArrayEquals(expected, new MappedTensor("t", file, channel, 0, 3, 2, encoding, 4).toArray());
            }
        }
    }
}
