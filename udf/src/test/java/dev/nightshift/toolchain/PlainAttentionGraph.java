package dev.nightshift.toolchain;

import dev.nightshift.engine.ModelFolder;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.WeightSource;
import dev.nightshift.toolchain.OnnxGraph.Attr;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static dev.nightshift.model.WeightSource.layer;

/**
 * For tests: a Llama decoder in the Hugging Face Optimum style, built from plain ONNX ops: {@code position_ids}
 * input, attention as MatMul/Softmax with a causal bias, past and present KV caches that grow by concatenation
 * ([B, heads, T, head size]), logits for every position. The engine must run such graphs (no GroupQueryAttention,
 * no shared buffer) with the same guarantees as its own; weights are fp32 and stored inline (small models only).
 */
public final class PlainAttentionGraph {

    private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    private static final int INT64 = TensorProto.DataType.INT64_VALUE;

    private final WeightSource source;
    private final LlamaConfig config;
    private final OnnxGraph graph = new OnnxGraph("plain_attention_llama");

    private PlainAttentionGraph(WeightSource source) {
        this.source = source;
        this.config = source.config();
        if (config.heads() != config.kvHeads()) {
            throw new IllegalArgumentException("this test graph is multi-head attention only");
        }
    }

    /** Replaces {@code folder}'s model.onnx (as written by the converter) with this graph of the same weights. */
    public static void replaceModel(WeightSource source, Path folder) throws IOException {
        ModelProto model = new PlainAttentionGraph(source).build();
        Files.deleteIfExists(folder.resolve(ModelFolder.MODEL_DATA));
        try (OutputStream out = Files.newOutputStream(folder.resolve(ModelFolder.MODEL))) {
            model.writeTo(out);
        }
    }

    private ModelProto build() {
        int heads = config.heads();
        int headDim = config.headDim();
        graph.input("input_ids", INT64, "batch_size", "sequence_length");
        graph.input("attention_mask", INT64, "batch_size", "total_sequence_length");
        graph.input("position_ids", INT64, "batch_size", "sequence_length");
        for (int l = 0; l < config.layers(); l++) {
            graph.input("past_key_values." + l + ".key", FLOAT, "batch_size", heads, "past_sequence_length", headDim);
            graph.input("past_key_values." + l + ".value", FLOAT, "batch_size", heads, "past_sequence_length", headDim);
        }
        String x = graph.node("Gather", "embed", new String[]{floats("embed_tokens", source.tensor("tok_embeddings").toArray(),
                config.vocabSize(), config.dim()), "input_ids"}, Attr.of("axis", 0L));

        // Causal bias [S, T]: query i (absolute position P + i) sees keys 0 .. P + i.
        String zero = graph.scalarInt64("zero", 0);
        String one = graph.scalarInt64("one", 1);
        String seqLen = graph.node("Gather", "seq_len", new String[]{graph.node("Shape", "ids_shape", new String[]{"input_ids"}),
                graph.scalarInt64("axis1", 1)}, Attr.of("axis", 0L));
        String pastLen = graph.node("Gather", "past_len", new String[]{
                graph.node("Shape", "past_shape", new String[]{"past_key_values.0.key"}), graph.scalarInt64("axis2", 2)},
                Attr.of("axis", 0L));
        String total = graph.node("Add", "total_len", new String[]{pastLen, seqLen});
        String keys = graph.node("Range", "key_positions", new String[]{zero, total, one});
        String queries = graph.node("Unsqueeze", "query_positions", new String[]{
                graph.node("Range", "query_range", new String[]{pastLen, total, one}), graph.constInt64("unsq_axis", 1)});
        String allowed = graph.node("LessOrEqual", "causal", new String[]{keys, queries});
        String bias = graph.node("Where", "causal_bias", new String[]{allowed, scalar("bias_keep", 0f), scalar("bias_mask", -1e9f)});

        float[][] rope = RopeCache.tables(config, config.contextLength());
        String cos = floats("cos_cache", rope[0], config.contextLength(), headDim / 2);
        String sin = floats("sin_cache", rope[1], config.contextLength(), headDim / 2);
        String splitHeads = graph.constInt64("split_heads", 0, 0, heads, headDim);
        String mergeHeads = graph.constInt64("merge_heads", 0, 0, -1);
        Attr interleaved = Attr.of("interleaved", config.interleavedRotary() ? 1L : 0L);
        for (int l = 0; l < config.layers(); l++) {
            String h = norm(x, layer(l, "attention_norm"));
            String q = graph.msNode("RotaryEmbedding", "rotary_q", new String[]{linear(h, layer(l, "wq")), "position_ids", cos, sin},
                    interleaved, Attr.of("num_heads", (long) heads));
            String k = graph.msNode("RotaryEmbedding", "rotary_k", new String[]{linear(h, layer(l, "wk")), "position_ids", cos, sin},
                    interleaved, Attr.of("num_heads", (long) heads));
            String v = linear(h, layer(l, "wv"));
            String presentKey = graph.node("Concat", "present_key", new String[]{"past_key_values." + l + ".key", toHeads(k, splitHeads)},
                    Attr.of("axis", 2L));
            String presentValue = graph.node("Concat", "present_value", new String[]{"past_key_values." + l + ".value",
                    toHeads(v, splitHeads)}, Attr.of("axis", 2L));
            graph.renameOutput(presentKey, "present." + l + ".key");
            graph.renameOutput(presentValue, "present." + l + ".value");
            presentKey = "present." + l + ".key";
            presentValue = "present." + l + ".value";
            String scores = graph.node("MatMul", "scores", new String[]{toHeads(q, splitHeads),
                    graph.node("Transpose", "keys_t", new String[]{presentKey}, Attr.ints("perm", 0, 1, 3, 2))});
            scores = graph.node("Add", "masked", new String[]{
                    graph.node("Mul", "scaled", new String[]{scores, scalar("scale", (float) (1 / Math.sqrt(headDim)))}), bias});
            String probs = graph.node("Softmax", "probs", new String[]{scores}, Attr.of("axis", -1L));
            String context = graph.node("MatMul", "context", new String[]{probs, presentValue});
            context = graph.node("Reshape", "merged", new String[]{
                    graph.node("Transpose", "context_t", new String[]{context}, Attr.ints("perm", 0, 2, 1, 3)), mergeHeads});
            x = graph.node("Add", "residual_attn", new String[]{x, linear(context, layer(l, "wo"))});

            String f = norm(x, layer(l, "ffn_norm"));
            String gate = linear(f, layer(l, "w1"));
            String silu = graph.node("Mul", "silu", new String[]{gate, graph.node("Sigmoid", "sigmoid", new String[]{gate})});
            String product = graph.node("Mul", "swiglu", new String[]{silu, linear(f, layer(l, "w3"))});
            x = graph.node("Add", "residual_ffn", new String[]{x, linear(product, layer(l, "w2"))});
        }
        String normed = norm(x, "norm");
        String head = config.tiedEmbeddings() ? "tok_embeddings" : "output";
        String logits = linear(normed, head);
        graph.renameOutput(logits, "logits");
        graph.output("logits", FLOAT, "batch_size", "sequence_length", config.vocabSize());
        for (int l = 0; l < config.layers(); l++) {
            graph.output("present." + l + ".key", FLOAT, "batch_size", heads, "total_sequence_length", headDim);
            graph.output("present." + l + ".value", FLOAT, "batch_size", heads, "total_sequence_length", headDim);
        }
        return graph.model(Map.of());
    }

    /** [B, S, heads·headDim] → [B, heads, S, headDim]. */
    private String toHeads(String x, String splitHeads) {
        return graph.node("Transpose", "to_heads", new String[]{graph.node("Reshape", "split", new String[]{x, splitHeads})},
                Attr.ints("perm", 0, 2, 1, 3));
    }

    private String norm(String x, String weight) {
        float[] values = source.tensor(weight).toArray();
        return graph.node("SimplifiedLayerNormalization", "norm", new String[]{x, floats(weight, values, values.length)},
                Attr.of("axis", -1L), Attr.of("epsilon", config.normEps()));
    }

    /** x · Wᵀ for the checkpoint's [out, in] weight. */
    private String linear(String x, String weight) {
        float[] w = source.tensor(weight).toArray();
        int in = config.dim();
        if (weight.endsWith("wo")) {
            in = config.qDim();
        } else if (weight.endsWith("w2")) {
            in = config.hiddenDim();
        }
        int out = w.length / in;
        float[] transposed = new float[w.length];
        for (int r = 0; r < out; r++) {
            for (int c = 0; c < in; c++) {
                transposed[c * out + r] = w[r * in + c];
            }
        }
        return graph.node("MatMul", "linear", new String[]{x, floats(weight + "_t", transposed, in, out)});
    }

    private String scalar(String name, float value) {
        return floats(name, new float[]{value});
    }

    private String floats(String name, float[] values, long... dims) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            bytes.putFloat(value);
        }
        return graph.constant(name, FLOAT, dims, bytes.array());
    }
}
