package dev.nightshift.model;

/**
 * A 2-D float32 view of one checkpoint tensor, read a block of rows at a time so that a
 * billion-parameter model can be converted without holding it in memory. Vectors are 1 x n.
 * Matrices use the [out][in] orientation of llama2.c and PyTorch's {@code Linear.weight}.
 */
public interface Tensor {

    int rows();

    int cols();

    /** Copies rows {@code [row, row + count)} into {@code dst} starting at {@code offset}, row-major. */
    void readRows(int row, int count, float[] dst, int offset);

    default long size() {
        return (long) rows() * cols();
    }

    /** The whole tensor; only for tensors known to be small. */
    default float[] toArray() {
        if (size() > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor of " + rows() + "x" + cols() + " is too large for one array");
        }
        float[] all = new float[(int) size()];
        readRows(0, rows(), all, 0);
        return all;
    }
}
