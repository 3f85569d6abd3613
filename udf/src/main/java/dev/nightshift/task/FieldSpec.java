package dev.nightshift.task;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One field an extract task fills: its name, type, what it means (rendered into the prompt) and whether it may be
 * null. The fields of a task become one JSON schema ({@link #jsonSchema}) that the engine decodes under, token by
 * token, and that every output is validated against.
 *
 * <p>In a job config a field is either a plain name (type {@code any}: a string, number, boolean or null, as before
 * types existed) or a map:
 * <pre>
 * fields:
 *   - invoice_number
 *   - {name: amount, type: number, description: total due, required: true}
 *   - {name: status, type: enum, values: [paid, unpaid]}
 *   - {name: due, type: date}
 *   - {name: items, type: list}              # a list of strings
 *   - {name: vendor, type: object, fields: [name, {name: country, type: string}]}
 * </pre>
 *
 * @param name        a plain name (letters, digits, _), the JSON key
 * @param type        the value's type
 * @param description what the field means, for the prompt; may be empty
 * @param required    false: the value may be null (the document may not say)
 * @param values      the allowed values of an enum, else empty
 * @param fields      the fields of an object (one level: their own types are not objects), else empty
 */
public record FieldSpec(String name, FieldType type, String description, boolean required, List<String> values,
                        List<FieldSpec> fields) implements Serializable {

    /** The types a field can have; {@code id} is the config spelling. */
    public enum FieldType {
        /** What a field given by name only is: a string, number, boolean or null, as the model chooses. */
        ANY("any"),
        STRING("string"), INTEGER("integer"), NUMBER("number"), BOOLEAN("boolean"), DATE("date"), ENUM("enum"),
        LIST("list"), OBJECT("object");

        private final String id;

        FieldType(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        static FieldType parse(String field, String text) {
            for (FieldType type : values()) {
                if (type.id.equals(text.toLowerCase(Locale.ROOT).strip())) {
                    return type;
                }
            }
            List<String> ids = new ArrayList<>();
            for (FieldType type : values()) {
                ids.add(type.id);
            }
            throw new TaskOptionException(ExtractTask.FIELDS, "field '" + field + "' has type '" + text + "'; use one of "
                    + String.join(", ", ids));
        }
    }

    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,63}");
    private static final Set<String> KEYS = Set.of("name", "type", "description", "required", "values", "fields");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** @throws TaskOptionException (key "fields") for a bad name, enum without values, or nesting deeper than one level */
    public FieldSpec {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new TaskOptionException(ExtractTask.FIELDS, "field '" + name + "' must be a plain name (letters, digits, _)");
        }
        description = description == null ? "" : description.strip();
        values = List.copyOf(values == null ? List.of() : values);
        fields = List.copyOf(fields == null ? List.of() : fields);
        if (type == FieldType.ENUM && values.isEmpty()) {
            throw new TaskOptionException(ExtractTask.FIELDS, "enum field '" + name + "' needs values: [a, b, ...]");
        }
        if (type != FieldType.ENUM && !values.isEmpty()) {
            throw new TaskOptionException(ExtractTask.FIELDS, "field '" + name + "' has values but is not an enum");
        }
        if (new HashSet<>(values).size() != values.size()) {
            throw new TaskOptionException(ExtractTask.FIELDS, "enum field '" + name + "' repeats a value: " + values);
        }
        if (type == FieldType.OBJECT) {
            checkNames(fields);
            for (FieldSpec inner : fields) {
                if (inner.type == FieldType.OBJECT) {
                    throw new TaskOptionException(ExtractTask.FIELDS, "object field '" + name + "." + inner.name
                            + "' nests a second level; objects go one level deep");
                }
            }
        } else if (!fields.isEmpty()) {
            throw new TaskOptionException(ExtractTask.FIELDS, "field '" + name + "' has fields but is not an object");
        }
    }

    /** Whether this is a field given by name only (type any, without description). */
    public boolean plain() {
        return equals(named(name));
    }

    /** A field given by name only: a string, number, boolean or null. */
    public static FieldSpec named(String name) {
        return new FieldSpec(name, FieldType.ANY, "", false, List.of(), List.of());
    }

    /**
     * Fields from a parsed config value: a list whose items are names, maps with the keys above, or FieldSpecs.
     *
     * @throws TaskOptionException (key "fields") naming the field and what is wrong
     */
    public static List<FieldSpec> parse(Object value) {
        if (!(value instanceof List<?> items)) {
            throw new TaskOptionException(ExtractTask.FIELDS, "fields must be a list of names or {name, type, ...} maps");
        }
        List<FieldSpec> out = new ArrayList<>();
        for (Object item : items) {
            out.add(parseOne(item));
        }
        checkNames(out);
        return out;
    }

    private static FieldSpec parseOne(Object item) {
        if (item instanceof FieldSpec spec) {
            return spec;
        }
        if (item instanceof String name) {
            return named(name);
        }
        if (!(item instanceof Map<?, ?> map)) {
            throw new TaskOptionException(ExtractTask.FIELDS, "a field must be a name or a map with name and type, got " + item);
        }
        for (Object key : map.keySet()) {
            if (!KEYS.contains(String.valueOf(key))) {
                throw new TaskOptionException(ExtractTask.FIELDS, "unknown key '" + key + "' in field " + map
                        + "; a field has " + String.join(", ", KEYS.stream().sorted().toList()));
            }
        }
        String name = map.get("name") == null ? null : String.valueOf(map.get("name"));
        if (name == null) {
            throw new TaskOptionException(ExtractTask.FIELDS, "field " + map + " has no name");
        }
        FieldType type = map.get("type") == null ? FieldType.ANY : FieldType.parse(name, String.valueOf(map.get("type")));
        Object required = map.get("required");
        if (required != null && !(required instanceof Boolean)) {
            throw new TaskOptionException(ExtractTask.FIELDS, "field '" + name + "': required must be true or false, got " + required);
        }
        List<String> values = new ArrayList<>();
        if (map.get("values") instanceof List<?> list) {
            list.forEach(v -> values.add(String.valueOf(v)));
        } else if (map.get("values") != null) {
            throw new TaskOptionException(ExtractTask.FIELDS, "field '" + name + "': values must be a list");
        }
        List<FieldSpec> fields = map.get("fields") == null ? List.of() : parse(map.get("fields"));
        Object description = map.get("description");
        return new FieldSpec(name, type, description == null ? "" : String.valueOf(description), Boolean.TRUE.equals(required),
                values, fields);
    }

    /** At least one field, none named twice. */
    static void checkNames(List<FieldSpec> fields) {
        if (fields.isEmpty()) {
            throw new TaskOptionException(ExtractTask.FIELDS, "extract needs at least one field");
        }
        Set<String> seen = new HashSet<>();
        for (FieldSpec field : fields) {
            if (!seen.add(field.name)) {
                throw new TaskOptionException(ExtractTask.FIELDS, "field '" + field.name + "' is listed twice");
            }
        }
    }

    /**
     * The JSON schema (draft 2020-12) of an answer with these fields: an object with every field, in order, each
     * present (null allowed where not required) and no others.
     */
    public static String jsonSchema(List<FieldSpec> fields) {
        return object(fields).put("$schema", "https://json-schema.org/draft/2020-12/schema").toString();
    }

    private static ObjectNode object(List<FieldSpec> fields) {
        ObjectNode schema = JSON.createObjectNode().put("type", "object");
        ObjectNode properties = schema.putObject("properties");
        ArrayNode required = schema.putArray("required");
        for (FieldSpec field : fields) {
            properties.set(field.name, field.schema());
            required.add(field.name);
        }
        schema.put("additionalProperties", false);
        return schema;
    }

    private ObjectNode schema() {
        ObjectNode schema = switch (type) {
            case OBJECT -> object(fields);
            case LIST -> {
                ObjectNode list = JSON.createObjectNode().put("type", "array");
                list.putObject("items").put("type", "string");
                yield list;
            }
            case DATE -> JSON.createObjectNode().put("type", "string").put("format", "date");
            case ENUM -> {
                ObjectNode choice = JSON.createObjectNode();
                ArrayNode options = choice.putArray("enum");
                values.forEach(options::add);
                if (!required) {
                    options.addNull();
                }
                yield choice;
            }
            case ANY -> {
                ObjectNode scalar = JSON.createObjectNode();
                scalar.putArray("type").add("string").add("number").add("boolean");
                yield scalar;
            }
            default -> JSON.createObjectNode().put("type", type.id);
        };
        if (!required && type == FieldType.ANY) {
            ((ArrayNode) schema.get("type")).add("null");
        } else if (!required && type != FieldType.ENUM) {
            ArrayNode types = JSON.createArrayNode().add(schema.get("type").asText()).add("null");
            schema.set("type", types);
        }
        if (!description.isEmpty()) {
            schema.put("description", description);
        }
        return schema;
    }

    /**
     * The Spark type of an answer with these fields, for a typed column ({@code from_json(fields, type)}): a struct
     * with one nullable field per spec, in order. string and enum are STRING, integer BIGINT, number DOUBLE, boolean
     * BOOLEAN, date DATE, list ARRAY&lt;STRING&gt;, object a STRUCT of its fields; {@code any} is STRING (Spark reads a
     * number or boolean there as its JSON text).
     */
    public static StructType sparkType(List<FieldSpec> fields) {
        StructType struct = new StructType();
        for (FieldSpec field : fields) {
            struct = struct.add(field.name, field.sparkType(), true);
        }
        return struct;
    }

    /** This field's Spark type (see {@link #sparkType(List)}). */
    public DataType sparkType() {
        return switch (type) {
            case ANY, STRING, ENUM -> DataTypes.StringType;
            case INTEGER -> DataTypes.LongType;
            case NUMBER -> DataTypes.DoubleType;
            case BOOLEAN -> DataTypes.BooleanType;
            case DATE -> DataTypes.DateType;
            case LIST -> DataTypes.createArrayType(DataTypes.StringType);
            case OBJECT -> sparkType(fields);
        };
    }

    /** How the prompt lists the field: {@code amount (number, required): total due}. */
    public String describe() {
        StringBuilder out = new StringBuilder(name).append(" (").append(type.id);
        if (type == FieldType.ENUM) {
            out.append(" of ").append(String.join(" | ", values));
        }
        if (type == FieldType.OBJECT) {
            out.append(" with ").append(String.join(", ", fields.stream().map(FieldSpec::describe).toList()));
        }
        out.append(required ? ", required)" : ")");
        if (!description.isEmpty()) {
            out.append(": ").append(description);
        }
        return out.toString();
    }
}
