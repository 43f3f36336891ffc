package io.flinkmamba.kernels.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A reader of the safetensors format that trusts nothing in the file.
 *
 * <p>Layout: an 8-byte little-endian header length H, H bytes of JSON mapping tensor names to
 * {dtype, shape, data_offsets [begin, end)} relative to the data section, then the data. Every
 * offset, size and shape is checked before any byte is read; tensor data is memory-mapped one
 * tensor at a time, so a multi-GB file never lands in one array.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The official implementation refuses headers above 100 MB; so do we. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /** Element types of the format; we convert the floating ones to float32. */
    public enum DType {
        F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1), U16(2), U32(4), U64(8),
        F8_E4M3(1), F8_E5M2(1);

        public final int bytes;

        DType(int bytes) {
            this.bytes = bytes;
        }

        boolean isFloat() {
            return this == F64 || this == F32 || this == F16 || this == BF16;
        }
    }

    /** One tensor's declared metadata, already validated against the file. */
    public static final class TensorInfo {
        public final String name;
        public final DType dtype;
        public final long[] shape;
        /** Absolute byte positions in the file. */
        final long begin;
        final long end;

        TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
            this.name = name;
            this.dtype = dtype;
            this.shape = shape;
            this.begin = begin;
            this.end = end;
        }

        public long elementCount() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        public String shapeString() {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < shape.length; i++) {
                sb.append(i == 0 ? "" : ", ").append(shape[i]);
            }
            return sb.append(']').toString();
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new ModelFormatException(path + ": cannot open safetensors file: " + e, e);
        }
        try {
            return parse(path, ch);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static SafetensorsFile parse(Path path, FileChannel ch) {
        try {
            long fileSize = ch.size();
            if (fileSize < 8) {
                throw fail(path, "file is " + fileSize + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen < 2 || headerLen > MAX_HEADER_BYTES || headerLen > fileSize - 8) {
                throw fail(path, "header length " + Long.toUnsignedString(headerLen) + " is invalid: expected 2.."
                        + Math.min(MAX_HEADER_BYTES, fileSize - 8) + " for a file of " + fileSize + " bytes");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8);
            JsonNode root;
            try {
                root = new ObjectMapper().readTree(header.array());
            } catch (IOException e) {
                throw fail(path, "header is not valid JSON: " + e.getMessage());
            }
            if (root == null || !root.isObject()) {
                throw fail(path, "header must be a JSON object");
            }
            long dataStart = 8 + headerLen;
            long dataLen = fileSize - dataStart;
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                JsonNode v = e.getValue();
                if (name.equals("__metadata__")) {
                    if (!v.isObject()) {
                        throw fail(path, "__metadata__ must be an object of strings");
                    }
                    v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                tensors.put(name, parseTensor(path, name, v, dataStart, dataLen));
            }
            checkLayout(path, tensors, dataLen, dataStart);
            return new SafetensorsFile(path, ch, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
        } catch (IOException e) {
            throw new ModelFormatException(path + ": cannot read safetensors file: " + e, e);
        }
    }

    private static TensorInfo parseTensor(Path path, String name, JsonNode v, long dataStart, long dataLen) {
        if (!v.isObject()) {
            throw fail(path, "tensor '" + name + "': entry must be an object with dtype, shape, data_offsets");
        }
        JsonNode dt = v.get("dtype");
        if (dt == null || !dt.isTextual()) {
            throw fail(path, "tensor '" + name + "': missing dtype");
        }
        DType dtype;
        try {
            dtype = DType.valueOf(dt.asText());
        } catch (IllegalArgumentException ex) {
            throw fail(path, "tensor '" + name + "': unknown dtype '" + dt.asText() + "'");
        }
        JsonNode sh = v.get("shape");
        if (sh == null || !sh.isArray()) {
            throw fail(path, "tensor '" + name + "': missing shape");
        }
        long[] shape = new long[sh.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
                throw fail(path, "tensor '" + name + "': shape entry " + d + " is not a non-negative integer");
            }
            shape[i] = d.longValue();
            try {
                elements = Math.multiplyExact(elements, shape[i]);
            } catch (ArithmeticException ex) {
                throw fail(path, "tensor '" + name + "': shape " + sh + " overflows");
            }
        }
        JsonNode off = v.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).canConvertToLong()
                || !off.get(1).canConvertToLong() || !off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber()) {
            throw fail(path, "tensor '" + name + "': data_offsets must be [begin, end]");
        }
        long b = off.get(0).longValue();
        long en = off.get(1).longValue();
        if (b < 0 || en < b || en > dataLen) {
            throw fail(path, "tensor '" + name + "': data_offsets [" + b + ", " + en
                    + "] out of range: the data section has " + dataLen + " bytes");
        }
        long expected;
        try {
            expected = Math.multiplyExact(elements, dtype.bytes);
        } catch (ArithmeticException ex) {
            throw fail(path, "tensor '" + name + "': byte size overflows");
        }
        if (en - b != expected) {
            throw fail(path, "tensor '" + name + "': shape " + sh + " x " + dtype + " needs " + expected
                    + " bytes but data_offsets span " + (en - b));
        }
        return new TensorInfo(name, dtype, shape, dataStart + b, dataStart + en);
    }

    /** Spans must not overlap; like the reference implementation we also refuse holes. */
    private static void checkLayout(Path path, Map<String, TensorInfo> tensors, long dataLen, long dataStart) {
        List<TensorInfo> byStart = new ArrayList<>(tensors.values());
        byStart.sort(Comparator.comparingLong((TensorInfo t) -> t.begin).thenComparingLong(t -> t.end));
        long cursor = dataStart;
        TensorInfo prev = null;
        for (TensorInfo t : byStart) {
            if (t.begin < cursor) {
                throw fail(path, "tensor '" + t.name + "' overlaps tensor '" + (prev == null ? "?" : prev.name) + "'");
            }
            if (t.begin > cursor) {
                throw fail(path, "data section has a hole of " + (t.begin - cursor) + " bytes before tensor '" + t.name + "'");
            }
            cursor = t.end;
            prev = t;
        }
        if (cursor != dataStart + dataLen) {
            throw fail(path, "data section has " + (dataStart + dataLen - cursor) + " trailing bytes not claimed by any tensor");
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    private static ModelFormatException fail(Path path, String what) {
        return new ModelFormatException(path + ": " + what);
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public TensorInfo tensor(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw fail(path, "missing tensor '" + name + "'");
        }
        return t;
    }

    /**
     * Reads a floating-point tensor as float32, checking its shape.
     *
     * @param expectedShape the shape the caller needs; a mismatch is an error naming both
     */
    public float[] readFloats(String name, long... expectedShape) {
        TensorInfo t = tensor(name);
        if (!java.util.Arrays.equals(t.shape, expectedShape)) {
            throw fail(path, "tensor '" + name + "' has shape " + t.shapeString() + " but the config expects "
                    + java.util.Arrays.toString(expectedShape));
        }
        if (!t.dtype.isFloat()) {
            throw fail(path, "tensor '" + name + "' has dtype " + t.dtype + "; expected F32, F16, BF16 or F64");
        }
        long n = t.elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw fail(path, "tensor '" + name + "' has " + n + " elements, too many for one float array");
        }
        float[] out = new float[(int) n];
        MappedByteBuffer buf;
        try {
            buf = channel.map(FileChannel.MapMode.READ_ONLY, t.begin, t.end - t.begin);
        } catch (IOException e) {
            throw new ModelFormatException(path + ": cannot map tensor '" + name + "': " + e, e);
        }
        buf.order(ByteOrder.LITTLE_ENDIAN);
        switch (t.dtype) {
            case F32:
                buf.asFloatBuffer().get(out);
                break;
            case F64:
                for (int i = 0; i < out.length; i++) {
                    out[i] = (float) buf.getDouble(i * 8);
                }
                break;
            case F16:
                for (int i = 0; i < out.length; i++) {
                    out[i] = Float16.toFloat(buf.getShort(i * 2));
                }
                break;
            case BF16:
                for (int i = 0; i < out.length; i++) {
                    out[i] = Float.intBitsToFloat((buf.getShort(i * 2) & 0xffff) << 16);
                }
                break;
            default:
                throw new AssertionError(t.dtype);
        }
        return out;
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing to do: the open failed already
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }
}
