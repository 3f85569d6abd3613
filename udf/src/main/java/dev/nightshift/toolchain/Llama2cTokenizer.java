package dev.nightshift.toolchain;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A llama2.c {@code tokenizer.bin}: int32 LE max_token_length, then per token a float32 score, an int32 length and
 * that many UTF-8 bytes. Pieces are kept exactly as stored: spaces instead of SentencePiece's '▁', BOS/EOS as
 * {@code "\n<s>\n"} and {@code "\n</s>\n"}, byte tokens as {@code "<0x0A>"}.
 */
public final class Llama2cTokenizer {

    private final List<String> pieces;
    private final float[] scores;
    private final int maxTokenLength;

    public Llama2cTokenizer(List<String> pieces, float[] scores, int maxTokenLength) {
        if (pieces.size() != scores.length) {
            throw new IllegalArgumentException(pieces.size() + " pieces but " + scores.length + " scores");
        }
        this.pieces = List.copyOf(pieces);
        this.scores = scores.clone();
        this.maxTokenLength = maxTokenLength;
    }

    /** Reads every token up to the end of the file. */
    public static Llama2cTokenizer read(Path file) throws IOException {
        return read(file, -1);
    }

    /**
     * Reads exactly {@code vocabSize} tokens (the checkpoint's vocab_size); a negative size reads to the end of the file.
     * Bytes after the last expected token are an error, since they mean the file does not belong to the checkpoint.
     */
    public static Llama2cTokenizer read(Path file, int vocabSize) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < 4) {
            throw corrupt(file, 0, "truncated: no int32 max_token_length header (file has " + in.limit() + " bytes)");
        }
        int maxTokenLength = in.getInt();
        if (maxTokenLength <= 0) {
            throw corrupt(file, 0, "max_token_length is " + maxTokenLength);
        }
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        while (vocabSize < 0 ? in.hasRemaining() : pieces.size() < vocabSize) {
            int id = pieces.size();
            int offset = in.position();
            if (in.remaining() < 8) {
                throw corrupt(file, offset, "truncated in the header of token " + id + " (" + in.remaining()
                        + " of 8 bytes left" + expecting(vocabSize) + ")");
            }
            float score = in.getFloat();
            int length = in.getInt();
            // llama2.c's encode buffer holds two pieces of max_token_length, so longer pieces are corrupt data
            if (length < 0 || length > maxTokenLength) {
                throw corrupt(file, offset + 4, "token " + id + " has length " + length
                        + " (max_token_length is " + maxTokenLength + ")");
            }
            if (in.remaining() < length) {
                throw corrupt(file, in.position(), "truncated in the bytes of token " + id + " (" + in.remaining()
                        + " of " + length + " bytes left" + expecting(vocabSize) + ")");
            }
            pieces.add(utf8(file, in, length, id));
            scores.add(score);
        }
        if (in.hasRemaining()) {
            throw corrupt(file, in.position(), in.remaining() + " bytes left after the " + vocabSize
                    + " tokens the checkpoint's vocab_size asks for (wrong tokenizer for this model?)");
        }
        float[] scoreArray = new float[scores.size()];
        for (int i = 0; i < scoreArray.length; i++) {
            scoreArray[i] = scores.get(i);
        }
        return new Llama2cTokenizer(pieces, scoreArray, maxTokenLength);
    }

    private static String expecting(int vocabSize) {
        return vocabSize < 0 ? "" : ", expected " + vocabSize + " tokens";
    }

    private static String utf8(Path file, ByteBuffer in, int length, int id) throws IOException {
        int offset = in.position();
        ByteBuffer bytes = in.slice().limit(length);
        in.position(offset + length);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw corrupt(file, offset, "token " + id + " is not valid UTF-8");
        }
    }

    private static IOException corrupt(Path file, long offset, String problem) {
        return new IOException("llama2.c tokenizer " + file + " at byte offset " + offset + ": " + problem);
    }

    public int vocabSize() {
        return pieces.size();
    }

    /** The piece as llama2.c stores it (spaces, not '▁'). */
    public String piece(int id) {
        return pieces.get(id);
    }

    public float score(int id) {
        return scores[id];
    }

    public List<String> pieces() {
        return pieces;
    }

    /** Longest piece in bytes, as recorded in the file header. */
    public int maxTokenLength() {
        return maxTokenLength;
    }
}
