package dev.nightshift.toolchain;

import dev.nightshift.RealTokenizers;
import dev.nightshift.engine.TextTokenizer;
import dev.nightshift.model.LlamaConfig;
import dev.nightshift.model.RandomWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** llama.cpp's own tokenizer test cases (test-tokenizer-0) through our converted tokenizer.json and TextTokenizer. */
class GgufVocabularyTest {

    @TempDir
    Path dir;

    @Test
    void llama3EncodesEveryLlamaCppCaseExactly() throws IOException {
        assertEncodesAllCases("ggml-vocab-llama-bpe.gguf", RealTokenizers.llama3(dir), 128000);
    }

    @Test
    void llama2EncodesEveryLlamaCppCaseExactly() throws IOException {
        assertEncodesAllCases("ggml-vocab-llama-spm.gguf", RealTokenizers.llama2(dir), 1);
    }

    @Test
    void llama3DecodesEveryCaseBackToItsText() throws IOException {
        List<String> texts = inputs(RealTokenizers.gguf("ggml-vocab-llama-bpe.gguf.inp"));
        try (TextTokenizer tokenizer = TextTokenizer.load(RealTokenizers.llama3(dir))) {
            for (String text : texts) {
                assertEquals(text, tokenizer.decode(tokenizer.encode(text)), quote(text));
            }
            // control tokens are special added tokens: their text is one token, left out when decoding
            assertEquals(128009, tokenizer.tokenId("<|eot_id|>").orElseThrow());
            long[] ids = tokenizer.encode("Hi<|eot_id|>");
            assertEquals(128009, ids[ids.length - 1]);
            assertEquals("Hi", tokenizer.decode(ids));
            assertEquals("<|end_of_text|>", tokenizer.eosToken().orElseThrow());
        }
    }

    @Test
    void convertWritesTheGgufTokenizerBesideTheModel() throws Exception {
        LlamaConfig shape = new LlamaConfig(32, 64, 1, 2, 1, 16, 32000, 128, 1e-5f, 10000, null, false, true, 1, new int[] {2});
        Path model = dir.resolve("model");
        ModelConverter.convert(new RandomWeights(shape, 1), model, ConversionOptions.of(Precision.FP32),
                RealTokenizers.gguf("ggml-vocab-llama-spm.gguf"), null);
        try (TextTokenizer tokenizer = TextTokenizer.load(model)) {
            assertEquals(List.of(1L, 15043L, 3186L), Arrays.stream(tokenizer.encode("Hello world")).boxed().toList());
        }
        assertTrue(Files.readString(model.resolve("tokenizer_config.json")).contains("\"model_max_length\" : 128"));

        LlamaConfig wrongVocab = new LlamaConfig(32, 64, 1, 2, 1, 16, 300, 128, 1e-5f, 10000, null, false, true, 1, new int[] {2});
        IOException mismatch = assertThrows(IOException.class, () -> ModelConverter.convert(new RandomWeights(wrongVocab, 1),
                dir.resolve("other"), ConversionOptions.of(Precision.FP32), RealTokenizers.gguf("ggml-vocab-llama-spm.gguf"), null));
        assertTrue(mismatch.getMessage().contains("has 32000 tokens but the checkpoint's vocabulary has 300"), mismatch.getMessage());
    }

    @Test
    void refusesWhatItCannotConvertFaithfully() throws IOException {
        Path other = Files.write(dir.resolve("qwen.gguf"), TinyGguf.bytes("gpt2", "qwen2"));
        IOException pre = assertThrows(IOException.class, () -> GgufVocabulary.read(other));
        assertTrue(pre.getMessage().contains("tokenizer.ggml.pre = qwen2 is not supported"), pre.getMessage());

        Path bert = Files.write(dir.resolve("bert.gguf"), TinyGguf.bytes("bert", "default"));
        IOException kind = assertThrows(IOException.class, () -> GgufVocabulary.read(bert));
        assertTrue(kind.getMessage().contains("tokenizer.ggml.model = bert is not supported"), kind.getMessage());

        byte[] whole = TinyGguf.bytes("gpt2", "llama-bpe");
        Path cut = Files.write(dir.resolve("cut.gguf"), Arrays.copyOf(whole, whole.length - 3));
        IOException truncated = assertThrows(IOException.class, () -> GgufMetadata.read(cut));
        assertTrue(truncated.getMessage().contains("is truncated"), truncated.getMessage());

        Path text = Files.writeString(dir.resolve("not.gguf"), "{\"model\": 1}");
        IOException magic = assertThrows(IOException.class, () -> GgufMetadata.read(text));
        assertTrue(magic.getMessage().contains("not a GGUF file"), magic.getMessage());
        assertTrue(GgufMetadata.isGguf(RealTokenizers.gguf("ggml-vocab-llama-spm.gguf")));
        assertEquals(false, GgufMetadata.isGguf(text));
    }

    /** A GGUF holding just a one-token vocabulary of the given kind and pre-tokenizer. */
    private static final class TinyGguf {
        static byte[] bytes(String model, String pre) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4096).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            b.put("GGUF".getBytes(StandardCharsets.US_ASCII)).putInt(3).putLong(0).putLong(4);
            string(b, "tokenizer.ggml.model");
            b.putInt(8);
            string(b, model);
            string(b, "tokenizer.ggml.pre");
            b.putInt(8);
            string(b, pre);
            string(b, "tokenizer.ggml.tokens");
            b.putInt(9).putInt(8).putLong(2);
            string(b, "a");
            string(b, "aa");
            string(b, "tokenizer.ggml.merges");
            b.putInt(9).putInt(8).putLong(1);
            string(b, "a a");
            out.write(b.array(), 0, b.position());
            return out.toByteArray();
        }

        private static void string(java.nio.ByteBuffer b, String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            b.putLong(bytes.length).put(bytes);
        }
    }

    private static void assertEncodesAllCases(String gguf, Path folder, int bos) throws IOException {
        List<String> texts = inputs(RealTokenizers.gguf(gguf + ".inp"));
        List<String> lines = Files.readAllLines(RealTokenizers.gguf(gguf + ".out"), StandardCharsets.UTF_8);
        assertEquals(46, texts.size());
        assertEquals(texts.size(), lines.size());
        List<String> failures = new ArrayList<>();
        try (TextTokenizer tokenizer = TextTokenizer.load(folder)) {
            assertTrue(tokenizer.addsBos());
            assertEquals(bos, tokenizer.bosId().orElseThrow());
            for (int i = 0; i < texts.size(); i++) {
                long[] ids = tokenizer.encode(texts.get(i));
                assertEquals(bos, ids[0], "case " + i + " starts with BOS");
                String actual = String.join(" ", Arrays.stream(ids).skip(1).mapToObj(Long::toString).toList());
                if (!lines.get(i).trim().equals(actual)) {
                    failures.add("case " + i + " " + quote(texts.get(i)) + ": expected [" + lines.get(i).trim() + "] got ["
                            + actual + "]");
                }
            }
        }
        assertEquals(List.of(), failures, failures.size() + " of 46 cases differ");
    }

    static List<String> inputs(Path file) throws IOException {
        return RealTokenizers.inputs(file);
    }

    private static String quote(String text) {
        return "\"" + text.replace("\n", "\\n").replace("\t", "\\t") + "\"";
    }
}
