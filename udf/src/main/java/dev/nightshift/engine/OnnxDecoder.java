package dev.nightshift.engine;

import ai.onnxruntime.OrtException;

/**
 * The ONNX Runtime {@link Decoder}: a {@link KvCache} that holds the batch's past and a {@link DecoderStep} that runs
 * the graph over it. What differs between graphs (in-place or growing cache, right padding or equal lengths) is the
 * cache's; this class only turns the decoder's calls into runs.
 */
final class OnnxDecoder implements Decoder {

    private final DecoderModel model;
    private final DecoderStep step;
    private KvCache cache;

    OnnxDecoder(DecoderModel model, KvCache cache) {
        this.model = model;
        this.step = new DecoderStep(model);
        this.cache = cache;
    }

    @Override
    public int rows() {
        return cache.rows();
    }

    @Override
    public int length(int row) {
        return cache.length(row);
    }

    @Override
    public boolean mixedLengths() {
        return cache.mixedLengths();
    }

    @Override
    public boolean extendsOneRow() {
        return cache.extendsOneRow();
    }

    @Override
    public float[][] prefill(int[][] prompts) throws OrtException {
        boolean[] all = new boolean[prompts.length];
        java.util.Arrays.fill(all, true);
        return step.run(cache, prompts, all);
    }

    @Override
    public float[][] step(int[] tokens, boolean[] advance) throws OrtException {
        int[][] fed = new int[tokens.length][];
        for (int b = 0; b < tokens.length; b++) {
            fed[b] = new int[]{tokens[b]};
        }
        return step.run(cache, fed, advance);
    }

    @Override
    public float[] extend(int row, int[] tokens) throws OrtException {
        try (KvCache view = cache.row(row)) {
            return step.run(view, new int[][]{tokens}, new boolean[]{true})[0];
        }
    }

    @Override
    public void copyPrefix(Decoder source, int from, int to, int positions) {
        if (!(source instanceof OnnxDecoder onnx)) {
            throw new IllegalArgumentException("an ONNX decoder copies prefixes only from another ONNX decoder");
        }
        cache.copyPrefix(onnx.cache, from, to, positions);
    }

    @Override
    public void clear(int row) {
        cache.clear(row);
    }

    @Override
    public Decoder fork(int row, int copies, int maxLength) throws OrtException {
        return new OnnxDecoder(model, cache.fork(row, copies, maxLength));
    }

    @Override
    public void compact(int[] live) throws OrtException {
        cache = cache.compact(live);
    }

    @Override
    public void close() {
        try {
            cache.close();
        } finally {
            step.close();
        }
    }
}
