package dev.nightshift.jobs.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nightshift.engine.Reason;
import dev.nightshift.jobs.nightly.JobConfigException;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A candidate's recorded outputs: JSON lines, one object per document (README, "eval"):
 * {@code {"id": "a-1", "output": "Sports", "label": "Sports", "score": 0.93, "labels": [...], "fields": {...},
 * "prompt_tokens": 210, "output_tokens": 2, "latency_ms": 480, "error": null}}. {@code id} is required, and one of
 * {@code output}, {@code label}, {@code labels}, {@code fields} or {@code error}; the rest is optional. Unknown keys,
 * a repeated id, a line that is not a JSON object and values of the wrong type are refused with the file and line.
 */
public final class CandidateFile {

    static final Set<String> KEYS = Set.of("id", "output", "label", "labels", "score", "fields", "prompt_tokens",
            "output_tokens", "latency_ms", "error");
    private static final ObjectMapper JSON = new ObjectMapper();

    private CandidateFile() {
    }

    /** id → prediction, in file order. */
    public static Map<String, Prediction> read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "candidate file not found");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (CharacterCodingException e) {
            throw new JobConfigException(file + " is not valid UTF-8; candidate files are JSON lines in UTF-8");
        }
        Map<String, Prediction> predictions = new LinkedHashMap<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) {
                continue;
            }
            String where = file + " line " + (i + 1);
            Prediction p = parse(line, where);
            if (predictions.put(p.docId(), p) != null) {
                throw new JobConfigException(where + ": id '" + p.docId() + "' appears twice; keep one answer per document");
            }
        }
        if (predictions.isEmpty()) {
            throw new JobConfigException(file + " has no lines; expected one JSON object per document, e.g. "
                    + "{\"id\": \"doc-1\", \"output\": \"Sports\"}");
        }
        return predictions;
    }

    static Prediction parse(String line, String where) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new JobConfigException(where + ": not valid JSON: " + Reason.firstLine(e.getOriginalMessage()));
        }
        if (node == null || !node.isObject()) {
            throw new JobConfigException(where + ": expected a JSON object like {\"id\": \"doc-1\", \"output\": \"...\"}");
        }
        node.fieldNames().forEachRemaining(key -> {
            if (!KEYS.contains(key)) {
                throw new JobConfigException(where + ": unknown key '" + key + "'; known keys: " + String.join(", ",
                        KEYS.stream().sorted().toList()));
            }
        });
        JsonNode id = node.get("id");
        if (id == null || id.isNull() || id.isContainerNode() || id.asText().isEmpty()) {
            throw new JobConfigException(where + ": \"id\" is required (the source's document id, as text or number)");
        }
        if (!(node.hasNonNull("output") || node.hasNonNull("label") || node.hasNonNull("labels")
                || node.hasNonNull("fields") || node.hasNonNull("error"))) {
            throw new JobConfigException(where + ": give the answer as \"output\", \"label\", \"labels\" or \"fields\" "
                    + "(or \"error\" for a failed row)");
        }
        List<String> labels = null;
        JsonNode labelsNode = node.get("labels");
        if (labelsNode != null && !labelsNode.isNull()) {
            labels = new ArrayList<>();
            if (!labelsNode.isArray()) {
                throw new JobConfigException(where + ": \"labels\" must be a list of strings");
            }
            for (JsonNode item : labelsNode) {
                labels.add(item.asText());
            }
        }
        JsonNode fields = node.get("fields");
        String fieldsText = null;
        if (fields != null && !fields.isNull()) {
            if (fields.isTextual()) {
                fieldsText = fields.asText();
            } else if (fields.isObject()) {
                fieldsText = fields.toString();
            } else {
                throw new JobConfigException(where + ": \"fields\" must be a JSON object (or a string holding one)");
            }
        }
        String label = text(node, "label", where);
        String output = text(node, "output", where);
        // classify: a candidate that gives only "output" answers with it as its label
        return new Prediction(id.asText(), output != null ? output : label, label != null ? label : output, labels,
                number(node, "score", where),
                fieldsText, whole(node, "prompt_tokens", where), whole(node, "output_tokens", where),
                node.hasNonNull("latency_ms") ? (long) number(node, "latency_ms", where).doubleValue() : null,
                text(node, "error", where));
    }

    private static String text(JsonNode node, String key, String where) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw new JobConfigException(where + ": \"" + key + "\" must be a string, got " + value);
        }
        return value.asText();
    }

    private static Double number(JsonNode node, String key, String where) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isNumber()) {
            throw new JobConfigException(where + ": \"" + key + "\" must be a number, got " + value);
        }
        return value.doubleValue();
    }

    private static Integer whole(JsonNode node, String key, String where) {
        Double value = number(node, key, where);
        if (value == null) {
            return null;
        }
        if (value < 0 || value != Math.rint(value)) {
            throw new JobConfigException(where + ": \"" + key + "\" must be a whole number of tokens, got " + node.get(key));
        }
        return value.intValue();
    }
}
