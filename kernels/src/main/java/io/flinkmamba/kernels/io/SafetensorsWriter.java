package io.flinkmamba.kernels.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes float32 tensors in the safetensors format that {@link SafetensorsFile} reads: used to
 * build test checkpoints and to export models. Tensors are laid out in insertion order, without
 * holes; the JSON header is padded with spaces to 8 bytes, as the reference implementation does.
 */
public final class SafetensorsWriter {
    private final Map<String, float[]> data = new LinkedHashMap<>();
    private final Map<String, long[]> shapes = new LinkedHashMap<>();

    /** Adds a float32 tensor; {@code values.length} must equal the product of {@code shape}. */
    public SafetensorsWriter add(String name, float[] values, long... shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        if (n != values.length) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " holds "
                    + n + " values but " + values.length + " were given");
        }
        if (name.equals("__metadata__") || data.containsKey(name)) {
            throw new IllegalArgumentException("tensor name '" + name + "' is reserved or already added");
        }
        data.put(name, values);
        shapes.put(name, shape.clone());
        return this;
    }

    public void write(Path path) throws IOException {
        ObjectNode header = new ObjectMapper().createObjectNode();
        long offset = 0;
        for (Map.Entry<String, float[]> e : data.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", "F32");
            ArrayNode shape = t.putArray("shape");
            for (long d : shapes.get(e.getKey())) {
                shape.add(d);
            }
            long end = offset + 4L * e.getValue().length;
            t.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] headerBytes = Arrays.copyOf(json, padded);
        Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
        try (OutputStream out = Files.newOutputStream(path)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(headerBytes);
            for (float[] values : data.values()) {
                ByteBuffer buf = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
                buf.asFloatBuffer().put(values);
                out.write(buf.array());
            }
        }
    }
}
