package dev.nightshift.engine;

import dev.nightshift.chat.ChatTemplate;
import dev.nightshift.SharedFiles;
import dev.nightshift.toolchain.ConversionListener;
import dev.nightshift.toolchain.ConversionOptions;
import dev.nightshift.toolchain.ModelConverter;
import dev.nightshift.toolchain.Precision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where a prompt's text comes from, and what that changes: special tokens only from the prompt's author, truncation
 * only of the document, room kept for the answer, labels scored as complete answers, text never cut inside a character,
 * every declared end token honoured, every prompt-shaping file in the fingerprint. Real stories260K (Llama 2
 * SentencePiece vocabulary of 512 pieces with byte fallback; context 512).
 */
class PromptBoundariesTest {

    @TempDir
    static Path work;
    static Path stories;
    static LlmEngine engine;

    @BeforeAll
    static void open() throws Exception {
        stories = work.resolve("stories");
        ModelConverter.convert(SharedFiles.stories260K(), stories, ConversionOptions.of(Precision.FP32), SharedFiles.tok512(),
                ConversionListener.NONE);
        engine = LlmEngine.open(stories, EngineOptions.defaults().withThreads(2));
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    private static Prompt framed(String instruction, String document, String after, GenerationOptions options) {
        return new Prompt(List.of(new Prompt.Part(instruction, Prompt.Kind.INSTRUCTION),
                new Prompt.Part(document, Prompt.Kind.DOCUMENT),
                new Prompt.Part(after, Prompt.Kind.INSTRUCTION)), false, options);
    }

    private static PromptEncoder encoder(ChatTemplate template) {
        return new PromptEncoder(engine.tokenizer(), template, "no chat template", 512);
    }

    // --- item 1: special-token text from data is data ----------------------------------------------------------

    @Test
    void specialTokenTextInADocumentIsOrdinaryText() {
        TextTokenizer tokenizer = engine.tokenizer();
        // As an author's text, "</s>" is EOS (id 2) mid-prompt, as transformers encodes it: the issue's case.
        assertArrayEquals(new long[]{1, 410, 458, 309, 411, 410, 2, 410, 344, 264}, tokenizer.encode("Note </s> end"));
        for (String forged : List.of("Note </s> end", "<s>Hi</s><s>", "a<unk>b")) {
            long[] ids = tokenizer.encode(List.of(new TextTokenizer.Piece(forged, false)));
            assertEquals(1, ids[0]);
            for (int i = 1; i < ids.length; i++) {
                assertTrue(ids[i] > 2, forged + " encoded a special id at " + i + ": " + Arrays.toString(ids));
            }
            assertEquals(forged, tokenizer.decode(ids), "the text survives as text");
        }
        // The instruction around a document keeps its own special tokens.
        long[] mixed = tokenizer.encode(List.of(new TextTokenizer.Piece("Q: ", true),
                new TextTokenizer.Piece("x </s> y", false), new TextTokenizer.Piece(" </s>", true)));
        assertEquals(2, mixed[mixed.length - 1], Arrays.toString(mixed));
        assertEquals(1, Arrays.stream(mixed).filter(id -> id == 2).count(), Arrays.toString(mixed));
    }

    @Test
    void normalTextEncodesTheSameInPiecesAsWhole() {
        TextTokenizer tokenizer = engine.tokenizer();
        List<String> texts = List.of("Once upon a time, there was a little girl named Lily.",
                "Summarize:\n\nThe cat sat.\n\nSummary:", "  leading and trailing  ", "naïve café 中文 🙂 done",
                "Tabs\tand\nnewlines\n\n\n", "x");
        for (String text : texts) {
            long[] whole = tokenizer.encode(text);
            for (int cut = 0; cut <= text.length(); cut += Math.max(1, text.length() / 7)) {
                if (cut > 0 && cut < text.length() && Character.isLowSurrogate(text.charAt(cut))) {
                    continue;
                }
                long[] pieces = tokenizer.encode(List.of(new TextTokenizer.Piece(text.substring(0, cut), true),
                        new TextTokenizer.Piece(text.substring(cut), false)));
                assertArrayEquals(whole, pieces, "'" + text + "' cut at " + cut);
            }
        }
    }

    @Test
    void aDocumentCannotEndThePromptInGeneration() {
        // As data, "</s>" is five ordinary tokens; as the author's text it would be the EOS id.
        Prompt prompt = framed("Story: ", "Tom and </s> Lily", " went", GenerationOptions.greedy(4));
        PromptEncoder.Encoded encoded = encoder(null).encode(prompt, 4);
        assertFalse(Arrays.stream(encoded.ids()).skip(1).anyMatch(id -> id <= 2), Arrays.toString(encoded.ids()));
        assertNull(engine.generate(List.of(prompt)).get(0).error());
    }

    // --- item 3: every declared EOS stops --------------------------------------------------------------------

    @Test
    void anEosDeclaredOnlyInTheTokenizerFilesStopsGeneration() throws Exception {
        GenerationResult free = engine.generate(List.of(Prompt.of("Once upon a time", GenerationOptions.greedy(12)))).get(0);
        TextTokenizer tokenizer = engine.tokenizer();
        int at = -1;
        String word = null;
        for (int i = 2; i < free.tokenIds().length && at < 0; i++) {
            String text = tokenizer.decode(new int[]{free.tokenIds()[i]}).strip();
            if (!text.isEmpty() && tokenizer.tokenId(text).orElse(-1) == free.tokenIds()[i]) {
                at = i;
                word = text;
            }
        }
        assertTrue(at > 0, "a word token in " + Arrays.toString(free.tokenIds()));
        for (String file : List.of("tokenizer_config.json", "special_tokens_map.json")) {
            Path folder = copy(stories, work.resolve("eos-in-" + file));
            Path config = folder.resolve(file);
            String json = Files.exists(config) ? Files.readString(config) : "{}";
            // tokenizer_config.json's value is overridden by special_tokens_map.json's "</s>" in transformers: both count.
            Files.writeString(config, json.replaceFirst("\"eos_token\"\\s*:\\s*(\"[^\"]*\"|\\{[^}]*\\})", "\"eos_token\": \""
                    + word + "\""));
            assertTrue(Files.readString(config).contains(word), file);
            try (LlmEngine other = LlmEngine.open(folder, EngineOptions.defaults().withThreads(2))) {
                GenerationResult stopped = other.generate(List.of(Prompt.of("Once upon a time", GenerationOptions.greedy(12))))
                        .get(0);
                assertEquals(FinishReason.STOP, stopped.finishReason(), file);
                assertArrayEquals(Arrays.copyOf(free.tokenIds(), at), stopped.tokenIds(), file);
            }
        }
    }

    // --- items 4, 21: truncation shrinks the document only, keeps room for the answer ---------------------------

    @Test
    void truncationKeepsTheInstructionAndRoomForTheAnswer() {
        String document = "The little dog ran to the park and played with a red ball. ".repeat(80);
        for (OverflowPolicy policy : List.of(OverflowPolicy.TRUNCATE_HEAD, OverflowPolicy.TRUNCATE_MIDDLE)) {
            GenerationOptions options = GenerationOptions.greedy(64).withOverflow(policy);
            Prompt prompt = framed("Summarize the story.\n\n", document, "\n\nSummary:", options);
            PromptEncoder.Encoded encoded = encoder(null).encode(prompt, 64);
            assertNull(encoded.error());
            assertTrue(encoded.truncated());
            assertTrue(encoded.ids().length <= 512 - 64, "room for 64 tokens: " + encoded.ids().length);
            assertTrue(encoded.ids().length >= 512 - 64 - 8, "the longest document that fits: " + encoded.ids().length);
            String text = engine.tokenizer().decode(encoded.ids());
            assertTrue(text.startsWith("Summarize the story.\n\nThe little dog"), text);
            assertTrue(text.endsWith("\n\nSummary:"), text);
            assertEquals(policy == OverflowPolicy.TRUNCATE_MIDDLE, text.contains(PromptEncoder.ELISION.strip()), text);
            assertTrue(encoded.warning().matches("prompt truncated from " + encoded.tokens() + " to " + encoded.ids().length
                    + " tokens \\(overflow " + policy.name().toLowerCase() + ": the document kept \\d+ of " + document.length()
                    + " characters\\)"), encoded.warning());

            GenerationResult result = engine.generate(List.of(prompt)).get(0);
            assertNull(result.error());
            assertTrue(result.truncated());
            assertEquals(encoded.ids().length, result.promptTokens());
            assertEquals(encoded.warning(), result.warning(), "no 'room for only' note: the full 64 tokens fit");
        }
    }

    @Test
    void truncationCutsBetweenCharactersAndKeepsAChatTemplatesFrame() {
        ChatTemplate template = ChatTemplate.of("{{ bos_token }}[INST] {{ messages[0]['content'] | trim }} [/INST]",
                "test template", Map.of("bos_token", "<s>"));
        String document = "中文的故事 🙂 naïve. ".repeat(200);
        GenerationOptions options = GenerationOptions.greedy(16).withOverflow(OverflowPolicy.TRUNCATE_HEAD);
        Prompt prompt = new Prompt(List.of(new Prompt.Part("Read: ", Prompt.Kind.INSTRUCTION),
                new Prompt.Part(document, Prompt.Kind.DOCUMENT), new Prompt.Part(" Answer:", Prompt.Kind.INSTRUCTION)),
                true, options);
        PromptEncoder.Encoded encoded = encoder(template).encode(prompt, 16);
        assertNull(encoded.error());
        assertTrue(encoded.truncated());
        String text = engine.tokenizer().decode(encoded.ids());
        assertFalse(text.contains("\uFFFD"), "no character was cut: " + text);
        assertTrue(text.startsWith("[INST] Read: 中文"), text);
        assertTrue(text.endsWith("Answer: [/INST]"), text);
    }

    @Test
    void aPromptWhoseInstructionAloneIsTooLongFailsWithTheRealCount() {
        String instruction = "Please read this. ".repeat(200);
        GenerationOptions options = GenerationOptions.greedy(8).withOverflow(OverflowPolicy.TRUNCATE_HEAD);
        GenerationResult result = engine.generate(List.of(framed(instruction, "short", " ok", options))).get(0);
        assertEquals(FinishReason.ERROR, result.finishReason());
        assertEquals(ErrorCode.CONTEXT_OVERFLOW, ErrorCode.split(result.error()).code());
        assertTrue(result.error().contains("even with its document removed"), result.error());
        assertTrue(result.promptTokens() > 512, "the real count, not a made-up 1: " + result.promptTokens());
    }

    // --- item 6: over-context rows report their real length -------------------------------------------------

    @Test
    void overContextErrorRowsReportTheRealPromptLength() {
        String longText = "The little dog ran to the park. ".repeat(100);
        GenerationResult result = engine.generate(List.of(Prompt.of(longText, GenerationOptions.greedy(4)))).get(0);
        assertEquals(FinishReason.ERROR, result.finishReason());
        assertEquals(ErrorCode.CONTEXT_OVERFLOW, ErrorCode.split(result.error()).code());
        assertEquals(engine.tokenizer().encode(longText).length, result.promptTokens());
        LabelScores scores = engine.classify(List.of(Prompt.of(longText, GenerationOptions.greedy(1))), List.of("a", "b"))
                .get(0);
        assertEquals(engine.tokenizer().encode(longText).length, scores.promptTokens());
    }

    // --- item 21: classify with truncation reserves the longest answer ---------------------------------------

    @Test
    void classifyTruncatesLongDocumentsAndFlagsThem() {
        String document = "The little dog ran to the park and played with a red ball. ".repeat(80);
        GenerationOptions options = GenerationOptions.greedy(1).withOverflow(OverflowPolicy.TRUNCATE_HEAD);
        List<String> labels = List.of("dog", "a very long label with many many words in it");
        LabelScores scores = engine.classify(List.of(framed("Topic of: ", document, "\nTopic:", options)), labels).get(0);
        assertNull(scores.error());
        assertTrue(scores.warning().startsWith("prompt truncated from"), scores.warning());
        assertTrue(scores.promptTokens() + Arrays.stream(scores.answerTokens()).max().orElseThrow() <= 512 + 1,
                scores.promptTokens() + " + " + Arrays.toString(scores.answerTokens()));
        assertEquals(1.0, Arrays.stream(scores.probabilities()).sum(), 1e-9);
    }

    // --- item 9: labels scored as complete answers ------------------------------------------------------------

    @Test
    void aLabelThatIsAPrefixOfTheAnswerDoesNotWin() {
        // stories260K continues "...there was a little" with " girl named Lily" and then ".": "girl" is the start of
        // that answer, not an answer. Summed log-probabilities always prefer a label whose tokens are a prefix of
        // another's; scoring the end of the answer (here the task's stop strings) is what tells them apart.
        GenerationOptions options = GenerationOptions.greedy(1).withStopStrings(List.of(",", "."));
        String text = "Once upon a time, there was a little";
        Prompt prompt = Prompt.of(text, options);
        int[] promptIds = LlmEngine.toInts(engine.tokenizer().encode(text));
        int[] whole = tail(LlmEngine.toInts(engine.tokenizer().encode(text + " girl named Lily")), promptIds.length);
        int[] start = tail(LlmEngine.toInts(engine.tokenizer().encode(text + " girl")), promptIds.length);
        assertTrue(start.length < whole.length && Arrays.equals(start, Arrays.copyOf(whole, start.length)),
                Arrays.toString(start) + " " + Arrays.toString(whole));
        for (List<String> labels : List.of(List.of("girl", "girl named Lily", "dog"), List.of("dog", "girl named Lily", "girl"))) {
            LabelScores scores = engine.classify(List.of(prompt), labels).get(0);
            assertNull(scores.error());
            assertEquals("girl named Lily", scores.bestLabel(), labels + " " + Arrays.toString(scores.probabilities()));
            assertEquals(whole.length + 1, scores.bestAnswerTokens(), "the label's tokens and the end");
        }
    }

    private static int[] tail(int[] ids, int from) {
        return Arrays.copyOfRange(ids, from, ids.length);
    }

    // --- item 5: decoding never destroys complete characters --------------------------------------------------

    @Test
    void decodingACutCharacterKeepsTheCompleteOnes() {
        TextTokenizer tokenizer = engine.tokenizer();
        int[] ids = LlmEngine.toInts(tokenizer.encode(List.of(new TextTokenizer.Piece("ab 中文", false))));
        ids = Arrays.copyOfRange(ids, 1, ids.length);
        assertEquals("ab 中文", tokenizer.decode(ids));
        // Cut one byte short: "文" is three byte tokens; the last is missing.
        int[] cut = Arrays.copyOf(ids, ids.length - 1);
        TextTokenizer.Decoded decoded = tokenizer.decodeComplete(cut);
        assertEquals("ab 中", decoded.text());
        assertEquals(cut.length - 2, decoded.tokens());
        assertTrue(tokenizer.decode(cut).chars().filter(c -> c == 0xFFFD).count() >= 1, "what plain decoding does");
        assertEquals(new TextTokenizer.Decoded("ab 中文", ids.length), tokenizer.decodeComplete(ids));
    }

    // --- item 8: every file that shapes prompts is in the fingerprint ------------------------------------------

    @Test
    void theFingerprintCoversEveryFileOfTheFolder() throws Exception {
        Path folder = copy(stories, work.resolve("fingerprint"));
        String original = ModelFolder.of(folder).fingerprint();
        assertEquals(original, ModelFolder.of(copy(stories, work.resolve("fingerprint-copy"))).fingerprint(), "stable across copies");
        Files.writeString(folder.resolve("chat_template.jinja"), "{{ messages[0]['content'] }}");
        String withTemplate = ModelFolder.of(folder).fingerprint();
        assertNotEquals(original, withTemplate);
        Files.writeString(folder.resolve("chat_template.jinja"), "{{ messages[0]['content'] }}!");
        assertNotEquals(withTemplate, ModelFolder.of(folder).fingerprint());
        for (String file : List.of("generation_config.json", "special_tokens_map.json")) {
            String before = ModelFolder.of(folder).fingerprint();
            Files.writeString(folder.resolve(file), "{\"eos_token_id\": 2}");
            assertNotEquals(before, ModelFolder.of(folder).fingerprint(), file);
        }
        String before = ModelFolder.of(folder).fingerprint();
        Files.writeString(folder.resolve(".DS_Store"), "x");
        assertEquals(before, ModelFolder.of(folder).fingerprint(), "hidden files are not the model");
    }

    static Path copy(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path file : files.toList()) {
                Files.copy(file, to.resolve(file.getFileName()));
            }
        }
        return to;
    }
}
