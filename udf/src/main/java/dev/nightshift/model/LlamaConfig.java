package dev.nightshift.model;

import java.util.Arrays;

/**
 * Shape and hyper-parameters of a Llama decoder, whatever checkpoint format it came from.
 *
 * @param dim               model width (hidden_size)
 * @param hiddenDim         feed-forward width (intermediate_size)
 * @param layers            decoder layers
 * @param heads             query heads
 * @param kvHeads           key/value heads (fewer than {@code heads} for grouped-query attention)
 * @param headDim           width of one head (usually dim / heads)
 * @param vocabSize         vocabulary size
 * @param contextLength     longest sequence the model was trained for (prompt plus generated tokens)
 * @param normEps           RMSNorm epsilon
 * @param ropeTheta         rotary base frequency
 * @param ropeScaling       Llama-3 style frequency scaling, or null
 * @param interleavedRotary true when q/k rotate adjacent pairs (llama2.c layout), false for rotate-half (Hugging Face)
 * @param tiedEmbeddings    true when the output projection reuses the token embedding
 * @param bosId             beginning-of-sequence token id
 * @param eosIds            end-of-sequence token ids (Llama 3 has several)
 */
public record LlamaConfig(int dim, int hiddenDim, int layers, int heads, int kvHeads, int headDim, int vocabSize,
                          int contextLength, float normEps, double ropeTheta, RopeScaling ropeScaling,
                          boolean interleavedRotary, boolean tiedEmbeddings, int bosId, int[] eosIds) {

    public LlamaConfig {
        require(dim > 0, "dim", dim);
        require(hiddenDim > 0, "hiddenDim", hiddenDim);
        require(layers > 0, "layers", layers);
        require(heads > 0, "heads", heads);
        require(kvHeads > 0 && heads % kvHeads == 0, "kvHeads (must divide heads=" + heads + ")", kvHeads);
        require(headDim > 0 && headDim % 2 == 0, "headDim (must be even)", headDim);
        require(vocabSize > 0, "vocabSize", vocabSize);
        require(contextLength > 0, "contextLength", contextLength);
        require(normEps > 0, "normEps", normEps);
        require(ropeTheta > 0, "ropeTheta", ropeTheta);
        eosIds = eosIds == null ? new int[0] : eosIds.clone();
    }

    private static void require(boolean ok, String field, Object value) {
        if (!ok) {
            throw new IllegalArgumentException("invalid Llama config: " + field + " = " + value);
        }
    }

    /** Width of the key (or value) projection: kvHeads * headDim. */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Width of the query projection: heads * headDim (equals dim for every Llama so far). */
    public int qDim() {
        return heads * headDim;
    }

    /** Parameter count, embeddings included once when tied. */
    public long parameterCount() {
        long perLayer = 2L * dim + (long) qDim() * dim + 2L * kvDim() * dim + (long) dim * qDim() + 3L * hiddenDim * dim;
        long embeddings = (long) vocabSize * dim * (tiedEmbeddings ? 1 : 2);
        return perLayer * layers + embeddings + dim;
    }

    @Override
    public int[] eosIds() {
        return eosIds.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LlamaConfig c && toString().equals(c.toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    @Override
    public String toString() {
        return "LlamaConfig[dim=" + dim + ", hiddenDim=" + hiddenDim + ", layers=" + layers + ", heads=" + heads
                + ", kvHeads=" + kvHeads + ", headDim=" + headDim + ", vocabSize=" + vocabSize
                + ", contextLength=" + contextLength + ", normEps=" + normEps + ", ropeTheta=" + ropeTheta
                + ", ropeScaling=" + ropeScaling + ", interleavedRotary=" + interleavedRotary
                + ", tiedEmbeddings=" + tiedEmbeddings + ", bosId=" + bosId + ", eosIds=" + Arrays.toString(eosIds) + "]";
    }

    /** Llama-3.1 "llama3" rope scaling: long wavelengths are slowed by {@code factor}, short ones kept. */
    public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
        public RopeScaling {
            if (factor <= 0 || lowFreqFactor <= 0 || highFreqFactor <= lowFreqFactor || originalMaxPositions <= 0) {
                throw new IllegalArgumentException("invalid llama3 rope_scaling: factor=" + factor + ", low_freq_factor="
                        + lowFreqFactor + ", high_freq_factor=" + highFreqFactor
                        + ", original_max_position_embeddings=" + originalMaxPositions);
            }
        }
    }
}
