package dev.nightshift;

import dev.nightshift.toolchain.GgufVocabulary;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Real Llama tokenizer folders (tokenizer.json, tokenizer_config.json, special_tokens_map.json) for tests, converted
 * from llama.cpp's vocabulary-only GGUF files in ../shared/models/thirdparty/llama-cpp-vocab. No model weights: pair
 * them with a random model of the same vocabulary size (128,256 or 32,000) when a test needs generation.
 *
 * <pre>{@code
 * @TempDir Path dir;
 * try (TextTokenizer tokenizer = TextTokenizer.load(RealTokenizers.llama3(dir))) { ... }
 * }</pre>
 */
public final class RealTokenizers {

    public static final String VOCAB_DIR = "models/thirdparty/llama-cpp-vocab/";

    private RealTokenizers() {
    }

    /** Llama 3's tokenizer (128,256 tokens, BOS {@code <|begin_of_text|>} added, EOS {@code <|end_of_text|>}), written into {@code dir}. */
    public static Path llama3(Path dir) {
        return write("ggml-vocab-llama-bpe.gguf", dir);
    }

    /** Llama 2's SentencePiece tokenizer (32,000 pieces, byte fallback, BOS {@code <s>} added), written into {@code dir}. */
    public static Path llama2(Path dir) {
        return write("ggml-vocab-llama-spm.gguf", dir);
    }

    /** The GGUF file itself, e.g. {@code ggml-vocab-llama-bpe.gguf}. */
    public static Path gguf(String name) {
        return SharedFiles.get(VOCAB_DIR + name);
    }

    /** The test strings of a vocabulary, e.g. {@code ggml-vocab-llama-bpe.gguf} (its .inp file). */
    public static java.util.List<String> inputs(String gguf) {
        try {
            return inputs(gguf(gguf + ".inp"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** llama.cpp's .inp format: strings separated by "\n__ggml_vocab_test__\n", with an empty piece after the last. */
    public static java.util.List<String> inputs(Path file) throws IOException {
        String all = java.nio.file.Files.readString(file, java.nio.charset.StandardCharsets.UTF_8);
        java.util.List<String> texts = new java.util.ArrayList<>(java.util.Arrays.asList(all.split("\n__ggml_vocab_test__\n", -1)));
        if (!texts.remove(texts.size() - 1).isEmpty()) {
            throw new IllegalStateException(file + " does not end with the separator");
        }
        return texts;
    }

    private static Path write(String name, Path dir) {
        try {
            return GgufVocabulary.read(gguf(name)).writeTokenizerFiles(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
