package dev.nightshift.engine;

import dev.nightshift.RealTokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Token bytes against the tokenizer's own decoding, on the real Llama 3 (byte-level BPE) and Llama 2 (SentencePiece
 * with byte fallback) vocabularies and llama.cpp's 46 test strings each.
 */
class TokenBytesTest {

    @TempDir
    Path dir;

    @Test
    void llama3BytesSpellWhatTheTokenizerDecodes() throws Exception {
        Path folder = RealTokenizers.llama3(dir);
        TokenBytes bytes = TokenBytes.of(folder, 128256);
        List<String> failures = new ArrayList<>();
        try (TextTokenizer tokenizer = TextTokenizer.load(folder)) {
            for (String text : RealTokenizers.inputs("ggml-vocab-llama-bpe.gguf")) {
                int[] ids = ints(tokenizer.encode(List.of(new TextTokenizer.Piece(text, false))));
                if (!bytes.text(ids).equals(tokenizer.decode(ids))) {
                    failures.add(text + " -> " + bytes.text(ids));
                }
            }
            // special tokens are never text
            assertNull(bytes.bytes(tokenizer.tokenId("<|eot_id|>").orElseThrow()));
            assertNull(bytes.bytes(tokenizer.tokenId("<|begin_of_text|>").orElseThrow()));
        }
        assertEquals(List.of(), failures);
        // a byte-level token can be part of a character: 'Ã' (U+00C3) is the byte C3, the first of "é" (C3 A9)
        assertEquals(0xC3, (int) TokenBytes.byteLevelAlphabet().get(0xC3));
        assertEquals(256, TokenBytes.byteLevelAlphabet().size());
        assertEquals(' ', (int) TokenBytes.byteLevelAlphabet().get(0x120)); // 'Ġ' is the space
    }

    @Test
    void llama2BytesSpellWhatTheTokenizerDecodesAfterItsLeadingSpace() throws Exception {
        Path folder = RealTokenizers.llama2(dir);
        TokenBytes bytes = TokenBytes.of(folder, 32000);
        List<String> failures = new ArrayList<>();
        try (TextTokenizer tokenizer = TextTokenizer.load(folder)) {
            for (String text : RealTokenizers.inputs("ggml-vocab-llama-spm.gguf")) {
                int[] ids = ints(tokenizer.encode(List.of(new TextTokenizer.Piece(text, false))));
                String decoded = tokenizer.decode(ids);
                String ours = bytes.text(ids);
                // SentencePiece prepends '▁' to the input and its decoder strips that one space from a whole output
                String expected = ours.startsWith(" ") ? ours.substring(1) : ours;
                if (!expected.equals(decoded)) {
                    failures.add(text + " -> " + ours + " vs " + decoded);
                }
            }
            assertNull(bytes.bytes(tokenizer.tokenId("</s>").orElseThrow()));
        }
        assertEquals(List.of(), failures);
        // byte fallback pieces are single bytes
        assertArrayEquals(new byte[]{(byte) 0xE2}, bytes.bytes(3 + 0xE2));
    }

    @Test
    void anUnknownDecoderIsRefusedByName() throws Exception {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\":{\"vocab\":{\"a\":0}},\"decoder\":{\"type\":\"WordPiece\"}}",
                StandardCharsets.UTF_8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TokenBytes.of(dir, 1));
        assertTrue(e.getMessage().contains("'WordPiece'"), e.getMessage());
    }

    private static int[] ints(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }
}
