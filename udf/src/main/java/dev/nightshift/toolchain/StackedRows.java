package dev.nightshift.toolchain;

import dev.nightshift.model.Tensor;

/** Several tensors of equal width read as one, stacked by rows (packed QKV, packed gate/up). */
final class StackedRows implements Tensor {

    private final Tensor[] parts;
    private final int rows;

    StackedRows(Tensor... parts) {
        this.parts = parts;
        int total = 0;
        for (Tensor part : parts) {
            if (part.cols() != parts[0].cols()) {
                throw new IllegalArgumentException("cannot stack tensors of widths " + parts[0].cols() + " and " + part.cols());
            }
            total += part.rows();
        }
        this.rows = total;
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return parts[0].cols();
    }

    @Override
    public void readRows(int row, int count, float[] dst, int offset) {
        int base = 0;
        for (Tensor part : parts) {
            int from = Math.max(row, base);
            int to = Math.min(row + count, base + part.rows());
            if (from < to) {
                part.readRows(from - base, to - from, dst, offset + (from - row) * cols());
            }
            base += part.rows();
        }
    }
}
