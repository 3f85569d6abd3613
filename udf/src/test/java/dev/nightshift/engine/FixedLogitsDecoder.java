package dev.nightshift.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * A {@link Decoder} without a model: each row's logits are a function of the row's whole token sequence (prompt plus
 * every token fed to it), so the generation loop is tested without ONNX Runtime, and a row's output cannot depend on
 * its batch, its place in it or a compaction unless the loop feeds it wrongly. It keeps each row's sequence as a real
 * decoder keeps its cache, refuses what a real one refuses (prompts of different lengths without
 * {@link #mixedLengths()}, prefix copies and multi-token feeds without the capabilities), and records what it was
 * asked to do.
 */
final class FixedLogitsDecoder implements Decoder {

    /** The model: opens decoders, names the padding and end ids, and logs every decoder it opened. */
    static final class Model implements DecoderFactory {

        final Function<int[], float[]> logits;
        final int padId;
        final int eosId;
        final boolean mixedLengths;
        final boolean extendsOneRow;
        final List<FixedLogitsDecoder> opened = new ArrayList<>();

        /**
         * @param logits        a row's next-token logits from its sequence so far (write them with {@link FixedLogits})
         * @param mixedLengths  as a GQA graph's shared cache (true) or a position_ids graph's growing one (false)
         * @param extendsOneRow likewise; both true is what makes the loop reuse shared prefixes
         */
        Model(Function<int[], float[]> logits, int padId, int eosId, boolean mixedLengths, boolean extendsOneRow) {
            this.logits = logits;
            this.padId = padId;
            this.eosId = eosId;
            this.mixedLengths = mixedLengths;
            this.extendsOneRow = extendsOneRow;
        }

        @Override
        public Decoder open(int rows, int maxLength) {
            FixedLogitsDecoder decoder = new FixedLogitsDecoder(this, rows, maxLength);
            opened.add(decoder);
            return decoder;
        }

        @Override
        public int padId() {
            return padId;
        }

        @Override
        public boolean isEos(int token) {
            return token == eosId;
        }
    }

    private final Model model;
    private final int maxLength;
    private List<int[]> sequences = new ArrayList<>();
    /** Batch sizes of every prefill, step and extend call, and every clear, in order: "prefill 3", "step 3", "extend 1", "clear". */
    final List<String> calls = new ArrayList<>();
    /** Per step, how many rows it advanced (fed a token that counts). */
    final List<Integer> liveSteps = new ArrayList<>();
    /** The live-row lists of every compaction. */
    final List<int[]> compactions = new ArrayList<>();
    boolean closed;

    private FixedLogitsDecoder(Model model, int rows, int maxLength) {
        this.model = model;
        this.maxLength = maxLength;
        for (int b = 0; b < rows; b++) {
            sequences.add(new int[0]);
        }
    }

    @Override
    public int rows() {
        return sequences.size();
    }

    @Override
    public int length(int row) {
        return sequences.get(row).length;
    }

    @Override
    public boolean mixedLengths() {
        return model.mixedLengths;
    }

    @Override
    public boolean extendsOneRow() {
        return model.extendsOneRow;
    }

    @Override
    public float[][] prefill(int[][] prompts) {
        check(prompts.length == rows(), "prefill of " + prompts.length + " prompts into " + rows() + " rows");
        for (int[] prompt : prompts) {
            check(model.mixedLengths || prompt.length == prompts[0].length, "prompts of different lengths in one prefill");
        }
        calls.add("prefill " + prompts.length);
        float[][] out = new float[prompts.length][];
        for (int b = 0; b < prompts.length; b++) {
            out[b] = feed(b, prompts[b]);
        }
        return out;
    }

    @Override
    public float[][] step(int[] tokens, boolean[] advance) {
        check(tokens.length == rows() && advance.length == rows(), "a step of " + tokens.length + " tokens over " + rows() + " rows");
        calls.add("step " + tokens.length);
        int live = 0;
        for (boolean a : advance) {
            live += a ? 1 : 0;
        }
        liveSteps.add(live);
        float[][] out = new float[tokens.length][];
        for (int b = 0; b < tokens.length; b++) {
            out[b] = advance[b] ? feed(b, new int[]{tokens[b]}) : model.logits.apply(sequences.get(b));
        }
        return out;
    }

    @Override
    public float[] extend(int row, int[] tokens) {
        check(model.extendsOneRow, "several tokens fed to one row of a decoder that cannot");
        calls.add("extend 1");
        return feed(row, tokens);
    }

    @Override
    public void copyPrefix(Decoder source, int from, int to, int positions) {
        check(model.mixedLengths, "a prefix copied into one row of a decoder whose rows share one length");
        sequences.set(to, Arrays.copyOf(((FixedLogitsDecoder) source).sequences.get(from), positions));
    }

    @Override
    public void clear(int row) {
        check(model.mixedLengths && model.extendsOneRow, "a row emptied in a decoder whose rows share one length");
        calls.add("clear");
        sequences.set(row, new int[0]);
    }

    @Override
    public Decoder fork(int row, int copies, int newMaxLength) {
        FixedLogitsDecoder fork = (FixedLogitsDecoder) model.open(copies, newMaxLength);
        for (int c = 0; c < copies; c++) {
            fork.sequences.set(c, sequences.get(row).clone());
        }
        return fork;
    }

    @Override
    public void compact(int[] live) {
        compactions.add(live.clone());
        List<int[]> kept = new ArrayList<>();
        for (int row : live) {
            kept.add(sequences.get(row));
        }
        sequences = kept;
    }

    @Override
    public void close() {
        closed = true;
    }

    /** Row {@code row}'s sequence so far (prompt and fed tokens). */
    int[] sequence(int row) {
        return sequences.get(row).clone();
    }

    private float[] feed(int row, int[] tokens) {
        check(!closed, "a closed decoder was used");
        int[] before = sequences.get(row);
        int[] after = Arrays.copyOf(before, before.length + tokens.length);
        System.arraycopy(tokens, 0, after, before.length, tokens.length);
        check(after.length <= maxLength, "row " + row + " fed past its " + maxLength + " positions");
        sequences.set(row, after);
        return model.logits.apply(after);
    }

    private static void check(boolean condition, String problem) {
        if (!condition) {
            throw new AssertionError(problem);
        }
    }
}
