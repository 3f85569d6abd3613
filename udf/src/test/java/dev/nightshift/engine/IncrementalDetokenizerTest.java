package dev.nightshift.engine;

import dev.nightshift.RealTokenizers;
import dev.nightshift.SharedFiles;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Feeding tokens one at a time gives exactly the text of decoding them all, with real tokenizers: stories260K's
 * 512-piece SentencePiece vocabulary (byte fallback spells most non-ASCII characters over several byte tokens),
 * Llama 2's SentencePiece vocabulary and Llama 3's byte-level BPE. No ONNX Runtime session runs.
 */
class IncrementalDetokenizerTest {

    @TempDir
    static Path work;
    static TextTokenizer stories;
    static TextTokenizer llama2;
    static TextTokenizer llama3;

    static final List<String> TEXTS = List.of(
            "Once upon a time, there was a little girl named Lily.",
            " leading space and  two spaces",
            "Hello\nworld\n\n  indented\ttab",
            "naïve café, résumé, Ærøskøbing, Ångström",
            "日本語のテキストと中文字符",
            "emoji 🙂🎉 and 👩‍👩‍👧 family, flag 🇫🇷",
            "mixed: a中b🙂c é",
            "Ελληνικά και русский текст",
            "ends with CJK 字",
            "🙂",
            "x",
            "  ",
            "price: 100€ ± 5%, math: ∑ ∫ √2");

    @BeforeAll
    static void load() throws Exception {
        Path dir = work.resolve("stories");
        ModelConverter.convert(SharedFiles.stories260K(), dir, ConversionOptions.of(Precision.FP32), SharedFiles.tok512(),
                ConversionListener.NONE);
        stories = TextTokenizer.load(dir);
        llama2 = TextTokenizer.load(RealTokenizers.llama2(work.resolve("llama2")));
        llama3 = TextTokenizer.load(RealTokenizers.llama3(work.resolve("llama3")));
    }

    @AfterAll
    static void close() {
        for (TextTokenizer tokenizer : new TextTokenizer[]{stories, llama2, llama3}) {
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
    }

    static int[] ids(TextTokenizer tokenizer, String text) {
        return Arrays.stream(tokenizer.encode(text)).mapToInt(id -> (int) id).toArray();
    }

    /** Feeds every token and checks each step against decoding the whole prefix; returns the final text. */
    static String feed(TextTokenizer tokenizer, int[] ids) {
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer);
        StringBuilder streamed = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            String added = detokenizer.add(ids[i]);
            streamed.append(added);
            assertFalse(added.contains("\uFFFD"), "step " + i + " emitted U+FFFD: " + added);
            String text = detokenizer.text().toString();
            assertTrue(tokenizer.decode(ids).startsWith(text), "after token " + i + ": " + text);
            // decodeComplete (the text of a row that stops here) holds back exactly what the detokenizer holds back,
            // including a byte-level token like " \xC3" that carries text before its incomplete bytes.
            String complete = tokenizer.decodeComplete(Arrays.copyOf(ids, i + 1)).text();
            assertFalse(complete.contains("\uFFFD"), complete);
            assertEquals(complete, text, "after token " + i + " of " + Arrays.toString(ids));
        }
        assertEquals(streamed.toString(), detokenizer.text().toString());
        assertEquals(ids.length, detokenizer.tokens());
        return streamed.toString();
    }

    private static void roundTrips(TextTokenizer tokenizer) {
        for (String text : TEXTS) {
            int[] ids = ids(tokenizer, text);
            String whole = tokenizer.decode(ids);
            assertFalse(whole.contains("\uFFFD"), "complete text decodes without U+FFFD: " + whole);
            assertEquals(whole, feed(tokenizer, ids), "token by token: " + text);
        }
    }

    @Test
    void stories260KTokenByTokenEqualsTheWholeDecode() {
        roundTrips(stories);
    }

    @Test
    void llama2TokenByTokenEqualsTheWholeDecode() {
        roundTrips(llama2);
    }

    @Test
    void llama3TokenByTokenEqualsTheWholeDecode() {
        roundTrips(llama3);
    }

    @Test
    void aCharacterSplitAcrossTokensIsHeldBackUntilComplete() {
        for (TextTokenizer tokenizer : new TextTokenizer[]{stories, llama2, llama3}) {
            int[] ids = ids(tokenizer, "a🙂");
            IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer);
            int held = 0;
            for (int id : ids) {
                String added = detokenizer.add(id);
                if (added.isEmpty()) {
                    held++;
                } else {
                    assertFalse(added.contains("\uFFFD"));
                }
            }
            assertTrue(held > 0, "the emoji's four bytes span several tokens: " + Arrays.toString(ids));
            assertEquals(tokenizer.decode(ids), detokenizer.text().toString());
            assertTrue(detokenizer.text().toString().endsWith("🙂"));
        }
    }

    @Test
    void aTruncatedCharacterIsNeverEmitted() {
        for (TextTokenizer tokenizer : new TextTokenizer[]{stories, llama2, llama3}) {
            int[] ids = ids(tokenizer, "ok 字");
            IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer);
            for (int id : Arrays.copyOf(ids, ids.length - 1)) {
                detokenizer.add(id);
            }
            String text = detokenizer.text().toString();
            assertFalse(text.contains("\uFFFD"), text);
            assertEquals(tokenizer.decodeComplete(Arrays.copyOf(ids, ids.length - 1)).text(), text);
        }
    }

    /**
     * The loop's windowed stop check (new text plus the last longest-stop - 1 characters) stops at the same token and
     * cuts at the same place as searching the whole decoded text at every step, as the loop did before.
     */
    @Test
    void stopStringsAcrossTokenBoundariesAreFoundAtTheSameTokenAsAWholeTextSearch() {
        String text = "Once upon a time there was a little girl. She saw 日本 and 🙂 then a big dog.";
        List<List<String>> stopSets = List.of(List.of("le gi"), List.of("e a"), List.of("本 a"), List.of("🙂 t"),
                List.of("dog.", "little"), List.of("xyz", "ittle girl. S"), List.of("."), List.of("never there"));
        for (TextTokenizer tokenizer : new TextTokenizer[]{stories, llama2, llama3}) {
            int[] ids = ids(tokenizer, text);
            for (List<String> stops : stopSets) {
                int expectedStep = -1;
                int expectedCut = -1;
                for (int i = 0; i < ids.length && expectedStep < 0; i++) {
                    int cut = GenerationLoop.firstStop(tokenizer.decode(Arrays.copyOf(ids, i + 1)), stops);
                    if (cut >= 0) {
                        expectedStep = i;
                        expectedCut = cut;
                    }
                }
                int longest = stops.stream().mapToInt(String::length).max().orElseThrow();
                IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer);
                int step = -1;
                int cut = -1;
                for (int i = 0; i < ids.length && step < 0; i++) {
                    int before = detokenizer.text().length();
                    if (!detokenizer.add(ids[i]).isEmpty()) {
                        cut = GenerationLoop.firstStop(detokenizer.text(), Math.max(0, before - (longest - 1)), stops);
                        step = cut >= 0 ? i : -1;
                    }
                }
                assertEquals(expectedStep, step, stops + " in " + Arrays.toString(ids));
                assertEquals(expectedCut, cut, stops.toString());
            }
            // "le gi" spans the tokens of " little" and " girl": no single token holds it.
            int[] spanning = ids(tokenizer, "a little girl");
            for (int id : spanning) {
                assertFalse(tokenizer.decode(new int[]{id}).contains("le gi"));
            }
            assertTrue(tokenizer.decode(spanning).contains("le gi"));
        }
    }
}
