package dev.nightshift.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * A tensor stored row-major in a file region, read through memory mappings made on first use. A mapping holds at
 * most {@link #DEFAULT_CHUNK_BYTES} of whole rows, so files and tensors larger than 2 GiB (the limit of one
 * {@link java.nio.MappedByteBuffer}) read like any other.
 */
final class MappedTensor implements Tensor {

    static final long DEFAULT_CHUNK_BYTES = 1L << 30;

    /** How the values are stored; all little-endian. */
    enum Encoding {
        F32(4), F16(2), BF16(2);

        final int bytes;

        Encoding(int bytes) {
            this.bytes = bytes;
        }
    }

    private final String name;
    private final Path file;
    private final FileChannel channel;
    private final long offset;
    private final int rows;
    private final int cols;
    private final Encoding encoding;
    private final int rowsPerChunk;
    private final ByteBuffer[] chunks;

    MappedTensor(String name, Path file, FileChannel channel, long offset, int rows, int cols, Encoding encoding) {
        this(name, file, channel, offset, rows, cols, encoding, DEFAULT_CHUNK_BYTES);
    }

    /** {@code chunkBytes} is only lowered by tests, to exercise reads that cross mappings. */
    MappedTensor(String name, Path file, FileChannel channel, long offset, int rows, int cols, Encoding encoding,
                 long chunkBytes) {
        long rowBytes = (long) cols * encoding.bytes;
        if (rowBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor " + name + " in " + file + " has rows of " + rowBytes
                    + " bytes; Nightshift maps at most 2 GiB per row");
        }
        this.name = name;
        this.file = file;
        this.channel = channel;
        this.offset = offset;
        this.rows = rows;
        this.cols = cols;
        this.encoding = encoding;
        this.rowsPerChunk = (int) Math.max(1, Math.min(rows, chunkBytes / Math.max(1, rowBytes)));
        this.chunks = new ByteBuffer[rows == 0 ? 0 : (rows + rowsPerChunk - 1) / rowsPerChunk];
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public void readRows(int row, int count, float[] dst, int dstOffset) {
        if (row < 0 || count < 0 || row + count > rows || dstOffset < 0
                || dstOffset + (long) count * cols > dst.length) {
            throw new IndexOutOfBoundsException("rows [" + row + ", " + (row + count) + ") of tensor " + name + " ("
                    + rows + "x" + cols + ") into float[" + dst.length + "] at " + dstOffset);
        }
        while (count > 0) {
            int chunk = row / rowsPerChunk;
            int firstRow = row - chunk * rowsPerChunk;
            int n = Math.min(count, rowsPerChunk - firstRow);
            decode(chunk(chunk), firstRow * cols, n * cols, dst, dstOffset);
            row += n;
            count -= n;
            dstOffset += n * cols;
        }
    }

    /** Decodes {@code length} values starting at value {@code index} of a chunk (absolute reads: thread-safe). */
    private void decode(ByteBuffer chunk, int index, int length, float[] dst, int dstOffset) {
        if (encoding == Encoding.F32) {
            chunk.asFloatBuffer().get(index, dst, dstOffset, length);
            return;
        }
        short[] block = new short[Math.min(length, 1 << 16)];
        for (int done = 0; done < length; done += block.length) {
            int n = Math.min(block.length, length - done);
            chunk.asShortBuffer().get(index + done, block, 0, n);
            if (encoding == Encoding.F16) {
                for (int i = 0; i < n; i++) {
                    dst[dstOffset + done + i] = HalfPrecision.f16ToFloat(block[i]);
                }
            } else {
                for (int i = 0; i < n; i++) {
                    dst[dstOffset + done + i] = HalfPrecision.bf16ToFloat(block[i]);
                }
            }
        }
    }

    private synchronized ByteBuffer chunk(int index) {
        if (chunks[index] == null) {
            long rowBytes = (long) cols * encoding.bytes;
            int firstRow = index * rowsPerChunk;
            int chunkRows = Math.min(rowsPerChunk, rows - firstRow);
            try {
                chunks[index] = channel.map(FileChannel.MapMode.READ_ONLY, offset + firstRow * rowBytes,
                        chunkRows * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot map tensor " + name + " of " + file + ": " + e.getMessage(), e);
            }
        }
        return chunks[index];
    }

    @Override
    public String toString() {
        return name + " [" + rows + ", " + cols + "] " + encoding + " at byte " + offset + " of " + file;
    }
}
