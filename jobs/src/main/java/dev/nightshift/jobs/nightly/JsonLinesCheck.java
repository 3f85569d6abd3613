package dev.nightshift.jobs.nightly;

import dev.nightshift.engine.Reason;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Checks that every non-blank line of a JSON-lines file is a JSON object in valid UTF-8. Spark reads a bad line as a
 * {@code _corrupt_record} row with every column null, so without this check a malformed line surfaced as "N source rows
 * have a null id", and a binary file as "unknown column 'id'".
 */
final class JsonLinesCheck implements Serializable {

    // Trailing tokens ("{...} x") fail too: Spark would not read such a line as one record either.
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** The first bad line and how many lines are bad, or null when every line is a JSON object. */
    CsvShapeCheck.FileProblem check(String file, InputStream raw) throws IOException {
        InputStream in = new BufferedInputStream(raw, 1 << 16);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        long line = 0;
        long bad = 0;
        long firstBad = 0;
        String firstProblem = null;
        boolean more = true;
        while (more) {
            bytes.reset();
            int b;
            while ((b = in.read()) != -1 && b != '\n') {
                bytes.write(b);
            }
            more = b != -1;
            if (!more && bytes.size() == 0) {
                break;
            }
            line++;
            String problem = problem(bytes.toByteArray());
            if (problem != null) {
                bad++;
                if (firstProblem == null) {
                    firstBad = line;
                    firstProblem = problem;
                }
            }
        }
        return bad == 0 ? null : new CsvShapeCheck.FileProblem(file, bad, firstBad, firstProblem, false);
    }

    private static String problem(byte[] line) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(line)).toString();
        } catch (CharacterCodingException e) {
            return "is not valid UTF-8 (a binary file, or text in another character set?)";
        }
        if (text.isBlank()) {
            return null;
        }
        try {
            JsonNode node = JSON.readTree(text);
            if (node == null || !(node.isObject() || (node.isArray() && allObjects(node)))) {
                return "is JSON but not an object ({\"id\": ..., \"text\": ...})";
            }
            return null;
        } catch (IOException e) {
            return "is not valid JSON: " + Reason.of(e);
        }
    }

    private static boolean allObjects(JsonNode array) {
        for (JsonNode item : array) {
            if (!item.isObject()) {
                return false;
            }
        }
        return true;
    }
}
