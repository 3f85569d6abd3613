package dev.nightshift.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The weights of one Llama checkpoint under canonical names, whatever the file format.
 *
 * <p>Names: {@code tok_embeddings} [vocab, dim]; per layer {@code layers.N.attention_norm} [1, dim],
 * {@code layers.N.wq} [qDim, dim], {@code layers.N.wk} and {@code layers.N.wv} [kvDim, dim],
 * {@code layers.N.wo} [dim, qDim], {@code layers.N.ffn_norm} [1, dim], {@code layers.N.w1} (gate) and
 * {@code layers.N.w3} (up) [hidden, dim], {@code layers.N.w2} (down) [dim, hidden]; {@code norm} [1, dim];
 * {@code output} [vocab, dim] only when the embeddings are not tied. Rotary layout of wq/wk is whatever
 * {@link LlamaConfig#interleavedRotary()} says: sources do not permute weights.
 */
public interface WeightSource extends AutoCloseable {

    LlamaConfig config();

    /** The named tensor; throws {@link IllegalArgumentException} naming the tensor when it is absent. */
    Tensor tensor(String name);

    /** Tokenizer and generation files that travel with the model (file name in the output folder to source path). */
    default Map<String, Path> sideFiles() {
        return Map.of();
    }

    /** A short human description, e.g. "llama2.c v0 checkpoint /x/stories260K.bin". */
    String description();

    @Override
    default void close() throws IOException {
    }

    static String layer(int layer, String name) {
        return "layers." + layer + "." + name;
    }
}
