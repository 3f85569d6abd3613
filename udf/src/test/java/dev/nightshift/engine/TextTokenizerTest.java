package dev.nightshift.engine;

import dev.nightshift.chat.ChatTemplate;
import dev.nightshift.chat.ChatMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nightshift.SharedFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Against the 32000-token LLaMA vocabulary of onnxruntime-genai's tiny Llama (tokenizer_config.json says
 * add_bos_token: true, bos "<s>" = 1, eos "</s>" = 2; byte fallback; "▁" prepended). The folder's README gives no
 * text-to-ids expectations; the ids below are the well-known LLaMA ones ("▁Hello" 15043, "▁world" 3186).
 */
class TextTokenizerTest {

    private static final long BOS = 1;
    private static TextTokenizer llama;

    private static Path thirdParty(String folder) {
        return SharedFiles.get("models/thirdparty/" + folder);
    }

    @BeforeAll
    static void load() throws IOException {
        llama = TextTokenizer.load(thirdParty("ortgenai-tiny-random-LlamaForCausalLM-fp32"));
    }

    @AfterAll
    static void close() {
        llama.close();
    }

    @Test
    void specialTokensComeFromTheTokenizerConfig() {
        assertTrue(llama.addsBos());
        assertEquals("<s>", llama.bosToken().orElseThrow());
        assertEquals("</s>", llama.eosToken().orElseThrow());
        assertEquals(OptionalInt.of(1), llama.bosId());
        assertEquals(OptionalInt.of(2), llama.eosId());
        assertEquals(OptionalInt.of(2), llama.tokenId("</s>"));
        assertEquals(OptionalInt.of(0), llama.tokenId("<unk>"));
        assertEquals(OptionalInt.of(15043), llama.tokenId("Hello"));
        assertEquals(OptionalInt.empty(), llama.tokenId("Hello world"));
    }

    @Test
    void exactlyOneBos() {
        assertArrayEquals(new long[] {BOS, 15043, 3186}, llama.encode("Hello world"));
        // The text already starts with the BOS token: it is not added twice.
        assertArrayEquals(new long[] {BOS, 15043, 3186}, llama.encode("<s>Hello world"));
    }

    @Test
    void chatPromptGetsOneLeadingBos() throws IOException {
        ChatTemplate template = llama.chatTemplate().orElseThrow();
        String prompt = template.render(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"),
                ChatMessage.assistant("Hello."), ChatMessage.user("Bye")), true);
        assertTrue(prompt.startsWith("<s>[INST]"), prompt);
        long[] ids = llama.encode(prompt);
        assertEquals(BOS, ids[0]);
        assertTrue(ids[1] != BOS);
        // The Llama-2 template writes <s> before each user turn and </s> after each answer: specials, not text.
        assertEquals(2, count(ids, BOS));
        assertEquals(1, count(ids, 2));
        // Decoding drops them; "Hello. </s><s>[INST]" leaves the space before </s> and the "▁" of "▁[": two spaces.
        assertEquals("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello.  [INST] Bye [/INST]", llama.decode(ids));
    }

    @Test
    void roundTrip() {
        for (String text : List.of("Hello world", "Grüße, 世界! 😀 naïve café", "tabs\tand\nnewlines\r\n  spaces",
                "x = [1, 2]; // code {braces} and \\backslashes\\")) {
            long[] ids = llama.encode(text);
            assertEquals(BOS, ids[0]);
            assertEquals(text, llama.decode(ids), text);
        }
        int[] narrow = {1, 15043, 3186, 2};
        assertEquals("Hello world", llama.decode(narrow));
    }

    @Test
    void longInputIsNotTruncated() {
        // DJL's default would cut this to 512 tokens without a word.
        StringBuilder text = new StringBuilder();
        for (int i = 0; text.length() < 200_000; i++) {
            text.append("Sentence number ").append(i).append(" says something. ");
        }
        long[] ids = llama.encode(text.toString());
        assertTrue(ids.length > 40_000, "only " + ids.length + " ids");
        assertEquals(text.toString(), llama.decode(ids));
    }

    @Test
    void emptyText() {
        assertArrayEquals(new long[] {BOS}, llama.encode(""));
        assertEquals("", llama.decode(new long[] {BOS}));
        assertEquals("", llama.decode(new long[0]));
    }

    @Test
    void nulBytesEncodeAsBytes() {
        // <0x00> is id 3 (byte fallback); NUL survives the round trip through JNI's modified UTF-8.
        assertArrayEquals(new long[] {BOS, 263, 3, 29890}, llama.encode("a\0b"));
        assertEquals("a\0b", llama.decode(llama.encode("a\0b")));
    }

    @Test
    void loneSurrogatesBecomeReplacementCharacters() {
        assertArrayEquals(llama.encode("x\uFFFDy"), llama.encode("x\uD800y"));
        assertEquals("x\uFFFDy", llama.decode(llama.encode("x\uD800y")));
        // A lone surrogate must not garble the rest of the text (emoji are surrogate pairs in Java).
        assertEquals("\uFFFD \uD83D\uDE00 \uFFFD", llama.decode(llama.encode("\uDC00 \uD83D\uDE00 \uD83D")));
        String clean = "pairs 😀 only";
        assertSame(clean, TextTokenizer.wellFormed(clean));
    }

    @Test
    void missingTokenizerJson(@TempDir Path folder) throws IOException {
        Files.writeString(folder.resolve("tokenizer_config.json"), "{}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TextTokenizer.load(folder));
        assertEquals("model folder " + folder + " has no tokenizer.json; run `nightshift convert` or copy the "
                + "tokenizer files", e.getMessage());
    }

    @Test
    void noBosWhenThePostProcessorAddsNone() throws IOException {
        // GPT-2: bos_token <|endoftext|> is known, but neither add_bos_token nor the post-processor adds it.
        try (TextTokenizer gpt2 = TextTokenizer.load(thirdParty("ortgenai-tiny-random-gpt2-fp32"))) {
            assertFalse(gpt2.addsBos());
            assertEquals(OptionalInt.of(50256), gpt2.bosId());
            assertArrayEquals(new long[] {15496, 995}, gpt2.encode("Hello world"));
            assertTrue(gpt2.chatTemplate().isEmpty());
        }
    }

    @Test
    void addBosTokenFalseInTheConfigWins(@TempDir Path folder) throws IOException {
        Path source = thirdParty("ortgenai-tiny-random-LlamaForCausalLM-fp32");
        Files.copy(source.resolve("tokenizer.json"), folder.resolve("tokenizer.json"));
        Files.writeString(folder.resolve("tokenizer_config.json"), "{\"add_bos_token\": false, \"bos_token\": \"<s>\"}");
        try (TextTokenizer tokenizer = TextTokenizer.load(folder)) {
            assertFalse(tokenizer.addsBos());
            assertArrayEquals(new long[] {15043, 3186}, tokenizer.encode("Hello world"));
        }
        // Without the flag, the post-processor (TemplateProcessing "<s> $A") decides: BOS.
        Files.writeString(folder.resolve("tokenizer_config.json"), "{\"bos_token\": \"<s>\"}");
        try (TextTokenizer tokenizer = TextTokenizer.load(folder)) {
            assertTrue(tokenizer.addsBos());
        }
    }

    @Test
    void sharedBetweenThreadsThenClosed() throws Exception {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            texts.add("Thread-safe text number " + i + " with ünïcödé and 😀".repeat(1 + i % 5));
        }
        List<long[]> expected = texts.stream().map(llama::encode).toList();
        try (TextTokenizer shared = TextTokenizer.load(thirdParty("ortgenai-tiny-random-LlamaForCausalLM-fp32"))) {
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<Boolean>> results = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    results.add(pool.submit(() -> {
                        for (int round = 0; round < 20; round++) {
                            for (int i = 0; i < texts.size(); i++) {
                                long[] ids = shared.encode(texts.get(i));
                                if (!java.util.Arrays.equals(expected.get(i), ids) || !texts.get(i).equals(shared.decode(ids))) {
                                    return false;
                                }
                            }
                        }
                        return true;
                    }));
                }
                for (Future<Boolean> result : results) {
                    assertTrue(result.get());
                }
            } finally {
                pool.shutdown();
            }
            shared.close();
            assertThrows(IllegalStateException.class, () -> shared.encode("x"));
        }
    }

    private static int count(long[] ids, long id) {
        int n = 0;
        for (long x : ids) {
            n += x == id ? 1 : 0;
        }
        return n;
    }
}
