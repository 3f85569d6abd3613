package dev.nightshift.toolchain;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The key/value metadata of a GGUF file (llama.cpp's model format), read from its start; tensors are not read, so a
 * multi-gigabyte model file costs only its header.
 *
 * <p>Layout (GGUF v2 and v3, little-endian): magic {@code GGUF}, uint32 version, uint64 tensor count, uint64 metadata
 * count, then per entry a key (uint64 byte length + UTF-8) and a value (uint32 type + payload). Types: 0 uint8, 1 int8,
 * 2 uint16, 3 int16, 4 uint32, 5 int32, 6 float32, 7 bool, 8 string (uint64 length + UTF-8), 9 array (uint32 element
 * type + uint64 count + elements), 10 uint64, 11 int64, 12 float64.
 *
 * <p>Values: integers as {@link Long}, floats as {@link Double}, bools, strings, and arrays as {@link List} (int32
 * arrays as {@code int[]} and float32 arrays as {@code float[]}, which is how vocabularies store token types and
 * scores; 128k boxed values would be wasteful).
 */
public final class GgufMetadata {

    private static final int MAGIC = 0x46554747; // "GGUF" read little-endian
    /** Longest string accepted; a larger length means a corrupt file rather than a real token or template. */
    private static final long MAX_STRING_BYTES = 64L << 20;

    private final Path file;
    private final int version;
    private final Map<String, Object> values;

    private GgufMetadata(Path file, int version, Map<String, Object> values) {
        this.file = file;
        this.version = version;
        this.values = values;
    }

    /**
     * Reads the metadata of {@code file}.
     *
     * @throws IOException naming the file and byte offset when it is not GGUF v2/v3, is truncated or holds an unknown
     *                     value type
     */
    public static GgufMetadata read(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            // the metadata is at the start; a mapping of up to 2 GiB holds it for any real file
            ByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, Math.min(channel.size(), Integer.MAX_VALUE - 8));
            Reader in = new Reader(file, mapped.order(ByteOrder.LITTLE_ENDIAN));
            int magic = in.int32();
            if (magic != MAGIC) {
                throw in.error("not a GGUF file (it does not start with \"GGUF\")");
            }
            int version = in.int32();
            if (version != 2 && version != 3) {
                throw in.error("GGUF version " + version + " is not supported (only 2 and 3)");
            }
            in.int64(); // tensor count: tensors are not read
            long count = in.int64();
            if (count < 0 || count > 1_000_000) {
                throw in.error("implausible metadata count " + count);
            }
            Map<String, Object> values = new LinkedHashMap<>();
            for (long i = 0; i < count; i++) {
                String key = in.string();
                values.put(key, in.value(in.int32(), key));
            }
            return new GgufMetadata(file, version, Collections.unmodifiableMap(values));
        }
    }

    /** Whether {@code file} starts with the GGUF magic (false for a shorter or unreadable file's start). */
    public static boolean isGguf(Path file) throws IOException {
        try (var in = java.nio.file.Files.newInputStream(file)) {
            byte[] start = in.readNBytes(4);
            return start.length == 4 && ByteBuffer.wrap(start).order(ByteOrder.LITTLE_ENDIAN).getInt() == MAGIC;
        }
    }

    public Path file() {
        return file;
    }

    public int version() {
        return version;
    }

    /** Every key and value, in file order. */
    public Map<String, Object> values() {
        return values;
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    /** A string value; fails naming the key when it is absent or not a string. */
    public String string(String key) throws IOException {
        return typed(key, String.class);
    }

    /** An integer value of any width; fails naming the key when absent or not an integer. */
    public long integer(String key) throws IOException {
        return typed(key, Long.class);
    }

    public boolean bool(String key) throws IOException {
        return typed(key, Boolean.class);
    }

    /** An array of strings (token pieces, merges). */
    public List<String> strings(String key) throws IOException {
        List<?> list = typed(key, List.class);
        List<String> strings = new ArrayList<>(list.size());
        for (Object item : list) {
            if (!(item instanceof String s)) {
                throw new IOException(file + ": metadata " + key + " is not an array of strings");
            }
            strings.add(s);
        }
        return strings;
    }

    public int[] int32s(String key) throws IOException {
        return typed(key, int[].class);
    }

    public float[] float32s(String key) throws IOException {
        return typed(key, float[].class);
    }

    private <T> T typed(String key, Class<T> type) throws IOException {
        Object value = values.get(key);
        if (value == null) {
            throw new IOException(file + " has no metadata key " + key);
        }
        if (!type.isInstance(value)) {
            throw new IOException(file + ": metadata " + key + " is a " + value.getClass().getSimpleName() + ", expected "
                    + type.getSimpleName());
        }
        return type.cast(value);
    }

    /** Little-endian reads from the mapped file that name the offset when they fail. */
    private static final class Reader {
        private final Path file;
        private final ByteBuffer in;
        private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);

        Reader(Path file, ByteBuffer in) {
            this.file = file;
            this.in = in;
        }

        IOException error(String problem) {
            return new IOException(file + " at byte offset " + in.position() + ": " + problem);
        }

        /** The buffer, positioned at the next {@code n} bytes, which are then consumed. */
        private ByteBuffer fill(int n) throws IOException {
            if (in.remaining() < n) {
                throw new EOFException(file + " is truncated at byte offset " + in.limit() + " (metadata incomplete)");
            }
            return in;
        }

        int int32() throws IOException {
            return fill(4).getInt();
        }

        long int64() throws IOException {
            return fill(8).getLong();
        }

        String string() throws IOException {
            long length = int64();
            if (length < 0 || length > MAX_STRING_BYTES) {
                throw error("implausible string length " + length);
            }
            ByteBuffer bytes = fill((int) length).slice(in.position(), (int) length);
            try {
                String text = utf8.decode(bytes).toString();
                in.position(in.position() + (int) length);
                return text;
            } catch (CharacterCodingException e) {
                throw error("string is not valid UTF-8");
            }
        }

        Object value(int type, String key) throws IOException {
            return switch (type) {
                case 0 -> (long) (fill(1).get() & 0xFF);
                case 1 -> (long) fill(1).get();
                case 2 -> (long) (fill(2).getShort() & 0xFFFF);
                case 3 -> (long) fill(2).getShort();
                case 4 -> int32() & 0xFFFFFFFFL;
                case 5 -> (long) int32();
                case 6 -> (double) fill(4).getFloat();
                case 7 -> fill(1).get() != 0;
                case 8 -> string();
                case 9 -> array(key);
                case 10, 11 -> int64();
                case 12 -> fill(8).getDouble();
                default -> throw error("metadata " + key + " has unknown value type " + type);
            };
        }

        private Object array(String key) throws IOException {
            int elementType = int32();
            long count = int64();
            if (count < 0 || count > Integer.MAX_VALUE - 8) {
                throw error("metadata " + key + " has implausible array length " + count);
            }
            int n = (int) count;
            if (elementType == 5 || elementType == 4) {
                int[] ints = new int[n];
                for (int i = 0; i < n; i++) {
                    ints[i] = int32();
                }
                return ints;
            }
            if (elementType == 6) {
                float[] floats = new float[n];
                for (int i = 0; i < n; i++) {
                    floats[i] = fill(4).getFloat();
                }
                return floats;
            }
            List<Object> list = new ArrayList<>(Math.min(n, 1 << 20));
            for (int i = 0; i < n; i++) {
                list.add(value(elementType, key));
            }
            return list;
        }
    }
}
