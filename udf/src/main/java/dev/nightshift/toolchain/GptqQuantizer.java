package dev.nightshift.toolchain;

/**
 * GPTQ-style error-compensating quantization (Frantar et al., 2022) of the rows of one [N, K] weight, in exactly
 * the MatMulNBits layout of {@link BlockQuantizer}. Given H = XᵀX over calibration inputs X of the linear, the
 * columns of a row are quantized left to right and each column's rounding error, weighted by the Cholesky factor of
 * H⁻¹, is pushed onto the columns not yet quantized, so that X·Wᵀ rather than W itself is preserved. At the start
 * of each block of {@code blockSize} columns the block's scale (and zero point) is chosen by
 * {@link BlockQuantizer#chooseScale} from the current, error-updated weights.
 *
 * <p>Rows are independent given H: {@link #quantizeRow} has the signature of {@link BlockQuantizer#quantizeRow}
 * and is safe to call from several threads.
 */
public final class GptqQuantizer {

    /** Damping added to H's diagonal, relative to the mean of the diagonal (GPTQ's default, 1%). */
    public static final double DAMPING = 0.01;

    private final BlockQuantizer quantizer;
    private final int k;
    private final double[] factor; // upper-triangular U, row-major [K, K], (H + λI)⁻¹ = UᵀU
    private final double ridge;    // λ, the damping added to the diagonal

    /**
     * @param quantizer the block layout, bits and scale choice
     * @param hessian   XᵀX, row-major [K, K] (any positive multiple: damping is relative)
     * @param k         the weight's input width
     */
    public GptqQuantizer(BlockQuantizer quantizer, double[] hessian, int k) {
        if (hessian.length != (long) k * k) {
            throw new IllegalArgumentException("input statistics of " + hessian.length + " values do not match K = " + k);
        }
        this.quantizer = quantizer;
        this.k = k;
        Factor inverse = inverseFactor(hessian, k);
        this.factor = inverse.upper();
        this.ridge = inverse.ridge();
    }

    /**
     * Quantizes one row of K values as {@link BlockQuantizer#quantizeRow} does; {@code row} is used as scratch
     * (its K values from {@code offset} are overwritten with error-updated ones).
     */
    public void quantizeRow(float[] row, int offset, int k, byte[] packed, float[] scales, byte[] zeroPoints) {
        if (k != this.k) {
            throw new IllegalArgumentException("row of " + k + " values, statistics for " + this.k);
        }
        int blockSize = quantizer.blockSize();
        quantizer.clearRow(k, packed, zeroPoints);
        int[] codes = new int[blockSize];
        for (int start = 0, b = 0; start < k; start += blockSize, b++) {
            int end = Math.min(k, start + blockSize);
            BlockQuantizer.BlockScale block = quantizer.chooseScale(row, offset, start, end);
            java.util.Arrays.fill(codes, quantizer.code(0, block)); // padding past K, as the plain path writes it
            for (int j = start; j < end; j++) {
                float w = row[offset + j];
                int code = quantizer.code(w, block);
                codes[j - start] = code;
                double error = (w - BlockQuantizer.value(code, block)) / factor[j * k + j];
                for (int c = j + 1; c < k; c++) {
                    row[offset + c] -= (float) (error * factor[j * k + c]);
                }
            }
            quantizer.storeBlock(b, codes, block, packed, scales, zeroPoints);
        }
    }

    /** λ, what damping added to H's diagonal. */
    double ridge() {
        return ridge;
    }

    /** (H + λI)⁻¹ b, as UᵀUb. */
    double[] solve(double[] b) {
        double[] ub = new double[k];
        for (int i = 0; i < k; i++) {
            double sum = 0;
            for (int j = i; j < k; j++) {
                sum += factor[i * k + j] * b[j];
            }
            ub[i] = sum;
        }
        double[] x = new double[k];
        for (int j = 0; j < k; j++) {
            double sum = 0;
            for (int i = 0; i <= j; i++) {
                sum += factor[i * k + j] * ub[i];
            }
            x[j] = sum;
        }
        return x;
    }

    /** One weight quantized in MatMulNBits layout: packed [N, rowBytes], scales [N, blocks], zero points [N, zeroBytes] or null. */
    public record Matrix(int n, int k, byte[] packed, float[] scales, byte[] zeroPoints) {
    }

    /** Quantizes all N rows of {@code weights} (row-major [N, K], left unchanged), rows in parallel. */
    public Matrix quantize(float[] weights, int n) {
        int rowBytes = quantizer.rowBytes(k);
        int blocks = quantizer.blocks(k);
        int zeroBytes = quantizer.zeroPointBytes(k);
        byte[] packed = new byte[n * rowBytes];
        float[] scales = new float[n * blocks];
        byte[] zeroPoints = quantizer.symmetric() ? null : new byte[n * zeroBytes];
        java.util.stream.IntStream.range(0, n).parallel().forEach(r -> {
            float[] row = java.util.Arrays.copyOfRange(weights, r * k, (r + 1) * k);
            byte[] rowPacked = new byte[rowBytes];
            float[] rowScales = new float[blocks];
            byte[] rowZeros = new byte[zeroBytes];
            quantizeRow(row, 0, k, rowPacked, rowScales, rowZeros);
            System.arraycopy(rowPacked, 0, packed, r * rowBytes, rowBytes);
            System.arraycopy(rowScales, 0, scales, r * blocks, blocks);
            if (zeroPoints != null) {
                System.arraycopy(rowZeros, 0, zeroPoints, r * zeroBytes, zeroBytes);
            }
        });
        return new Matrix(n, k, packed, scales, zeroPoints);
    }

    /** The values ONNX Runtime will compute with, row-major [N, K]. */
    public float[] dequantize(Matrix matrix) {
        int rowBytes = quantizer.rowBytes(k);
        int blocks = quantizer.blocks(k);
        int zeroBytes = quantizer.zeroPointBytes(k);
        float[] out = new float[matrix.n() * k];
        byte[] rowPacked = new byte[rowBytes];
        float[] rowScales = new float[blocks];
        byte[] rowZeros = new byte[zeroBytes];
        for (int r = 0; r < matrix.n(); r++) {
            System.arraycopy(matrix.packed(), r * rowBytes, rowPacked, 0, rowBytes);
            System.arraycopy(matrix.scales(), r * blocks, rowScales, 0, blocks);
            if (matrix.zeroPoints() != null) {
                System.arraycopy(matrix.zeroPoints(), r * zeroBytes, rowZeros, 0, zeroBytes);
            }
            quantizer.dequantizeRow(rowPacked, rowScales, rowZeros, k, out, r * k);
        }
        return out;
    }

    /** U with (H + λI)⁻¹ = UᵀU, and λ. */
    record Factor(double[] upper, double ridge) {
    }

    /** The inverse factor for H damped by λ = {@link #DAMPING} × mean(diag H), more if H is not positive definite. */
    static Factor inverseFactor(double[] hessian, int k) {
        double mean = 0;
        for (int i = 0; i < k; i++) {
            mean += Math.max(0, hessian[i * k + i]);
        }
        // An input no calibration token reached has a zero row and column: damping alone keeps H invertible, and its
        // weight (nothing to compensate) is quantized to nearest.
        mean = mean > 0 ? mean / k : 1;
        for (double damping = DAMPING; damping <= 1e3; damping *= 10) {
            double[] damped = hessian.clone();
            for (int i = 0; i < k; i++) {
                damped[i * k + i] += damping * mean;
            }
            double[] lower = cholesky(damped, k);
            if (lower != null) {
                double[] lowerOfInverse = cholesky(inverseFromCholesky(lower, k), k);
                if (lowerOfInverse != null) {
                    return new Factor(transpose(lowerOfInverse, k), damping * mean);
                }
            }
        }
        throw new IllegalStateException("calibration statistics are not positive semi-definite (NaN or infinite inputs?)");
    }

    /** Lower L with A = LLᵀ, or null when A is not positive definite. */
    static double[] cholesky(double[] a, int n) {
        double[] l = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double sum = a[i * n + j];
                for (int p = 0; p < j; p++) {
                    sum -= l[i * n + p] * l[j * n + p];
                }
                if (i == j) {
                    if (!(sum > 0)) {
                        return null;
                    }
                    l[i * n + i] = Math.sqrt(sum);
                } else {
                    l[i * n + j] = sum / l[j * n + j];
                }
            }
        }
        return l;
    }

    /** (LLᵀ)⁻¹ = L⁻ᵀL⁻¹ from lower L. */
    private static double[] inverseFromCholesky(double[] l, int n) {
        double[] inv = new double[n * n]; // L⁻¹, lower
        for (int i = 0; i < n; i++) {
            inv[i * n + i] = 1 / l[i * n + i];
            for (int j = 0; j < i; j++) {
                double sum = 0;
                for (int p = j; p < i; p++) {
                    sum += l[i * n + p] * inv[p * n + j];
                }
                inv[i * n + j] = -sum / l[i * n + i];
            }
        }
        double[] result = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double sum = 0;
                for (int p = i; p < n; p++) {
                    sum += inv[p * n + i] * inv[p * n + j];
                }
                result[i * n + j] = sum;
                result[j * n + i] = sum;
            }
        }
        return result;
    }

    private static double[] transpose(double[] a, int n) {
        double[] t = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                t[j * n + i] = a[i * n + j];
            }
        }
        return t;
    }
}
