package dev.nightshift.toolchain;

import dev.nightshift.engine.ModelFolder;
import dev.nightshift.model.HalfPrecision;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.Tensor;
import dev.nightshift.model.WeightSource;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static dev.nightshift.model.WeightSource.layer;
import static dev.nightshift.toolchain.OnnxGraph.Attr;
import static dev.nightshift.toolchain.OnnxGraph.MS;

/**
 * Writes one Llama decoder graph in ONNX Runtime GenAI's I/O convention: inputs {@code input_ids}
 * [B,S], {@code attention_mask} [B,T], {@code past_key_values.N.key|value} [B,kvHeads,P,headDim];
 * outputs {@code logits} [B,1,vocab] (the last real position of each row only) and
 * {@code present.N.key|value}. Attention is GroupQueryAttention, whose KV cache can be shared
 * between past and present so decoding writes it in place; rows are right-padded.
 *
 * <p>Weights stream into {@code model.onnx.data}, a block of rows at a time, int4/int8 ones rounded block by block.
 * With {@link ConversionOptions#calibrationTokens()} set, the quantized matrices are instead those the quantize step
 * made ({@link WeightQuantization#calibrate}: GPTQ, optionally refined), held in memory; the writer only writes them.
 */
public final class LlamaOnnxWriter {

    /** Metadata key (model and genai_config "nightshift" section): logits cover only the last position. */
    public static final String LOGITS_KEY = "nightshift.logits";
    public static final String LOGITS_LAST = "last_position";

    private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    private static final int FLOAT16 = TensorProto.DataType.FLOAT16_VALUE;
    private static final int INT32 = TensorProto.DataType.INT32_VALUE;
    private static final int INT64 = TensorProto.DataType.INT64_VALUE;
    private static final int UINT8 = TensorProto.DataType.UINT8_VALUE;
    private static final int ROWS_PER_BLOCK = 256;

    private final WeightSource source;
    private final LlamaConfig config;
    private final ConversionOptions options;
    private final ConversionListener listener;
    private final int contextLength;
    private final boolean fp16;
    private final int ioType;
    private final BlockQuantizer quantizer;
    private final BlockQuantizer headQuantizer;
    private CalibrationForward.Result calibration;

    private OnnxGraph graph;
    private WeightFile weights;
    private long written;
    private final Map<String, Long> bytesByKind = new LinkedHashMap<>();

    /** @throws IllegalArgumentException when the checkpoint's head size cannot run on GroupQueryAttention */
    public LlamaOnnxWriter(WeightSource source, ConversionOptions options, ConversionListener listener) {
        this.source = source;
        this.config = source.config();
        if (config.headDim() % 8 != 0) {
            throw new IllegalArgumentException("head size " + config.headDim() + " is not a multiple of 8, which ONNX Runtime's "
                    + "GroupQueryAttention requires; this model cannot be converted");
        }
        this.options = options;
        this.listener = listener == null ? ConversionListener.NONE : listener;
        this.contextLength = options.contextLength() > 0 ? options.contextLength() : config.contextLength();
        this.fp16 = options.precision() == Precision.FP16;
        this.ioType = fp16 ? FLOAT16 : FLOAT;
        this.quantizer = WeightQuantization.layers(options);
        this.headQuantizer = WeightQuantization.head(options);
    }

    /** CPU GroupQueryAttention fuses rotary only for head sizes that are multiples of 16. */
    public static boolean fusedRotary(LlamaConfig config) {
        return config.headDim() % 16 == 0;
    }

    /** Writes a model whose options ask for no calibration (fp32, fp16, or int4/int8 rounded to nearest). */
    public WrittenModel write(Path folder) throws IOException {
        return write(folder, null);
    }

    /**
     * Writes model.onnx and model.onnx.data into {@code folder} and returns what was written.
     *
     * @param calibrated the quantize step's matrices ({@link WeightQuantization#calibrate}); null exactly when the
     *                   options ask for no calibration
     * @throws IllegalArgumentException when {@code calibrated} and the options disagree
     */
    public WrittenModel write(Path folder, CalibrationForward.Result calibrated) throws IOException {
        WeightQuantization.Method method = WeightQuantization.method(options);
        boolean wantsCalibration = method == WeightQuantization.Method.GPTQ || method == WeightQuantization.Method.GPTQ_DISTILLATION;
        if (wantsCalibration != (calibrated != null)) {
            throw new IllegalArgumentException(wantsCalibration
                    ? "the options ask for " + method + " but no calibrated matrices were given; run "
                            + "WeightQuantization.calibrate first (ModelConverter does)"
                    : "calibrated matrices were given but the options ask for " + method);
        }
        this.calibration = calibrated;
        graph = new OnnxGraph("nightshift_llama");
        try (WeightFile file = new WeightFile(folder.resolve(ModelFolder.MODEL_DATA))) {
            weights = file;
            buildGraph();
        }
        Map<String, String> metadata = metadata();
        ModelProto model = graph.model(metadata);
        try (OutputStream out = Files.newOutputStream(folder.resolve(ModelFolder.MODEL))) {
            model.writeTo(out);
        }
        return new WrittenModel(folder, config, options.precision(), contextLength, metadata,
                Map.copyOf(bytesByKind), Files.size(folder.resolve(ModelFolder.MODEL)) + Files.size(folder.resolve(ModelFolder.MODEL_DATA)));
    }

    private Map<String, String> metadata() {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("nightshift.format", "1");
        metadata.put(LOGITS_KEY, LOGITS_LAST);
        metadata.put("nightshift.precision", options.precision().id());
        metadata.put("nightshift.embedding_dtype", embeddingType() == FLOAT ? "fp32" : "fp16");
                if (quantizer != null) {
            metadata.put("nightshift.lm_head_bits", Integer.toString(headQuantizer.bits()));
            metadata.put("nightshift.block_size", Integer.toString(options.blockSize()));
            metadata.put("nightshift.symmetric", Boolean.toString(options.symmetric()));
            metadata.put("nightshift.accuracy_level", Integer.toString(options.accuracyLevel()));
            if (calibration != null) {
                metadata.put("nightshift.quantization", calibration.refineSteps() > 0 ? "gptq+distillation" : "gptq");
                metadata.put("nightshift.calibration_tokens", Integer.toString(calibration.tokens()));
                if (calibration.refineSteps() > 0) {
                    metadata.put("nightshift.refine_steps", Integer.toString(calibration.refineSteps()));
                }
            }
        }
        metadata.put("nightshift.context_length", Integer.toString(contextLength));
        metadata.put("nightshift.rotary", fusedRotary(config) ? "fused" : "separate");
        metadata.put("nightshift.source", source.description());
        return metadata;
    }

    private int embeddingType() {
        return options.precision() == Precision.FP32 ? FLOAT : FLOAT16;
    }

    private void buildGraph() {
        int kv = config.kvHeads();
        graph.input("input_ids", INT64, "batch_size", "sequence_length");
        graph.input("attention_mask", INT64, "batch_size", "total_sequence_length");
        for (int l = 0; l < config.layers(); l++) {
            graph.input("past_key_values." + l + ".key", ioType, "batch_size", kv, "past_sequence_length", config.headDim());
            graph.input("past_key_values." + l + ".value", ioType, "batch_size", kv, "past_sequence_length", config.headDim());
        }

        // Row lengths from the mask: GQA reads seqlens_k (= length - 1) and the padded total length.
        String one = graph.scalarInt64("one", 1);
        String zero = graph.scalarInt64("zero", 0);
        String maskSum = graph.node("ReduceSum", "mask_sum", new String[]{"attention_mask", graph.constInt64("axes_1", 1)},
                Attr.of("keepdims", 0L));
        String seqlensK64 = graph.node("Sub", "seqlens_k_i64", new String[]{maskSum, one});
        String seqlensK = graph.node("Cast", "seqlens_k", new String[]{seqlensK64}, Attr.of("to", (long) INT32));
        String maskShape = graph.node("Shape", "mask_shape", new String[]{"attention_mask"});
        String totalLen = graph.node("Cast", "total_seq_len",
                new String[]{graph.node("Gather", "total_len_i64", new String[]{maskShape, one}, Attr.of("axis", 0L))},
                Attr.of("to", (long) INT32));
        String idsShape = graph.node("Shape", "ids_shape", new String[]{"input_ids"});
        String batch = graph.node("Gather", "batch", new String[]{idsShape, zero}, Attr.of("axis", 0L));
        String seqLen = graph.node("Gather", "seq_len", new String[]{idsShape, one}, Attr.of("axis", 0L));

        // Rotary tables: in GQA when fused, else in RotaryEmbedding nodes fed explicit positions.
        float[][] rope = RopeCache.tables(config, contextLength);
        String cos = smallFloats("cos_cache", rope[0], contextLength, config.headDim() / 2);
        String sin = smallFloats("sin_cache", rope[1], contextLength, config.headDim() / 2);
        String positions = null;
        if (!fusedRotary(config)) {
            // position = max(0, seqlens_k + 1 - S) + s: 0.. in prefill, seqlens_k when decoding, past+s for a chunk on a past.
            String past = graph.node("Max", "past_len", new String[]{
                    graph.node("Sub", "past_len_raw", new String[]{graph.node("Add", "row_len", new String[]{seqlensK64, one}), seqLen}),
                    zero});
            String pastColumn = graph.node("Unsqueeze", "past_col", new String[]{past, graph.constInt64("axes_1b", 1)});
            String steps = graph.node("Range", "steps", new String[]{zero, seqLen, one});
            positions = graph.node("Add", "position_ids", new String[]{pastColumn, steps});
        }

        String x = embeddings();
        String residual = null;
        String pendingOutput = null;
        for (int l = 0; l < config.layers(); l++) {
            String[] normed = norm(pendingOutput, residual == null ? x : residual, layer(l, "attention_norm"), "attn_norm_" + l);
            String h = normed[0];
            residual = normed[1];
            String attention = attention(l, h, seqlensK, totalLen, cos, sin, positions);
            String[] ffnNormed = norm(attention, residual, layer(l, "ffn_norm"), "ffn_norm_" + l);
            residual = ffnNormed[1];
            pendingOutput = feedForward(l, ffnNormed[0]);
            listener.progress("layers", l + 1, config.layers());
        }

        // Only each row's last real position reaches the norm and lm_head: [B*S, dim] gathered at b*S + min(seqlens_k, S-1).
        String hidden = graph.node("Add", "final_residual", new String[]{pendingOutput, residual});
        String last = graph.node("Min", "last_index", new String[]{seqlensK64, graph.node("Sub", "seq_len_m1", new String[]{seqLen, one})});
        String rows = graph.node("Range", "rows", new String[]{zero, batch, one});
        String flatIndex = graph.node("Add", "flat_index", new String[]{graph.node("Mul", "row_start", new String[]{rows, seqLen}), last});
        String flat = graph.node("Reshape", "hidden_flat", new String[]{hidden, graph.constInt64("flat_shape", -1, config.dim())});
        String picked = graph.node("Gather", "last_hidden", new String[]{flat, flatIndex}, Attr.of("axis", 0L));
        String normWeight = floatsOf("norm", source.tensor("norm").toArray(), ioType);
        String finalNorm = graph.node("SimplifiedLayerNormalization", "final_norm", new String[]{picked, normWeight},
                Attr.of("axis", -1L), Attr.of("epsilon", config.normEps()));
        String logits2d = lmHead(finalNorm);
        String logits = graph.node("Unsqueeze", "logits_3d", new String[]{logits2d, graph.constInt64("axes_1c", 1)});
        if (fp16) {
            logits = graph.node("Cast", "logits_fp32", new String[]{logits}, Attr.of("to", (long) FLOAT));
        }
        graph.renameOutput(logits, "logits");
        graph.output("logits", FLOAT, "batch_size", 1, config.vocabSize());
        for (int l = 0; l < config.layers(); l++) {
            graph.output("present." + l + ".key", ioType, "batch_size", kv, "total_sequence_length", config.headDim());
            graph.output("present." + l + ".value", ioType, "batch_size", kv, "total_sequence_length", config.headDim());
        }
    }

    private String embeddings() {
        Tensor table = source.tensor("tok_embeddings");
        int type = embeddingType();
        String name = streamFloats("embed_tokens", table, type, "embedding");
        String gathered = graph.node("Gather", "embed", new String[]{name, "input_ids"}, Attr.of("axis", 0L));
        return type == ioType ? gathered : graph.node("Cast", "embed_cast", new String[]{gathered}, Attr.of("to", (long) ioType));
    }

    /** RMSNorm of {@code add + residual} (or of {@code residual} alone for the first layer); returns [normed, sum]. */
    private String[] norm(String add, String residual, String weightName, String name) {
        String weight = floatsOf(weightName, source.tensor(weightName).toArray(), ioType);
        if (add == null) {
            String out = graph.node("SimplifiedLayerNormalization", name, new String[]{residual, weight},
                    Attr.of("axis", -1L), Attr.of("epsilon", config.normEps()));
            return new String[]{out, residual};
        }
        String[] outs = graph.nodeMulti("SkipSimplifiedLayerNormalization", MS, name, new String[]{add, residual, weight}, 4,
                Attr.of("epsilon", config.normEps()));
        return new String[]{outs[0], outs[3]};
    }

    private String attention(int l, String h, String seqlensK, String totalLen, String cos, String sin, String positions) {
        String qkv = linear(h, "layers." + l + ".qkv", new StackedRows(source.tensor(layer(l, "wq")),
                source.tensor(layer(l, "wk")), source.tensor(layer(l, "wv"))));
        String pastKey = "past_key_values." + l + ".key";
        String pastValue = "past_key_values." + l + ".value";
        Attr heads = Attr.of("num_heads", (long) config.heads());
        Attr kvHeads = Attr.of("kv_num_heads", (long) config.kvHeads());
        String[] outs;
        if (fusedRotary(config)) {
            outs = graph.nodeMulti("GroupQueryAttention", MS, "gqa_" + l,
                    new String[]{qkv, "", "", pastKey, pastValue, seqlensK, totalLen, cos, sin}, 3,
                    heads, kvHeads, Attr.of("do_rotary", 1L), Attr.of("rotary_interleaved", config.interleavedRotary() ? 1L : 0L));
        } else {
            String[] split = graph.nodeMulti("Split", "", "qkv_split_" + l,
                    new String[]{qkv, graph.constInt64("qkv_sizes", config.qDim(), config.kvDim(), config.kvDim())}, 3,
                    Attr.of("axis", -1L));
            Attr interleaved = Attr.of("interleaved", config.interleavedRotary() ? 1L : 0L);
            String q = graph.msNode("RotaryEmbedding", "rotary_q_" + l, new String[]{split[0], positions, cos, sin},
                    interleaved, Attr.of("num_heads", (long) config.heads()));
            String k = graph.msNode("RotaryEmbedding", "rotary_k_" + l, new String[]{split[1], positions, cos, sin},
                    interleaved, Attr.of("num_heads", (long) config.kvHeads()));
            outs = graph.nodeMulti("GroupQueryAttention", MS, "gqa_" + l,
                    new String[]{q, k, split[2], pastKey, pastValue, seqlensK, totalLen}, 3, heads, kvHeads);
        }
        graph.renameOutput(outs[1], "present." + l + ".key");
        graph.renameOutput(outs[2], "present." + l + ".value");
        return linear(outs[0], "layers." + l + ".wo", source.tensor(layer(l, "wo")));
    }

    private String feedForward(int l, String h) {
        String gateUp = linear(h, "layers." + l + ".gate_up",
                new StackedRows(source.tensor(layer(l, "w1")), source.tensor(layer(l, "w3"))));
        String[] split = graph.nodeMulti("Split", "", "gate_up_split_" + l,
                new String[]{gateUp, graph.constInt64("gate_up_sizes", config.hiddenDim(), config.hiddenDim())}, 2,
                Attr.of("axis", -1L));
        String silu = graph.node("Mul", "silu_" + l, new String[]{split[0], graph.node("Sigmoid", "sigmoid_" + l, new String[]{split[0]})});
        String product = graph.node("Mul", "swiglu_" + l, new String[]{silu, split[1]});
        return linear(product, "layers." + l + ".w2", source.tensor(layer(l, "w2")));
    }

    private String lmHead(String normed) {
        boolean tied = config.tiedEmbeddings();
        Tensor weight = source.tensor(tied ? "tok_embeddings" : "output");
        if (quantizer != null) {
            return matMulNBits(normed, "lm_head", weight, headQuantizer, "lm_head");
        }
        // Gemm with transB reads the [vocab, dim] table as stored, so a tied head shares the embedding initializer.
        String table = tied ? "embed_tokens" : streamFloats("lm_head.weight", weight, ioType, "lm_head");
        return graph.node("Gemm", "lm_head", new String[]{normed, table}, Attr.of("transB", 1L));
    }

    /** x · Wᵀ for a [N, K] weight. */
    private String linear(String x, String name, Tensor weight) {
        if (quantizer != null) {
            return matMulNBits(x, name, weight);
        }
        // MatMul wants [K, N]: transpose one layer matrix in memory (bounded by the largest layer, not the model).
        int n = weight.rows();
        int k = weight.cols();
        float[] rows = weight.toArray();
        float[] transposed = new float[rows.length];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) {
                transposed[c * n + r] = rows[r * k + c];
            }
        }
        String initializer = name + ".weight";
        weights.begin(initializer, (long) rows.length * (fp16 ? 2 : 4));
        weights.writeFloats(transposed, 0, transposed.length, fp16);
        graph.initializer(weights.end(ioType, k, n));
        count("matrices", (long) rows.length * (fp16 ? 2 : 4));
        advance(rows.length);
        return graph.node("MatMul", name, new String[]{x, initializer});
    }

    private String matMulNBits(String x, String name, Tensor weight) {
        return matMulNBits(x, name, weight, quantizer, "matrices");
    }

    private String matMulNBits(String x, String name, Tensor weight, BlockQuantizer quantizer, String kind) {
        int n = weight.rows();
        int k = weight.cols();
        int blocks = quantizer.blocks(k);
        int rowBytes = quantizer.rowBytes(k);
        int zeroBytes = quantizer.zeroPointBytes(k);
        float[] scales = new float[n * blocks];
        byte[] zeroPoints = quantizer.symmetric() ? null : new byte[n * zeroBytes];
        String bName = name + ".qweight";
        weights.begin(bName, (long) n * rowBytes);
        GptqQuantizer.Matrix calibrated = calibration == null ? null : calibration.matrix(name);
        if (calibrated != null) {
            // Quantized by GPTQ during calibration (CalibrationForward): the same layout, already in memory.
            if (calibrated.n() != n || calibrated.k() != k || calibrated.scales().length != scales.length
                    || calibrated.packed().length != n * rowBytes || (calibrated.zeroPoints() == null) != (zeroPoints == null)) {
                throw new IllegalStateException("calibrated " + name + " is " + calibrated.n() + "x" + calibrated.k()
                        + " in another layout than the " + n + "x" + k + " weight being written");
            }
            weights.write(calibrated.packed(), 0, n * rowBytes);
            System.arraycopy(calibrated.scales(), 0, scales, 0, scales.length);
            if (zeroPoints != null) {
                System.arraycopy(calibrated.zeroPoints(), 0, zeroPoints, 0, zeroPoints.length);
            }
            advance((long) n * k);
        } else {
            int block = Math.max(1, Math.min(ROWS_PER_BLOCK, (1 << 24) / k));
            float[] buffer = new float[block * k];
            byte[] packed = new byte[rowBytes];
            float[] rowScales = new float[blocks];
            byte[] rowZeros = new byte[zeroBytes];
            for (int row = 0; row < n; row += block) {
                int count = Math.min(block, n - row);
                weight.readRows(row, count, buffer, 0);
                for (int r = 0; r < count; r++) {
                    quantizer.quantizeRow(buffer, r * k, k, packed, rowScales, rowZeros);
                    weights.write(packed, 0, rowBytes);
                    System.arraycopy(rowScales, 0, scales, (row + r) * blocks, blocks);
                    if (zeroPoints != null) {
                        System.arraycopy(rowZeros, 0, zeroPoints, (row + r) * zeroBytes, zeroBytes);
                    }
                }
                advance((long) count * k);
            }
        }
        graph.initializer(weights.end(UINT8, n, blocks, quantizer.blobBytes()));
        count(kind, (long) n * rowBytes);
        String scaleName = name + ".scales";
        weights.begin(scaleName, (long) scales.length * 4);
        weights.writeFloats(scales, 0, scales.length, false);
        graph.initializer(weights.end(FLOAT, (long) n * blocks));
        count(kind.equals("matrices") ? "scales" : kind, (long) scales.length * 4);
        String[] inputs;
        if (zeroPoints != null) {
            String zeroName = name + ".zero_points";
            weights.begin(zeroName, zeroPoints.length);
            weights.write(zeroPoints, 0, zeroPoints.length);
            graph.initializer(weights.end(UINT8, (long) n * zeroBytes));
            count("scales", zeroPoints.length);
            inputs = new String[]{x, bName, scaleName, zeroName};
        } else {
            inputs = new String[]{x, bName, scaleName};
        }
        return graph.msNode("MatMulNBits", name, inputs, Attr.of("K", (long) k), Attr.of("N", (long) n),
                Attr.of("bits", (long) quantizer.bits()),
                Attr.of("block_size", (long) options.blockSize()), Attr.of("accuracy_level", (long) options.accuracyLevel()));
    }

    /** Streams a [rows, cols] tensor as float32 or float16 (embeddings, untied heads). */
    private String streamFloats(String name, Tensor tensor, int type, String kind) {
        int rows = tensor.rows();
        int cols = tensor.cols();
        boolean half = type == FLOAT16;
        weights.begin(name, (long) rows * cols * (half ? 2 : 4));
        int block = Math.max(1, Math.min(ROWS_PER_BLOCK, (1 << 24) / cols));
        float[] buffer = new float[block * cols];
        for (int row = 0; row < rows; row += block) {
            int count = Math.min(block, rows - row);
            tensor.readRows(row, count, buffer, 0);
            weights.writeFloats(buffer, 0, count * cols, half);
            advance((long) count * cols);
        }
        graph.initializer(weights.end(type, rows, cols));
        count(kind, (long) rows * cols * (half ? 2 : 4));
        return name;
    }

    /** A norm weight vector, written flat. */
    private String floatsOf(String name, float[] values, int type) {
        weights.begin(name, (long) values.length * (type == FLOAT16 ? 2 : 4));
        weights.writeFloats(values, 0, values.length, type == FLOAT16);
        graph.initializer(weights.end(type, values.length));
        count("norms", (long) values.length * (type == FLOAT16 ? 2 : 4));
        advance(values.length);
        return name;
    }

    private String smallFloats(String name, float[] values, long rows, long cols) {
        boolean half = ioType == FLOAT16;
        ByteBuffer bytes = ByteBuffer.allocate(values.length * (half ? 2 : 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            if (half) {
                bytes.putShort(HalfPrecision.floatToF16(value));
            } else {
                bytes.putFloat(value);
            }
        }
        weights.begin(name, bytes.capacity());
        weights.write(bytes.array(), 0, bytes.capacity());
        graph.initializer(weights.end(ioType, rows, cols));
        return name;
    }

    private void count(String kind, long bytes) {
        bytesByKind.merge(kind, bytes, Long::sum);
    }

    private void advance(long parameters) {
        written += parameters;
        listener.progress("weights", written, config.parameterCount());
    }

    /** What a conversion produced. {@code bytesByKind}: matrices, scales, embedding, lm_head, norms. */
    public record WrittenModel(Path folder, LlamaConfig config, Precision precision, int contextLength,
                               Map<String, String> metadata, Map<String, Long> bytesByKind, long totalBytes) {
    }
}
