package dev.nightshift.task;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nightshift.engine.ErrorCode;
import dev.nightshift.engine.FinishReason;
import dev.nightshift.engine.GenerationOptions;
import dev.nightshift.engine.GenerationResult;
import dev.nightshift.engine.Prompt;
import dev.nightshift.engine.TextGenerator;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * A JSON object with the configured fields ({@link FieldSpec}): the engine's {@code generate}, constrained token by
 * token to the fields' JSON schema (every key in order, every value of its type), then a parse of the object, reduced
 * to exactly the fields and validated against the schema. The raw answer stays in {@code output}.
 */
public final class ExtractTask extends Task {

    /** The fix for a cut output, named for both ways of setting the limit. */
    static final String RAISE_LIMIT = "raise max_new_tokens for this task (the job's generation.max_new_tokens, or "
            + "map('max_new_tokens', ...) in an llm_* call)";


    /** Config key of the field names. */
    public static final String FIELDS = "fields";
    static final List<String> OPTION_KEYS = List.of(FIELDS);
    static final String DEFAULT_PROMPT = "Read the following text and answer with a JSON object with the fields {fields}. "
            + "Use null for a field the text does not mention.\n\n{text}\n\nJSON:";
    static final int DEFAULT_MAX_NEW_TOKENS = 128;

    private static final ObjectMapper LENIENT = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES, JsonReadFeature.ALLOW_UNQUOTED_FIELD_NAMES,
                    JsonReadFeature.ALLOW_TRAILING_COMMA, JsonReadFeature.ALLOW_JAVA_COMMENTS,
                    JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS, JsonReadFeature.ALLOW_UNESCAPED_CONTROL_CHARS)
            .build();
    private static final ObjectMapper STRICT = new ObjectMapper();

    private final List<String> fields;
    private final List<FieldSpec> specs;
    private final String schema;
    private transient volatile Schema validator;

    /** Fields by name only: strings that may be null. */
    public ExtractTask(String prompt, List<String> fields, GenerationOptions generation) {
        this(prompt, generation, checkFields(fields).stream().map(FieldSpec::named).toList());
    }

    /** @throws TaskOptionException for unusable fields (key "fields") or prompt (key "prompt") */
    public ExtractTask(String prompt, GenerationOptions generation, List<FieldSpec> fields) {
        super(prompt, generation.withJsonSchema(FieldSpec.jsonSchema(FieldSpec.parse(fields))), constants(fields));
        this.specs = List.copyOf(fields);
        this.fields = specs.stream().map(FieldSpec::name).toList();
        this.schema = generation().jsonSchema();
    }

    /** At least one field; each a plain name (letters, digits, _); none repeated. Names are {@link FieldSpec}'s rules. */
    static List<String> checkFields(List<String> fields) {
        if (new HashSet<>(fields).size() != fields.size()) {
            throw new TaskOptionException(FIELDS, "fields repeat: " + fields);
        }
        FieldSpec.parse(fields);
        return fields;
    }

    /** {fields}: the names (as before types existed) when every field is a plain nullable string, else each described. */
    private static Map<String, String> constants(List<FieldSpec> fields) {
        if (fields.stream().allMatch(FieldSpec::plain)) {
            return Map.of("fields", String.join(", ", fields.stream().map(FieldSpec::name).toList()));
        }
        return Map.of("fields", String.join("; ", fields.stream().map(FieldSpec::describe).toList()));
    }

    @Override
    public TaskType type() {
        return TaskType.EXTRACT;
    }

    @Override
    public Map<String, String> constants() {
        return constants(specs);
    }

    /** The typed fields. */
    public List<FieldSpec> specs() {
        return specs;
    }

    /** The JSON schema every answer conforms to (decoding is constrained to it). */
    public String jsonSchema() {
        return schema;
    }

    @Override
    List<String> hashedFields() {
        // plain names hash as they did before fields had types, so existing results keep their prompt_hash
        return specs.stream().map(spec -> spec.plain() ? spec.name() : spec.describe()).toList();
    }

    @Override
    public List<String> fields() {
        return fields;
    }

    @Override
    public List<TaskOutput> run(TextGenerator engine, List<Prompt> prompts) {
        List<GenerationResult> results = engine.generate(prompts);
        List<TaskOutput> out = new ArrayList<>(results.size());
        for (int i = 0; i < results.size(); i++) {
            out.add(output(results.get(i), document(prompts.get(i))));
        }
        return out;
    }

    /** The prompt's document text (its first {@code {text}} part), or null when it has none. */
    private static String document(Prompt prompt) {
        for (Prompt.Part part : prompt.parts()) {
            if (part.kind() == Prompt.Kind.DOCUMENT) {
                return part.text();
            }
        }
        return null;
    }

    /** {@link #output(GenerationResult, String)} without a document (no evidence spans). */
    public TaskOutput output(GenerationResult result) {
        return output(result, null);
    }

    /**
     * The answer's fields as JSON beside the raw answer (kept in {@code output} whatever happens). An object cut by
     * {@code max_new_tokens} fails the row with {@code OUTPUT_TRUNCATED}; an answer with no complete object otherwise
     * (a stop string inside it, a vocabulary that could not continue the grammar, an engine that does not constrain)
     * fails it with {@code INVALID_OUTPUT}: a row never succeeds without its fields. Missing or extra keys in an
     * unconstrained answer are a warning. A successful row carries each field's confidence and the evidence spans of
     * its string values in {@code document} ({@link FieldEvidence}).
     *
     * @param document the document text the prompt carried (offsets of evidence refer to it), or null
     */
    public TaskOutput output(GenerationResult result, String document) {
        TaskOutput generated = GenerateTask.generated(result);
        if (generated.failed()) {
            return generated;
        }
        Extracted parsed = fields(generated.output(), fields, result.finishReason() == FinishReason.LENGTH,
                generation().maxNewTokens());
        String error = parsed.error() != null ? parsed.error()
                : parsed.json() == null ? ErrorCode.INVALID_OUTPUT.message(parsed.warning().replaceFirst("^extract: ", ""))
                : invalid(parsed.json());
        if (error != null) {
            return TaskOutput.failed(error, generated.promptTokens(), generated.outputTokens(),
                    generated.output(), generated.warning(), generated.engineNanos());
        }
        return generated.parsed(generated.output(), parsed.json(), parsed.warning()).withDetails(
                TaskOutput.Details.extract(FieldEvidence.confidence(generated.output(), result),
                        FieldEvidence.evidence(parsed.json(), document)));
    }

    /**
     * Why the fields do not conform to the schema ({@code INVALID_OUTPUT}), or null when they do or there are none. A
     * constrained answer always conforms; an engine that does not constrain (a fake, a hosted API's recorded answers)
     * may not.
     */
    String invalid(String json) {
        if (json == null) {
            return null;
        }
        Schema schema = validator;
        if (schema == null) {
            schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(this.schema);
            validator = schema;
        }
        try {
            JsonNode node = STRICT.readTree(json);
            List<com.networknt.schema.Error> errors = schema.validate(node);
            if (!errors.isEmpty()) {
                return ErrorCode.INVALID_OUTPUT.message("the extracted fields do not match their types: "
                        + errors.get(0).toString() + (errors.size() > 1 ? " (and " + (errors.size() - 1) + " more)" : ""));
            }
            String date = notACalendarDate(specs, node, "");
            return date == null ? null : ErrorCode.INVALID_OUTPUT.message(date);
        } catch (java.io.IOException e) {
            return ErrorCode.INVALID_OUTPUT.message("the extracted fields are not JSON: " + dev.nightshift.engine.Reason.of(e));
        }
    }

    /**
     * The first date field whose value is not a day of the calendar ("2026-02-31": the grammar and the schema check the
     * shape YYYY-MM-DD only), as a message; null when every date is real.
     */
    private static String notACalendarDate(List<FieldSpec> specs, JsonNode object, String prefix) {
        for (FieldSpec spec : specs) {
            JsonNode value = object.get(spec.name());
            if (value == null || value.isNull()) {
                continue;
            }
            if (spec.type() == FieldSpec.FieldType.DATE) {
                try {
                    java.time.LocalDate.parse(value.asText());
                } catch (java.time.format.DateTimeParseException e) {
                    return "field '" + prefix + spec.name() + "' is not a calendar date: " + value.asText();
                }
            } else if (spec.type() == FieldSpec.FieldType.OBJECT) {
                String inner = notACalendarDate(spec.fields(), value, prefix + spec.name() + ".");
                if (inner != null) {
                    return inner;
                }
            }
        }
        return null;
    }

    /**
     * What an extract answer gave.
     *
     * @param json    a JSON object with exactly the task's fields, or null
     * @param warning what was missing, ignored or unreadable (the row still succeeds), or null
     * @param error   {@code "[CODE] message"} when the answer is unusable because it was cut ({@code OUTPUT_TRUNCATED}),
     *                else null
     */
    public record Extracted(String json, String warning, String error) {
    }

    /**
     * The first complete top-level JSON object in a model's answer, reduced to exactly {@code fields} (missing ones
     * null; values kept as the answer gave them, which the schema check then judges). Lenient: code fences, text around the object, single quotes, unquoted keys and
     * trailing commas are accepted. Objects are found by a scan that tracks string literals and brace depth, so an
     * object nested inside another is never taken for the answer: an outer object left open at the end of the output
     * (cut by {@code max_new_tokens}) is an {@code OUTPUT_TRUNCATED} error when generation stopped for length, and
     * a warning otherwise; when no object is readable, the fields are null and the warning says why.
     *
     * @param cutByLength  whether generation stopped at {@code max_new_tokens}
     * @param maxNewTokens the task's limit, named in the error
     */
    public static Extracted fields(String text, List<String> fields, boolean cutByLength, int maxNewTokens) {
        String answer = text == null ? "" : text;
        JsonNode parsed = null;
        String problem = "no JSON object in the output";
        Scan scan = scan(answer);
        for (int[] object : scan.objects()) {
            try (JsonParser parser = LENIENT.createParser(answer.substring(object[0], object[1]))) {
                JsonNode node = LENIENT.readTree(parser);
                if (node instanceof ObjectNode) {
                    parsed = node;
                    break;
                }
            } catch (Exception e) {
                problem = "the output's JSON object does not parse: " + dev.nightshift.engine.Reason.of(e);
            }
        }
        if (parsed == null && scan.openAt() >= 0) {
            String message = "the output's JSON object starting at character " + scan.openAt()
                    + " is not closed: the output ended inside it";
            if (cutByLength) {
                return new Extracted(null, null, ErrorCode.OUTPUT_TRUNCATED.message(message
                        + " at max_new_tokens (" + maxNewTokens + "); " + RAISE_LIMIT));
            }
            problem = message;
        }
        if (parsed == null && cutByLength) {
            // nothing usable and the output was cut: never a silently empty result
            return new Extracted(null, null, ErrorCode.OUTPUT_TRUNCATED.message(problem + " when the output reached "
                    + "max_new_tokens (" + maxNewTokens + "); " + RAISE_LIMIT));
        }
        if (parsed == null) {
            return new Extracted(null, "extract: " + problem, null);
        }
        ObjectNode out = STRICT.createObjectNode();
        List<String> missing = new ArrayList<>();
        for (String field : fields) {
            JsonNode value = parsed.get(field);
            if (value == null || value.isNull()) {
                out.putNull(field);
                if (value == null) {
                    missing.add(field);
                }
            } else {
                out.set(field, value);
            }
        }
        List<String> extra = new ArrayList<>();
        parsed.fieldNames().forEachRemaining(name -> {
            if (!fields.contains(name)) {
                extra.add(name);
            }
        });
        String warning = null;
        if (!missing.isEmpty() || !extra.isEmpty()) {
            warning = "extract:" + (missing.isEmpty() ? "" : " missing fields " + missing + " set to null;")
                    + (extra.isEmpty() ? "" : " ignored fields " + extra + ";");
            warning = warning.substring(0, warning.length() - 1);
        }
        return new Extracted(out.toString(), warning, null);
    }

    /**
     * Top-level {...} spans of a text and where an unclosed one starts.
     *
     * @param objects [start, end) of each complete top-level object, in order
     * @param openAt  start of a top-level object still open at the end of the text, or -1
     */
    record Scan(List<int[]> objects, int openAt) {
    }

    /** Finds top-level objects by brace depth, skipping braces inside double- or single-quoted strings. */
    static Scan scan(String text) {
        List<int[]> objects = new ArrayList<>();
        int depth = 0;
        int start = -1;
        char quote = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (depth > 0 && (c == '"' || c == '\'')) {
                quote = c;
            } else if (c == '{') {
                if (depth++ == 0) {
                    start = i;
                }
            } else if (c == '}' && depth > 0) {
                if (--depth == 0) {
                    objects.add(new int[]{start, i + 1});
                }
            }
        }
        return new Scan(objects, depth > 0 ? start : -1);
    }
}
