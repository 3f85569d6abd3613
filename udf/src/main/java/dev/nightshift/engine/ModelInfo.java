package dev.nightshift.engine;

/**
 * What identifies a loaded model in result lineage.
 *
 * @param id            a readable name (the folder name)
 * @param fingerprint   a hash of the model's files (sizes and contents of the graph, config and tokenizer), stable across copies
 * @param contextLength longest prompt plus completion, in tokens
 * @param precision     fp32, fp16, int8, int4, or "unknown" for third-party exports
 * @param provider      the execution provider actually in use (cpu, cuda)
 */
public record ModelInfo(String id, String fingerprint, int contextLength, String precision, String provider) {
}
