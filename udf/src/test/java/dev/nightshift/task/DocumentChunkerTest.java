package dev.nightshift.task;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.RealTokenizers;
import dev.nightshift.SharedFiles;
import dev.nightshift.engine.TextTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The chunker of the map-reduce summary: every token and character covered, overlaps as asked, cuts at boundaries. */
class DocumentChunkerTest {

    /**
     * Checks what every split must hold: chunks in order, none over {@code maxTokens}, consecutive ones sharing exactly
     * {@code overlap} tokens, the first from character 0 and the last to the end, and every token's characters inside
     * one chunk (so the chunks' union is the whole text).
     */
    static void assertCovers(String text, int[] starts, int maxTokens, int overlap, List<DocumentChunker.Chunk> chunks) {
        String where = "maxTokens " + maxTokens + ", overlap " + overlap + ", text " + text.length() + " chars";
        assertEquals(0, chunks.get(0).start(), where);
        assertEquals(0, chunks.get(0).firstToken(), where);
        assertEquals(text.length(), chunks.get(chunks.size() - 1).end(), where);
        assertEquals(starts.length, chunks.get(chunks.size() - 1).endToken(), where);
        for (int i = 0; i < chunks.size(); i++) {
            DocumentChunker.Chunk chunk = chunks.get(i);
            assertTrue(chunk.tokens() <= maxTokens && chunk.tokens() > 0, where + ": chunk " + i + " has " + chunk.tokens());
            assertEquals(text.substring(chunk.start(), chunk.end()), chunk.text(), where);
            if (i > 0) {
                DocumentChunker.Chunk previous = chunks.get(i - 1);
                assertEquals(overlap, previous.endToken() - chunk.firstToken(), where + ": overlap after chunk " + (i - 1));
                assertTrue(chunk.start() <= previous.end(), where + ": gap between chunks " + (i - 1) + " and " + i);
            }
        }
        for (int t = 0; t < starts.length; t++) {
            int start = starts[t];
            int end = t + 1 < starts.length ? Math.max(start, starts[t + 1]) : text.length();
            boolean inside = false;
            for (DocumentChunker.Chunk chunk : chunks) {
                inside |= t >= chunk.firstToken() && t < chunk.endToken() && start >= chunk.start() && end <= chunk.end();
            }
            assertTrue(inside, where + ": token " + t + " [" + start + ", " + end + ") is in no chunk");
        }
    }

    @Test
    void everyTokenIsCoveredForRandomTextsAndSizes() {
        Random random = new Random(10);
        String[] pieces = {"word", "the", "a", ". ", ".\n\n", "\n", " ", "! ", "x", "é", "😀", "\t", "data", "?\" "};
        for (int trial = 0; trial < 400; trial++) {
            StringBuilder text = new StringBuilder();
            int length = random.nextInt(300);
            for (int i = 0; i < length; i++) {
                text.append(pieces[random.nextInt(pieces.length)]);
                if (random.nextInt(3) == 0) {
                    text.append(' ');
                }
            }
            String document = text.toString();
            // Random tokenization: increasing starts, some repeated (byte tokens of one character), not always from 0.
            List<Integer> starts = new ArrayList<>();
            for (int at = random.nextInt(3); at < document.length(); at += 1 + random.nextInt(5)) {
                starts.add(Math.min(at, document.length()));
                if (random.nextInt(10) == 0) {
                    starts.add(Math.min(at, document.length()));
                }
            }
            int[] ids = starts.stream().mapToInt(Integer::intValue).toArray();
            if (ids.length == 0) {
                continue;
            }
            int maxTokens = 2 + random.nextInt(40);
            int overlap = random.nextInt(maxTokens / 2 + 1);
            assertCovers(document, ids, maxTokens, overlap, new DocumentChunker(maxTokens, overlap).split(document, ids));
        }
    }

    @Test
    void cutsPreferParagraphsThenSentencesThenWords() {
        DocumentChunker chunker = new DocumentChunker(8, 0);
        // words as tokens (each starts at its first character; white space belongs to the token before)
        String paragraphs = "one two three four five.\n\nsix seven eight nine ten eleven";
        List<DocumentChunker.Chunk> byParagraph = chunker.split(paragraphs, wordStarts(paragraphs));
        assertEquals("one two three four five.\n\n", byParagraph.get(0).text());
        String sentences = "one two three four five. six seven eight nine ten";
        assertEquals("one two three four five. ", chunker.split(sentences, wordStarts(sentences)).get(0).text());
        String words = "one two three four five six seven eight nine ten";
        assertEquals("one two three four five six seven eight ", chunker.split(words, wordStarts(words)).get(0).text());
        // A boundary in the first half is not taken: the chunk would be too small.
        String early = "one. two three four five six seven eight nine ten";
        assertEquals("one. two three four five six seven eight ", chunker.split(early, wordStarts(early)).get(0).text());
        // No boundary at all: cut at the token limit.
        String glued = "abcdefghijklmnopqrstuvwxyz";
        int[] letters = new int[glued.length()];
        for (int i = 0; i < letters.length; i++) {
            letters[i] = i;
        }
        assertEquals("abcdefgh", chunker.split(glued, letters).get(0).text());
    }

    @Test
    void overlapsAreAsConfigured() {
        String words = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen";
        List<DocumentChunker.Chunk> chunks = new DocumentChunker(6, 2).split(words, wordStarts(words));
        assertEquals(List.of("one two three four five six ", "five six seven eight nine ten ",
                "nine ten eleven twelve thirteen fourteen"), chunks.stream().map(DocumentChunker.Chunk::text).toList());
        assertThrows(IllegalArgumentException.class, () -> new DocumentChunker(6, 4));
        assertThrows(IllegalArgumentException.class, () -> new DocumentChunker(1, 0));
        assertEquals(List.of(""), new DocumentChunker(4, 1).split("", new int[0]).stream()
                .map(DocumentChunker.Chunk::text).toList());
    }

    /** Real scientific abstracts through a real (Llama 2) tokenizer: every token covered, chunks within their size. */
    @Test
    void realAbstractsThroughARealTokenizer(@TempDir Path dir) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = Files.readAllLines(SharedFiles.get("data/scitldr_test/data.jsonl"));
        try (TextTokenizer tokenizer = TextTokenizer.load(RealTokenizers.llama2(dir))) {
            int[] emoji = tokenizer.tokenStarts("x😀 yz");
            for (int start : emoji) {
                assertTrue(start != 2, "a token starts inside the surrogate pair: " + java.util.Arrays.toString(emoji));
            }
            for (int i = 0; i < 40; i++) {
                // Several abstracts per document, as paragraphs, so cuts have paragraph breaks to prefer.
                String text = json.readTree(lines.get(i * 7)).get("text").asText() + "\n\n"
                        + json.readTree(lines.get(i * 7 + 1)).get("text").asText() + "\n\n"
                        + json.readTree(lines.get(i * 7 + 2)).get("text").asText();
                int[] starts = tokenizer.tokenStarts(text);
                int maxTokens = 48 + 13 * i;
                int overlap = Math.min(32, maxTokens / 4);
                List<DocumentChunker.Chunk> chunks = new DocumentChunker(maxTokens, overlap).split(text, starts);
                assertCovers(text, starts, maxTokens, overlap, chunks);
                for (DocumentChunker.Chunk chunk : chunks) {
                    // A chunk encoded alone stays within a few tokens of its span (MapReduceSummary keeps that slack).
                    int alone = tokenizer.tokenStarts(chunk.text()).length;
                    assertTrue(alone <= chunk.tokens() + 2, alone + " tokens alone for a span of " + chunk.tokens());
                }
            }
        }
    }

    private static int[] wordStarts(String text) {
        java.util.regex.Matcher word = java.util.regex.Pattern.compile("\\S+").matcher(text);
        List<Integer> starts = new ArrayList<>();
        while (word.find()) {
            starts.add(word.start());
        }
        return starts.stream().mapToInt(Integer::intValue).toArray();
    }
}
