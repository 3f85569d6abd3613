package dev.nightshift.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** The canonical tensor names of {@link WeightSource} and the [rows, cols] shape each has under a config. */
public final class CanonicalTensors {

    private CanonicalTensors() {
    }

    /**
     * Every tensor a checkpoint of this config holds, in checkpoint order: {@code tok_embeddings}, then layer by
     * layer, then {@code norm} and (untied only) {@code output}. Vectors are [1, n].
     */
    public static Map<String, int[]> shapes(LlamaConfig config) {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        int dim = config.dim();
        shapes.put("tok_embeddings", new int[] {config.vocabSize(), dim});
        for (int layer = 0; layer < config.layers(); layer++) {
            shapes.put(WeightSource.layer(layer, "attention_norm"), new int[] {1, dim});
            shapes.put(WeightSource.layer(layer, "wq"), new int[] {config.qDim(), dim});
            shapes.put(WeightSource.layer(layer, "wk"), new int[] {config.kvDim(), dim});
            shapes.put(WeightSource.layer(layer, "wv"), new int[] {config.kvDim(), dim});
            shapes.put(WeightSource.layer(layer, "wo"), new int[] {dim, config.qDim()});
            shapes.put(WeightSource.layer(layer, "ffn_norm"), new int[] {1, dim});
            shapes.put(WeightSource.layer(layer, "w1"), new int[] {config.hiddenDim(), dim});
            shapes.put(WeightSource.layer(layer, "w2"), new int[] {dim, config.hiddenDim()});
            shapes.put(WeightSource.layer(layer, "w3"), new int[] {config.hiddenDim(), dim});
        }
        shapes.put("norm", new int[] {1, dim});
        if (!config.tiedEmbeddings()) {
            shapes.put("output", new int[] {config.vocabSize(), dim});
        }
        return Collections.unmodifiableMap(shapes);
    }

    /** The [rows, cols] shape of one tensor; throws naming the tensor when the config has no such tensor. */
    public static int[] shape(LlamaConfig config, String name) {
        int[] shape = shapes(config).get(name);
        if (shape == null) {
            throw new IllegalArgumentException("no tensor named " + name + " in a Llama checkpoint with "
                    + config.layers() + " layers and " + (config.tiedEmbeddings() ? "tied" : "untied")
                    + " embeddings (names: tok_embeddings, layers.N.{attention_norm,wq,wk,wv,wo,ffn_norm,w1,w2,w3},"
                    + " norm, output)");
        }
        return shape.clone();
    }
}
