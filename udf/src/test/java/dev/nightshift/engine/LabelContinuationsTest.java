package dev.nightshift.engine;

import dev.nightshift.RealTokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * Label ids after a prompt, reused across rows that end alike, equal the ids of encoding each (prompt, label) in full,
 * on the real Llama 2 and Llama 3 tokenizers, for llama.cpp's 46 tokenizer test strings as documents in instruction
 * prompts, completion prompts that end in the document, and chat-like prompts that end in special tokens.
 */
class LabelContinuationsTest {

    private static final List<String> ANSWERS = List.of(" World", " Sci/Tech", " Sci", "Sports", " 日本語", "\n",
            " don't", "  two spaces", " Sci-Fi/Fantasy (and more)");

    @TempDir
    Path dir;

    @Test
    void reusedIdsEqualFullEncodingOnRealTokenizers() throws Exception {
        for (String vocab : List.of("llama2", "llama3")) {
            Path folder = Files.createDirectories(dir.resolve(vocab));
            if (vocab.equals("llama2")) {
                RealTokenizers.llama2(folder);
            } else {
                RealTokenizers.llama3(folder);
            }
            List<String> documents = RealTokenizers.inputs(vocab.equals("llama2") ? "ggml-vocab-llama-spm.gguf"
                    : "ggml-vocab-llama-bpe.gguf");
            try (TextTokenizer tokenizer = TextTokenizer.load(folder)) {
                LabelContinuations cached = new LabelContinuations(tokenizer);
                LabelContinuations exact = new LabelContinuations(tokenizer);
                String special = vocab.equals("llama2") ? "</s>" : "<|eot_id|>";
                int prompts = 0;
                for (String document : documents) {
                    List<List<TextTokenizer.Piece>> shapes = List.of(
                            List.of(trusted("Classify the following text as one of: World, Sci/Tech.\n\n"),
                                    untrusted(document), trusted("\n\nAnswer:")),
                            List.of(trusted("The topic of "), untrusted(document)),
                            List.of(trusted("Text: "), untrusted(document), trusted(special + "assistant\n\n")));
                    for (List<TextTokenizer.Piece> pieces : shapes) {
                        int[] ids = LlmEngine.toInts(tokenizer.encode(pieces));
                        for (String answer : ANSWERS) {
                            assertArrayEquals(exact.exactly(ids, pieces, answer), cached.after(ids, pieces, answer),
                                    vocab + ": '" + answer + "' after " + pieces);
                        }
                        prompts++;
                    }
                }
                // the instruction prompts all end alike: their labels were encoded once, not once per row
                long fullEncodings = cached.encoded();
                assertEquals(prompts * ANSWERS.size(), exact.encoded());
                System.out.printf("%s: %d prompts x %d answers encoded %d times in full%n", vocab, prompts,
                        ANSWERS.size(), fullEncodings);
                List<TextTokenizer.Piece> another = List.of(trusted("Classify the following text as one of: World, "
                        + "Sci/Tech.\n\n"), untrusted("A document never seen before."), trusted("\n\nAnswer:"));
                long before = cached.encoded();
                for (String answer : ANSWERS) {
                    cached.after(LlmEngine.toInts(tokenizer.encode(another)), another, answer);
                }
                assertEquals(before, cached.encoded(), "a new row of the same task reuses its labels' ids");
            }
        }
    }

    @Test
    void theKeyIsTheLastWordWithItsWhiteSpace() {
        String a = LabelContinuations.key(List.of(trusted("Classify."), untrusted("one document"), trusted("\n\nAnswer:")), " X");
        String b = LabelContinuations.key(List.of(trusted("Classify."), untrusted("another text"), trusted("\n\nAnswer:")), " X");
        assertEquals(a, b, "rows of a task share the key");
        assertNotEquals(a, LabelContinuations.key(List.of(untrusted("doc"), untrusted("\n\nAnswer:")), " X"),
                "trust is part of it");
        assertNotEquals(LabelContinuations.key(List.of(trusted("Answer:")), " X"),
                LabelContinuations.key(List.of(trusted("x Answer:")), " X"), "a one-word prompt is keyed whole");
        assertEquals(LabelContinuations.key(List.of(trusted("doc one. Answer: ")), "X"),
                LabelContinuations.key(List.of(trusted("doc two. Answer: ")), "X"),
                "a prompt that ends in white space: its last word and the white space around it");
        assertNotEquals(LabelContinuations.key(List.of(trusted("doc one. Answer: ")), "X"),
                LabelContinuations.key(List.of(trusted("doc one. Answer:")), "X"));
    }

    private static TextTokenizer.Piece trusted(String text) {
        return new TextTokenizer.Piece(text, true);
    }

    private static TextTokenizer.Piece untrusted(String text) {
        return new TextTokenizer.Piece(text, false);
    }
}
