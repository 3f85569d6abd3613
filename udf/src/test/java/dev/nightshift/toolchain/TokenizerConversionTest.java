package dev.nightshift.toolchain;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.SharedFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizerConversionTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path converted;

    private static Llama2cTokenizer tok512;
    private static Llama2cEncoder llama2c;
    private static TokenizerJsonWriter.Conversion conversion;
    private static HuggingFaceTokenizer hf;

    @BeforeAll
    static void convert() throws IOException {
        tok512 = Llama2cTokenizer.read(SharedFiles.tok512(), 512);
        llama2c = new Llama2cEncoder(tok512);
        conversion = TokenizerJsonWriter.write(tok512, 512, converted);
        hf = HuggingFaceTokenizer.newInstance(converted);
    }

    @AfterAll
    static void close() {
        if (hf != null) {
            hf.close();
        }
    }

    private static int[] hfEncode(String text, boolean bos) {
        return Arrays.stream(hf.encode(text, bos, false).getIds()).mapToInt(Math::toIntExact).toArray();
    }

    private static String hfDecode(int[] ids) {
        return hf.decode(Arrays.stream(ids).asLongStream().toArray(), true);
    }

    @Test
    void readsTok512() throws IOException {
        assertEquals(512, tok512.vocabSize());
        assertEquals(7, tok512.maxTokenLength());
        assertEquals("\n<s>\n", tok512.piece(1));
        assertEquals("<0x0A>", tok512.piece(13));
        assertEquals(" t", tok512.piece(259));
        assertEquals(" Lily", tok512.piece(317));
        assertEquals(-1.0f, tok512.score(260));
        assertEquals(tok512.pieces(), Llama2cTokenizer.read(SharedFiles.tok512()).pieces());
    }

    @Test
    void mergeRanksCannotDisagreeWithLlama2cOnTies() {
        assertEquals(List.of(), conversion.tieRisks());
        assertEquals(512, conversion.vocabSize());
        assertTrue(conversion.mergeCount() > 0);
    }

    @Test
    void writesLlama2Files() throws IOException {
        JsonNode tokenizer = JSON.readTree(converted.resolve("tokenizer.json").toFile());
        assertEquals(1, tokenizer.at("/model/vocab/<s>").asInt());
        assertEquals(259, tokenizer.at("/model/vocab/\u2581t").asInt());
        assertEquals(conversion.mergeCount(), tokenizer.at("/model/merges").size());
        JsonNode config = JSON.readTree(converted.resolve("tokenizer_config.json").toFile());
        assertTrue(config.get("add_bos_token").asBoolean());
        assertFalse(config.get("add_eos_token").asBoolean());
        assertEquals("<s>", config.get("bos_token").asText());
        assertEquals("</s>", config.get("eos_token").asText());
        assertEquals(512, config.get("model_max_length").asInt());
        JsonNode special = JSON.readTree(converted.resolve("special_tokens_map.json").toFile());
        assertEquals("<unk>", special.get("unk_token").asText());
        // DJL reads tokenizer_config.json only through this overload; its settings must not change the ids
        try (HuggingFaceTokenizer withConfig = HuggingFaceTokenizer.newInstance(converted,
                converted.resolve("tokenizer_config.json").toString(), null)) {
            String text = "Hi , there . It 's  me !";
            assertArrayEquals(llama2c.encode(text, true, false),
                    Arrays.stream(withConfig.encode(text).getIds()).mapToInt(Math::toIntExact).toArray());
            assertEquals(text, withConfig.decode(Arrays.stream(hfEncode(text, false)).asLongStream().toArray(), true));
        }
    }

    @Test
    void encodesReferencePromptsLikeLlama2c() throws IOException {
        for (JsonNode c : JSON.readTree(SharedFiles.storiesReference().toFile()).get("cases")) {
            String prompt = c.get("prompt").asText();
            int[] withBos = ints(c.get("prompt_ids"));
            int[] withoutBos = Arrays.copyOfRange(withBos, 1, withBos.length);
            assertArrayEquals(withBos, llama2c.encode(prompt, true, false), "llama2c port, prompt " + quote(prompt));
            assertArrayEquals(withoutBos, hfEncode(prompt, false), "HF, prompt " + quote(prompt));
            assertArrayEquals(withBos, hfEncode(prompt, true), "HF with special tokens, prompt " + quote(prompt));
        }
    }

    @Test
    void decodesReferenceOutputsLikeLlama2c() throws IOException {
        for (JsonNode c : JSON.readTree(SharedFiles.storiesReference().toFile()).get("cases")) {
            int[] all = ints(c.get("all_ids"));
            int[] afterBos = Arrays.copyOfRange(all, 1, all.length);
            String stdout = c.get("stdout_text").asText();
            assertEquals(stdout, llama2c.print(afterBos) + "\n");
            assertEquals(llama2c.decode(afterBos), hfDecode(afterBos));
        }
    }

    @Test
    void encodesVariedTextLikeLlama2cAndRoundTrips() throws IOException {
        List<String> texts = variedTexts();
        assertTrue(texts.size() >= 500, "only " + texts.size() + " texts");
        for (String text : texts) {
            int[] expected = llama2c.encode(text, false, false);
            assertArrayEquals(expected, hfEncode(text, false), () -> "encode " + quote(text));
            assertEquals(text, llama2c.decode(expected), () -> "llama2c decode " + quote(text));
            assertEquals(text, hfDecode(expected), () -> "HF decode " + quote(text));
        }
    }

    @Test
    void knownInputDifferencesFromLlama2c() {
        // HF matches special-token text before BPE; llama2.c spells it out
        assertArrayEquals(new int[] {1}, hfEncode("<s>", false));
        assertFalse(IntStream.of(llama2c.encode("<s>", false, false)).anyMatch(id -> id == 1));
        // HF reads '▁' as a space; llama2.c byte-encodes it
        assertArrayEquals(hfEncode("a b", false), hfEncode("a\u2581b", false));
        assertFalse(Arrays.equals(llama2c.encode("a\u2581b", false, false), hfEncode("a\u2581b", false)));
    }

    @Test
    void severalSplitsOfOnePieceNeedNoTieBreak(@TempDir Path dir) throws IOException {
        // "abca" splits as a+bca, ab+ca and abc+a; some pieces outscore their own parts
        Llama2cTokenizer tokenizer = synthetic(
                List.of("cab", "ab", "bca", "abca", "ca", " a", "bc", "cabc", "abc", " ab"),
                new float[] {-3, 0, -6, -1, -4, -9, -2, -8, -5, -7});
        TokenizerJsonWriter.Conversion result = TokenizerJsonWriter.write(tokenizer, 64, dir);
        assertEquals(List.of(), result.tieRisks());
        Llama2cEncoder reference = new Llama2cEncoder(tokenizer);
        try (HuggingFaceTokenizer converted = HuggingFaceTokenizer.newInstance(dir)) {
            List<String> texts = new ArrayList<>(List.of(""));
            for (int length = 1; length <= 7; length++) {
                List<String> longer = new ArrayList<>();
                for (String text : texts.subList(texts.size() - (int) Math.pow(4, length - 1), texts.size())) {
                    for (char c : "abc ".toCharArray()) {
                        longer.add(text + c);
                    }
                }
                texts.addAll(longer);
            }
            for (String text : texts) {
                assertArrayEquals(reference.encode(text, false, false),
                        Arrays.stream(converted.encode(text, false, false).getIds()).mapToInt(Math::toIntExact).toArray(),
                        () -> "encode " + quote(text));
            }
        }
    }

    @Test
    void differentPiecesWithEqualScoresAreReported(@TempDir Path dir) throws IOException {
        Llama2cTokenizer tokenizer = synthetic(List.of("bc", "ab"), new float[] {-1, -1});
        TokenizerJsonWriter.Conversion result = TokenizerJsonWriter.write(tokenizer, 64, dir);
        assertEquals(1, result.tieRisks().size());
        // llama2.c takes the leftmost pair (" ", "ab", "c"); the fixed rank prefers "bc"
        try (HuggingFaceTokenizer converted = HuggingFaceTokenizer.newInstance(dir)) {
            assertFalse(Arrays.equals(new Llama2cEncoder(tokenizer).encode("abc", false, false),
                    Arrays.stream(converted.encode("abc", false, false).getIds()).mapToInt(Math::toIntExact).toArray()));
        }
    }

    /** llama2.c's fixed layout (specials, 256 byte tokens), the given pieces, then single characters scored lowest. */
    private static Llama2cTokenizer synthetic(List<String> learned, float[] learnedScores) {
        List<String> pieces = new ArrayList<>(List.of("<unk>", "\n<s>\n", "\n</s>\n"));
        IntStream.range(0, 256).forEach(b -> pieces.add(String.format("<0x%02X>", b)));
        pieces.addAll(learned);
        pieces.addAll(List.of(" ", "a", "b", "c"));
        float[] scores = new float[pieces.size()];
        for (int i = 0; i < learned.size(); i++) {
            scores[259 + i] = learnedScores[i];
        }
        for (int i = 259 + learned.size(); i < scores.length; i++) {
            scores[i] = -100 - i;
        }
        return new Llama2cTokenizer(pieces, scores, 6);
    }

    @Test
    void truncatedOrCorruptFilesNameTheFileAndOffset(@TempDir Path dir) throws IOException {
        byte[] bytes = Files.readAllBytes(SharedFiles.tok512());
        Path cut = dir.resolve("cut.bin");

        Files.write(cut, Arrays.copyOf(bytes, 2));
        assertMessage(assertThrows(IOException.class, () -> Llama2cTokenizer.read(cut, 512)), cut, "byte offset 0", "truncated");

        Files.write(cut, Arrays.copyOf(bytes, 90)); // tokens 0-5 take 4 + 13 + 13 + 14 + 3 * 14 = 86 bytes
        assertMessage(assertThrows(IOException.class, () -> Llama2cTokenizer.read(cut, 512)), cut, "byte offset 86",
                "truncated in the header of token 6");

        Files.write(cut, Arrays.copyOf(bytes, bytes.length - 1));
        assertMessage(assertThrows(IOException.class, () -> Llama2cTokenizer.read(cut, 512)), cut,
                "truncated in the bytes of token 511");
        assertMessage(assertThrows(IOException.class, () -> Llama2cTokenizer.read(cut)), cut, "token 511");

        assertMessage(assertThrows(IOException.class, () -> Llama2cTokenizer.read(SharedFiles.tok512(), 511)),
                SharedFiles.tok512(), "bytes left after the 511 tokens");

        byte[] badLength = bytes.clone();
        badLength[8] = 99; // token 0's length
        Files.write(cut, badLength);
        assertMessage(assertThrows(IOException.class, () -> Llama2cTokenizer.read(cut, 512)), cut, "byte offset 8",
                "token 0 has length 99");
    }

    private static void assertMessage(IOException e, Path file, String... parts) {
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), () -> "\"" + part + "\" not in: " + e.getMessage());
        }
    }

    private static int[] ints(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).asInt();
        }
        return ids;
    }

    /** Hand-picked edge cases, the reference stories, and pseudo-random text (fixed seed). */
    private static List<String> variedTexts() throws IOException {
        List<String> texts = new ArrayList<>(List.of(
                "", " ", "  ", "   ", "\n", "\t", "\r\n", "a", "A", " a", "a ", " a ", "Hello world", "hello  world",
                "  leading spaces", "trailing spaces   ", "tabs\tand\nnewlines\n\n", "0123456789", "3.14159 + 2,718 = 5.86",
                "!@#$%^&*()_+-=[]{}|;':\",./<>?`~\\", "Once upon a time...", "Lily's mom said, \"No!\"",
                "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c5ngstr\u00f6m \u00df", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
                "\u4e2d\u6587 and English", "emoji \ud83d\ude00\ud83c\udf89\ud83d\udc4d\ud83c\udffd", "e\u0301 n\u0303 a\u0308\u0304",
                "\u2122 trade\u2122mark \u200a hair space", "<0x0A> looks like a byte token", "<unk", "s>", "her hers he r her",
                "the the the", "aaaaaaaaaaaaaaaa", "\u0394\u03b5\u03bb\u03c4\u03b1 \u041f\u0440\u0438\u0432\u0435\u0442"));
        for (JsonNode c : JSON.readTree(SharedFiles.storiesReference().toFile()).get("cases")) {
            String story = c.get("stdout_text").asText();
            texts.add(story);
            texts.addAll(Arrays.asList(story.split("(?<=[.\n])")));
        }
        Random random = new Random(20240529);
        for (int i = 0; i < 250; i++) {
            texts.add(pieceSoup(random));
        }
        for (int i = 0; i < 250; i++) {
            texts.add(charSoup(random));
        }
        texts.removeIf(t -> t.contains("<s>") || t.contains("</s>") || t.contains("<unk>"));
        return texts;
    }

    /** Runs of vocab pieces, which make many merge candidates (and several splits of the same piece) meet. */
    private static String pieceSoup(Random random) {
        StringBuilder text = new StringBuilder();
        for (int n = random.nextInt(12); n >= 0; n--) {
            text.append(random.nextInt(8) == 0 ? randomChar(random) : tok512.piece(259 + random.nextInt(253)));
        }
        return text.toString();
    }

    private static String charSoup(Random random) {
        StringBuilder text = new StringBuilder();
        for (int n = random.nextInt(40); n > 0; n--) {
            text.append(randomChar(random));
        }
        return text.toString();
    }

    private static final int[][] CHAR_RANGES = {
            {'a', 'z'}, {'A', 'Z'}, {'0', '9'}, {'!', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'},
            {' ', ' '}, {'\t', '\n'}, {'\r', '\r'}, {0xC0, 0xFF}, {0x391, 0x3C9}, {0x410, 0x44F}, {0x300, 0x36F},
            {0x4E00, 0x9FFF}, {0x3040, 0x30FF}, {0xAC00, 0xD7A3}, {0x1F300, 0x1F64F}, {0x2000, 0x206F}};

    private static String randomChar(Random random) {
        int[] range = CHAR_RANGES[random.nextInt(CHAR_RANGES.length)];
        int codePoint = range[0] + random.nextInt(range[1] - range[0] + 1);
        return Character.toString(codePoint);
    }

    private static String quote(String text) {
        StringBuilder out = new StringBuilder("\"");
        text.codePoints().forEach(cp -> out.append(cp >= 0x20 && cp < 0x7F ? Character.toString(cp) : String.format("\\u{%X}", cp)));
        return out.append('"').toString();
    }
}
