package dev.nightshift.toolchain;

import dev.nightshift.model.HalfPrecision;
import ai.onnx.proto.OnnxMl.TensorProto;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Streams initializer bytes into the external data file next to {@code model.onnx}, so that no
 * weight is held in memory longer than one block of rows and the protobuf (capped at 2 GB) carries
 * only names, shapes and offsets. Large tensors start on 64 KiB boundaries so ONNX Runtime can map them.
 */
final class WeightFile implements AutoCloseable {

    private static final int LARGE_TENSOR = 1 << 16;

    private final String location;
    private final OutputStream out;
    private final Path path;
    private long position;

    private String tensorName;
    private long tensorStart;

    WeightFile(Path path) throws IOException {
        this.path = path;
        this.location = path.getFileName().toString();
        this.out = new BufferedOutputStream(Files.newOutputStream(path), 1 << 20);
    }

    /** Starts a tensor; its bytes follow through the write methods until {@link #end}. */
    void begin(String name, long expectedBytes) {
        if (tensorName != null) {
            throw new IllegalStateException("tensor " + tensorName + " not ended");
        }
        long alignment = expectedBytes >= LARGE_TENSOR ? LARGE_TENSOR : 64;
        pad((alignment - position % alignment) % alignment);
        tensorName = name;
        tensorStart = position;
    }

    void write(byte[] bytes, int offset, int length) {
        try {
            out.write(bytes, offset, length);
        } catch (IOException e) {
            throw failure(e);
        }
        position += length;
    }

    void writeFloats(float[] values, int offset, int count, boolean asFloat16) {
        ByteBuffer buffer = ByteBuffer.allocate(count * (asFloat16 ? 2 : 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) {
            if (asFloat16) {
                buffer.putShort(HalfPrecision.floatToF16(values[offset + i]));
            } else {
                buffer.putFloat(values[offset + i]);
            }
        }
        write(buffer.array(), 0, buffer.position());
    }

    /** Ends the current tensor and returns its initializer, pointing into this file. */
    TensorProto end(int dataType, long... dims) {
        TensorProto.Builder tensor = TensorProto.newBuilder().setName(tensorName).setDataType(dataType)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL);
        for (long dim : dims) {
            tensor.addDims(dim);
        }
        tensor.addExternalDataBuilder().setKey("location").setValue(location);
        tensor.addExternalDataBuilder().setKey("offset").setValue(Long.toString(tensorStart));
        tensor.addExternalDataBuilder().setKey("length").setValue(Long.toString(position - tensorStart));
        tensorName = null;
        return tensor.build();
    }

    long bytesWritten() {
        return position;
    }

    private void pad(long count) {
        byte[] zeros = new byte[(int) count];
        write(zeros, 0, zeros.length);
    }

    private UncheckedIOException failure(IOException e) {
        String message = String.valueOf(e.getMessage());
        if (message.contains("No space left")) {
            return new UncheckedIOException("disk full while writing " + path + " after " + position
                    + " bytes; free space or choose another --to folder", e);
        }
        return new UncheckedIOException("cannot write " + path + ": " + message, e);
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
