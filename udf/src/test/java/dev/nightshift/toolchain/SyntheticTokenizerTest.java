package dev.nightshift.toolchain;

import dev.nightshift.engine.TextTokenizer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticTokenizerTest {

    @TempDir
    Path work;

    @ParameterizedTest
    @ValueSource(ints = {512, 32000, 128256})
    void anyVocabularySizeEncodesAndDecodes(int vocab) throws Exception {
        Llama2cTokenizer synthetic = SyntheticTokenizer.build(vocab);
        assertEquals(vocab, synthetic.vocabSize());
        TokenizerJsonWriter.Conversion conversion = TokenizerJsonWriter.write(synthetic, 2048, work);
        assertTrue(conversion.tieRisks().isEmpty(), conversion.tieRisks().toString());
        try (TextTokenizer tokenizer = TextTokenizer.load(work)) {
            String text = "The patient report: the contract price was 42.5 EUR, señor — 見る";
            long[] ids = tokenizer.encode(text);
            assertEquals(text, tokenizer.decode(ids));
            String words = " the of and to the";
            assertTrue(tokenizer.encode(words).length < words.length() / 2, "common words merge into tokens");
            int[] random = new Random(1).ints(50, 3, vocab).toArray();
            assertFalse(tokenizer.decode(random).isEmpty());
        }
    }
}
