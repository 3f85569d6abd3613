package dev.nightshift.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A float32 checkpoint of karpathy/llama2.c, memory-mapped. Reads the legacy version 0 layout (7-int header, read
 * by {@code run.c}) and version 1 ({@code export.py --version 1}: 256-byte "ak42" header). The Q8_0 version 2 is
 * refused. llama2.c fixes what the header does not say: RMSNorm eps 1e-5, rope theta 10000, interleaved rotary
 * pairs, BOS 1, EOS 2.
 *
 * <pre>{@code
 * try (WeightSource model = Llama2cCheckpoint.open(Path.of("stories260K.bin"))) {
 *     float[] embeddings = model.tensor("tok_embeddings").toArray();
 * }
 * }</pre>
 */
public final class Llama2cCheckpoint implements WeightSource {

    /** "ak42" read as a little-endian uint32: the first four bytes of a version 1 or 2 file. */
    public static final int MAGIC = 0x616b3432;

    private static final int V0_HEADER_BYTES = 7 * Integer.BYTES;
    private static final int V1_HEADER_BYTES = 256;

    private final Path file;
    private final FileChannel channel;
    private final int version;
    private final LlamaConfig config;
    private final Map<String, Long> offsets;
    private final Map<String, Tensor> tensors = new ConcurrentHashMap<>();

    private Llama2cCheckpoint(Path file, FileChannel channel, int version, LlamaConfig config, Map<String, Long> offsets) {
        this.file = file;
        this.channel = channel;
        this.version = version;
        this.config = config;
        this.offsets = offsets;
    }

    /** Opens a version 0 or 1 checkpoint, checking its header and that its size is exactly what the header implies. */
    public static Llama2cCheckpoint open(Path file) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return read(file, channel);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private static Llama2cCheckpoint read(Path file, FileChannel channel) throws IOException {
        long size = channel.size();
        ByteBuffer head = ByteBuffer.allocate((int) Math.min(size, V1_HEADER_BYTES)).order(ByteOrder.LITTLE_ENDIAN);
        channel.read(head, 0);
        head.flip();
        int version = 0;
        int headerBytes = V0_HEADER_BYTES;
        if (head.remaining() >= 8 && head.getInt(0) == MAGIC) {
            version = head.getInt(4);
            if (version == 2) {
                throw new CheckpointException("unsupported llama2.c checkpoint " + file + ": version 2 (Q8_0 quantized);"
                        + " Nightshift reads float32 versions 0 and 1 (export with llama2.c export.py --version 1)");
            }
            if (version != 1) {
                throw new CheckpointException("unsupported llama2.c checkpoint " + file + ": version " + version
                        + "; Nightshift reads float32 versions 0 and 1");
            }
            headerBytes = V1_HEADER_BYTES;
            head.position(8);
        }
        if (size < headerBytes) {
            throw new CheckpointException("truncated llama2.c checkpoint " + file + ": expected a " + headerBytes
                    + "-byte header, found " + size + " bytes");
        }
        int[] fields = new int[7];
        for (int i = 0; i < fields.length; i++) {
            fields[i] = head.getInt();
        }
        boolean shared = version == 1 ? head.get() != 0 : fields[5] > 0;
        if (version == 1 && fields[5] <= 0) {
            throw new CheckpointException("not a llama2.c checkpoint: " + file + " has header field vocab_size = "
                    + fields[5] + " (version 1 stores it positive)");
        }
        LlamaConfig config = config(file, fields, shared);
        Map<String, Long> offsets = new LinkedHashMap<>();
        long end = version == 0 ? layoutV0(config, headerBytes, offsets) : layoutV1(config, headerBytes, offsets);
        if (size < end) {
            throw new CheckpointException("truncated llama2.c checkpoint " + file + ": expected " + end
                    + " bytes, found " + size + " (the header says " + describe(fields) + ")");
        }
        if (size > end) {
            throw new CheckpointException("unexpected trailing bytes in llama2.c checkpoint " + file + ": expected "
                    + end + " bytes, found " + size + " (the header says " + describe(fields)
                    + "); is it another format or a corrupt file?");
        }
        return new Llama2cCheckpoint(file, channel, version, config, offsets);
    }

    /** Checks the 7 header fields (llama2.c names) and turns them into a config. */
    private static LlamaConfig config(Path file, int[] fields, boolean shared) throws CheckpointException {
        int dim = check(file, "dim", fields[0], 1, 1 << 16);
        int hiddenDim = check(file, "hidden_dim", fields[1], 1, 1 << 20);
        int layers = check(file, "n_layers", fields[2], 1, 1024);
        int heads = check(file, "n_heads", fields[3], 1, 1024);
        int kvHeads = check(file, "n_kv_heads", fields[4], 1, heads);
        int vocabSize = check(file, "vocab_size", Math.abs(fields[5]), 1, 1 << 24);
        int seqLen = check(file, "seq_len", fields[6], 1, 1 << 24);
        if (heads % kvHeads != 0) {
            throw badHeader(file, "n_kv_heads", kvHeads, "must divide n_heads = " + heads);
        }
        if (dim % heads != 0 || (dim / heads) % 2 != 0) {
            throw badHeader(file, "n_heads", heads, "dim = " + dim + " must be an even multiple of it");
        }
        return new LlamaConfig(dim, hiddenDim, layers, heads, kvHeads, dim / heads, vocabSize, seqLen, 1e-5f,
                10000.0, null, true, shared, 1, new int[] {2});
    }

    private static int check(Path file, String field, int value, int min, int max) throws CheckpointException {
        if (value < min || value > max) {
            throw badHeader(file, field, value, "expected " + min + ".." + max);
        }
        return value;
    }

    private static CheckpointException badHeader(Path file, String field, int value, String rule) {
        return new CheckpointException("not a llama2.c checkpoint (or a corrupt one): " + file + " has header field "
                + field + " = " + value + " (" + rule + ")");
    }

    private static String describe(int[] f) {
        return "dim=" + f[0] + ", hidden_dim=" + f[1] + ", n_layers=" + f[2] + ", n_heads=" + f[3] + ", n_kv_heads="
                + f[4] + ", vocab_size=" + f[5] + ", seq_len=" + f[6];
    }

    /** run.c order: each kind stacked over layers, the legacy rope tables before the unshared classifier. */
    private static long layoutV0(LlamaConfig config, long start, Map<String, Long> offsets) {
        Layout layout = new Layout(config, start, offsets);
        layout.place("tok_embeddings");
        for (String kind : new String[] {"attention_norm", "wq", "wk", "wv", "wo", "ffn_norm", "w1", "w2", "w3"}) {
            layout.placeLayers(kind);
        }
        layout.place("norm");
        layout.skip(2L * config.contextLength() * (config.headDim() / 2)); // freq_cis_real and freq_cis_imag
        if (!config.tiedEmbeddings()) {
            layout.place("output");
        }
        return layout.position;
    }

    /** export.py version1_export order: the norms first, then embeddings and matrices. */
    private static long layoutV1(LlamaConfig config, long start, Map<String, Long> offsets) {
        Layout layout = new Layout(config, start, offsets);
        layout.placeLayers("attention_norm");
        layout.placeLayers("ffn_norm");
        layout.place("norm");
        layout.place("tok_embeddings");
        for (String kind : new String[] {"wq", "wk", "wv", "wo", "w1", "w2", "w3"}) {
            layout.placeLayers(kind);
        }
        if (!config.tiedEmbeddings()) {
            layout.place("output");
        }
        return layout.position;
    }

    /** Assigns consecutive float32 file offsets to tensors. */
    private static final class Layout {
        private final Map<String, int[]> shapes;
        private final int layers;
        private final Map<String, Long> offsets;
        private long position;

        Layout(LlamaConfig config, long start, Map<String, Long> offsets) {
            this.shapes = CanonicalTensors.shapes(config);
            this.layers = config.layers();
            this.offsets = offsets;
            this.position = start;
        }

        void place(String name) {
            int[] shape = shapes.get(name);
            offsets.put(name, position);
            skip((long) shape[0] * shape[1]);
        }

        void placeLayers(String kind) {
            for (int layer = 0; layer < layers; layer++) {
                place(WeightSource.layer(layer, kind));
            }
        }

        void skip(long floats) {
            position += floats * Float.BYTES;
        }
    }

    /** 0 for the legacy layout, 1 for the "ak42" layout. */
    public int version() {
        return version;
    }

    @Override
    public LlamaConfig config() {
        return config;
    }

    @Override
    public Tensor tensor(String name) {
        int[] shape = CanonicalTensors.shape(config, name);
        return tensors.computeIfAbsent(name, n -> new MappedTensor(n, file, channel, offsets.get(n), shape[0], shape[1],
                MappedTensor.Encoding.F32));
    }

    @Override
    public String description() {
        return "llama2.c v" + version + " checkpoint " + file;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
