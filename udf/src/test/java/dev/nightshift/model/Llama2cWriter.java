package dev.nightshift.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Test helper: writes any {@link WeightSource} as a float32 llama2.c checkpoint, version 0 (run.c's legacy layout,
 * with the rope tables) or 1 ("ak42" header), with a shared classifier when the source's embeddings are tied.
 *
 * <pre>{@code
 * LlamaConfig config = Llama2cWriter.config(64, 172, 2, 8, 4, 512, 128, true);
 * Path bin = Llama2cWriter.write(new RandomWeights(config, 7), dir.resolve("model.bin"), 0);
 * }</pre>
 */
public final class Llama2cWriter {

    private static final List<String> LAYER_KINDS_V0 =
            List.of("attention_norm", "wq", "wk", "wv", "wo", "ffn_norm", "w1", "w2", "w3");
    private static final List<String> MATRIX_KINDS = List.of("wq", "wk", "wv", "wo", "w1", "w2", "w3");

    private Llama2cWriter() {
    }

    /** A config that llama2.c can hold: headDim = dim / heads and its fixed eps, theta, rotary layout and ids. */
    public static LlamaConfig config(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabSize,
                                     int seqLen, boolean tied) {
        return new LlamaConfig(dim, hiddenDim, layers, heads, kvHeads, dim / heads, vocabSize, seqLen, 1e-5f, 10000.0,
                null, true, tied, 1, new int[] {2});
    }

    /** Writes {@code source} to {@code file} as llama2.c {@code version} 0 or 1 and returns the file. */
    public static Path write(WeightSource source, Path file, int version) throws IOException {
        LlamaConfig c = source.config();
        LlamaConfig expected = config(c.dim(), c.hiddenDim(), c.layers(), c.heads(), c.kvHeads(), c.vocabSize(),
                c.contextLength(), c.tiedEmbeddings());
        if (!expected.equals(c)) {
            throw new IllegalArgumentException("llama2.c cannot hold " + c + "; it implies " + expected);
        }
        if (version != 0 && version != 1) {
            throw new IllegalArgumentException("Llama2cWriter writes versions 0 and 1, not " + version);
        }
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            out.write(header(c, version));
            if (version == 0) {
                writeTensor(out, source, "tok_embeddings");
                for (String kind : LAYER_KINDS_V0) {
                    writeLayers(out, source, kind);
                }
                writeTensor(out, source, "norm");
                writeRopeTables(out, c);
            } else {
                writeLayers(out, source, "attention_norm");
                writeLayers(out, source, "ffn_norm");
                writeTensor(out, source, "norm");
                writeTensor(out, source, "tok_embeddings");
                for (String kind : MATRIX_KINDS) {
                    writeLayers(out, source, kind);
                }
            }
            if (!c.tiedEmbeddings()) {
                writeTensor(out, source, "output");
            }
        }
        return file;
    }

    private static ByteBuffer header(LlamaConfig c, int version) {
        ByteBuffer header = ByteBuffer.allocate(version == 0 ? 28 : 256).order(ByteOrder.LITTLE_ENDIAN);
        if (version == 1) {
            header.putInt(Llama2cCheckpoint.MAGIC).putInt(1);
        }
        int vocab = version == 0 && !c.tiedEmbeddings() ? -c.vocabSize() : c.vocabSize();
        header.putInt(c.dim()).putInt(c.hiddenDim()).putInt(c.layers()).putInt(c.heads()).putInt(c.kvHeads())
                .putInt(vocab).putInt(c.contextLength());
        if (version == 1) {
            header.put((byte) (c.tiedEmbeddings() ? 1 : 0));
        }
        return header.position(header.capacity()).flip();
    }

    private static void writeLayers(FileChannel out, WeightSource source, String kind) throws IOException {
        for (int layer = 0; layer < source.config().layers(); layer++) {
            writeTensor(out, source, WeightSource.layer(layer, kind));
        }
    }

    /** Streams a tensor a block of rows at a time. */
    static void writeTensor(FileChannel out, WeightSource source, String name) throws IOException {
        Tensor tensor = source.tensor(name);
        int rowsPerBlock = Math.max(1, (1 << 20) / tensor.cols());
        float[] block = new float[rowsPerBlock * tensor.cols()];
        for (int row = 0; row < tensor.rows(); row += rowsPerBlock) {
            int count = Math.min(rowsPerBlock, tensor.rows() - row);
            tensor.readRows(row, count, block, 0);
            writeFloats(out, block, count * tensor.cols());
        }
    }

    /** The legacy freq_cis_real and freq_cis_imag tables [seq_len, headDim / 2], as llama2.c's model.py computes them. */
    private static void writeRopeTables(FileChannel out, LlamaConfig c) throws IOException {
        int half = c.headDim() / 2;
        float[] real = new float[c.contextLength() * half];
        float[] imag = new float[real.length];
        for (int pos = 0; pos < c.contextLength(); pos++) {
            for (int i = 0; i < half; i++) {
                float frequency = (float) (1.0 / Math.pow(c.ropeTheta(), (2 * i) / (double) c.headDim()));
                float angle = pos * frequency;
                real[pos * half + i] = (float) Math.cos(angle);
                imag[pos * half + i] = (float) Math.sin(angle);
            }
        }
        writeFloats(out, real, real.length);
        writeFloats(out, imag, imag.length);
    }

    private static void writeFloats(FileChannel out, float[] values, int count) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(count * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values, 0, count);
        while (bytes.hasRemaining()) {
            out.write(bytes);
        }
    }
}
