package dev.nightshift.jobs.cli;

import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** Named Llama shapes for random-weight models (tests, benchmarks, the demo). */
final class RandomShapes {

    private static final Map<String, LlamaConfig> NAMED = new TreeMap<>();

    static {
        NAMED.put("tiny", shape(64, 172, 2, 8, 4, 512, 512, false));
        NAMED.put("small", shape(256, 768, 4, 8, 4, 32000, 1024, false));
        NAMED.put("llama-3.2-1b", RandomWeights.llama32OneB());
    }

    private RandomShapes() {
    }

    private static LlamaConfig shape(int dim, int hidden, int layers, int heads, int kvHeads, int vocab, int context, boolean tied) {
        return new LlamaConfig(dim, hidden, layers, heads, kvHeads, dim / heads, vocab, context, 1e-5f, 10000, null,
                false, tied, 1, new int[]{2});
    }

    static LlamaConfig parse(String text) {
        LlamaConfig named = NAMED.get(text.toLowerCase(Locale.ROOT));
        if (named != null) {
            return named;
        }
        String[] parts = text.split(",");
        if (parts.length < 6 || parts.length > 7) {
            throw new IllegalArgumentException("unknown shape '" + text + "': use one of " + NAMED.keySet()
                    + " or dim,hidden,layers,heads,kvHeads,vocab[,context]");
        }
        int[] values = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                values[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("shape '" + text + "': '" + parts[i] + "' is not a whole number");
            }
        }
        return shape(values[0], values[1], values[2], values[3], values[4], values[5],
                parts.length == 7 ? values[6] : 2048, false);
    }

    /** For picocli's completion candidates and --help. */
    static final class Names implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return new ArrayList<>(List.copyOf(NAMED.keySet())).iterator();
        }
    }
}
