package dev.nightshift.toolchain;

import dev.nightshift.model.LlamaConfig;

/**
 * The cos/sin tables [positions, headDim/2] that ONNX Runtime's rotary kernels read, with
 * {@code rope_theta} and Llama-3.1's "llama3" frequency scaling applied (as Hugging Face's
 * {@code _compute_llama3_parameters} does). Computed in double so fp32 tables round once.
 */
public final class RopeCache {

    private RopeCache() {
    }

    /** Inverse frequencies, one per rotated pair. */
    public static double[] inverseFrequencies(LlamaConfig config) {
        int half = config.headDim() / 2;
        double[] inverse = new double[half];
        for (int i = 0; i < half; i++) {
            inverse[i] = 1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / config.headDim());
        }
        LlamaConfig.RopeScaling scaling = config.ropeScaling();
        if (scaling != null) {
            double lowWavelength = scaling.originalMaxPositions() / scaling.lowFreqFactor();
            double highWavelength = scaling.originalMaxPositions() / scaling.highFreqFactor();
            for (int i = 0; i < half; i++) {
                double wavelength = 2 * Math.PI / inverse[i];
                if (wavelength > lowWavelength) {
                    inverse[i] = inverse[i] / scaling.factor();
                } else if (wavelength >= highWavelength) {
                    double smooth = (scaling.originalMaxPositions() / wavelength - scaling.lowFreqFactor())
                            / (scaling.highFreqFactor() - scaling.lowFreqFactor());
                    inverse[i] = (1 - smooth) * inverse[i] / scaling.factor() + smooth * inverse[i];
                }
            }
        }
        return inverse;
    }

    /** cos (first) and sin (second) tables, row-major [positions][headDim/2]. */
    public static float[][] tables(LlamaConfig config, int positions) {
        double[] inverse = inverseFrequencies(config);
        int half = inverse.length;
        float[] cos = new float[positions * half];
        float[] sin = new float[positions * half];
        for (int p = 0; p < positions; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * inverse[i];
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
        return new float[][]{cos, sin};
    }
}
