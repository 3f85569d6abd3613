package dev.nightshift.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@code .safetensors} file: a little-endian u64 header length N, N bytes of JSON
 * ({@code {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}}), then the data, with offsets
 * relative to the data's start. The header is checked when the file is opened, the data mapped when a tensor is read.
 */
final class SafetensorsFile implements Closeable {

    /** The safetensors format caps the header at 100 MB; larger means a corrupt or foreign file. */
    private static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final Map<String, Integer> DTYPE_BYTES = Map.ofEntries(Map.entry("F64", 8), Map.entry("F32", 4),
            Map.entry("F16", 2), Map.entry("BF16", 2), Map.entry("I64", 8), Map.entry("I32", 4), Map.entry("I16", 2),
            Map.entry("I8", 1), Map.entry("U64", 8), Map.entry("U32", 4), Map.entry("U16", 2), Map.entry("U8", 1),
            Map.entry("BOOL", 1), Map.entry("F8_E4M3", 1), Map.entry("F8_E5M2", 1));

    /** One header entry; {@code begin} and {@code end} are absolute file offsets. */
    record Entry(String name, String dtype, List<Long> shape, long begin, long end) {
    }

    private final Path file;
    private final FileChannel channel;
    private final Map<String, Entry> entries;

    private SafetensorsFile(Path file, FileChannel channel, Map<String, Entry> entries) {
        this.file = file;
        this.channel = channel;
        this.entries = entries;
    }

    static SafetensorsFile open(Path file) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return new SafetensorsFile(file, channel, readHeader(file, channel));
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private static Map<String, Entry> readHeader(Path file, FileChannel channel) throws IOException {
        long size = channel.size();
        if (size < 8) {
            throw new CheckpointException("truncated safetensors file " + file + ": " + size
                    + " bytes, fewer than the 8-byte header length");
        }
        ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        channel.read(lengthBytes, 0);
        long headerLength = lengthBytes.getLong(0);
        if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8) {
            throw new CheckpointException("corrupt or truncated safetensors file " + file + ": header length "
                    + Long.toUnsignedString(headerLength) + " does not fit the file's " + size + " bytes");
        }
        ByteBuffer json = ByteBuffer.allocate((int) headerLength);
        while (json.hasRemaining()) {
            if (channel.read(json, 8 + json.position()) < 0) {
                throw new CheckpointException("truncated safetensors file " + file + ": the header ends early");
            }
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json.array());
        } catch (JsonProcessingException e) {
            throw new CheckpointException("corrupt safetensors header JSON in " + file + ": "
                    + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException("corrupt safetensors header JSON in " + file + ": not a JSON object");
        }
        long dataStart = 8 + headerLength;
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (!field.getKey().equals("__metadata__")) {
                Entry entry = entry(file, field.getKey(), field.getValue(), dataStart);
                if (entry.end() > size) {
                    throw new CheckpointException("truncated safetensors file " + file + ": tensor " + entry.name()
                            + " ends at byte " + entry.end() + " but the file has " + size + " bytes");
                }
                entries.put(entry.name(), entry);
            }
        }
        return entries;
    }

    private static Entry entry(Path file, String name, JsonNode node, long dataStart) throws CheckpointException {
        JsonNode dtype = node.get("dtype");
        JsonNode shape = node.get("shape");
        JsonNode offsets = node.get("data_offsets");
        if (dtype == null || !dtype.isTextual() || shape == null || !shape.isArray() || offsets == null
                || !offsets.isArray() || offsets.size() != 2 || !offsets.get(0).canConvertToLong()
                || !offsets.get(1).canConvertToLong()) {
            throw new CheckpointException("corrupt safetensors header in " + file + ": entry " + name
                    + " needs dtype, shape and data_offsets [begin, end], found " + node);
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        List<Long> dims = new ArrayList<>();
        long count = 1;
        for (JsonNode dim : shape) {
            if (!dim.canConvertToLong() || dim.asLong() < 0 || dim.asLong() > Integer.MAX_VALUE) {
                throw new CheckpointException("corrupt safetensors header in " + file + ": tensor " + name
                        + " has shape " + shape);
            }
            long d = dim.asLong();
            dims.add(d);
            count = count > (1L << 40) / Math.max(1, d) ? 1L << 40 : count * d; // saturates: no tensor is that big
        }
        Integer elementBytes = DTYPE_BYTES.get(dtype.asText());
        if (begin < 0 || end < begin || (elementBytes != null && end - begin != count * elementBytes)) {
            throw new CheckpointException("corrupt safetensors header in " + file + ": tensor " + name + " ("
                    + dtype.asText() + " " + shape + ") has data_offsets [" + begin + ", " + end + "]");
        }
        return new Entry(name, dtype.asText(), List.copyOf(dims), dataStart + begin, dataStart + end);
    }

    Path file() {
        return file;
    }

    /** The named entry, or null. */
    Entry entry(String name) {
        return entries.get(name);
    }

    Map<String, Entry> entries() {
        return entries;
    }

    /** A row view of an entry already checked to hold rows x cols values of this encoding. */
    Tensor map(Entry entry, int rows, int cols, MappedTensor.Encoding encoding) {
        return new MappedTensor(entry.name(), file, channel, entry.begin(), rows, cols, encoding);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
