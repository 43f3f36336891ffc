package io.flinkmamba.kernels.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files (format 1.0-3.0), little-endian float32 or float64, C order: the array
 * shapes and values that the CLI and the conformance tests exchange with PyTorch.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    /** An array read from a .npy file, converted to float32. */
    public static final class FloatArray {
        public final long[] shape;
        public final float[] data;

        public FloatArray(long[] shape, float[] data) {
            this.shape = shape;
            this.data = data;
        }
    }

    private Npy() {
    }

    /** Reads a .npy file as float32 (float64 files are rounded). */
    public static FloatArray read(Path path) {
        return load(path, false).floats;
    }

    /** Reads a .npy file as float64 (no precision lost for float64 files). */
    public static double[] readDoubles(Path path) {
        return load(path, true).doubles;
    }

    /** Shape of a .npy file, after the same checks as {@link #read}. */
    public static long[] shape(Path path) {
        return load(path, false).floats.shape;
    }

    private static final class Loaded {
        FloatArray floats;
        double[] doubles;
    }

    private static Loaded load(Path path, boolean asDoubles) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer pre = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
            if (size < 10 || ch.read(pre, 0) != 10 || !Arrays.equals(Arrays.copyOf(pre.array(), 6), MAGIC)) {
                throw new ModelFormatException(path + ": not a .npy file (bad magic)");
            }
            int major = pre.get(6);
            long headerLen;
            int headerStart;
            if (major == 1) {
                headerLen = pre.getShort(8) & 0xffff;
                headerStart = 10;
            } else if (major == 2 || major == 3) {
                ByteBuffer l = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
                ch.read(l, 8);
                headerLen = l.getInt(0) & 0xffffffffL;
                headerStart = 12;
            } else {
                throw new ModelFormatException(path + ": unsupported .npy version " + major);
            }
            if (headerLen > 1 << 20 || headerStart + headerLen > size) {
                throw new ModelFormatException(path + ": .npy header length " + headerLen + " is invalid");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            ch.read(hb, headerStart);
            String header = new String(hb.array(), StandardCharsets.ISO_8859_1);
            String descr = group(DESCR, header, path, "descr");
            if (group(FORTRAN, header, path, "fortran_order").equals("True")) {
                throw new ModelFormatException(path + ": Fortran-order arrays are not supported; save with C order");
            }
            int width;
            if (descr.equals("<f4")) {
                width = 4;
            } else if (descr.equals("<f8")) {
                width = 8;
            } else {
                throw new ModelFormatException(path + ": dtype '" + descr
                        + "' not supported: expected little-endian float32 (<f4) or float64 (<f8)");
            }
            long[] shape = parseShape(group(SHAPE, header, path, "shape"), path);
            long count = 1;
            for (long d : shape) {
                count = Math.multiplyExact(count, d);
            }
            long dataStart = headerStart + headerLen;
            if (count > Integer.MAX_VALUE - 8 || dataStart + count * width != size) {
                throw new ModelFormatException(path + ": shape " + Arrays.toString(shape) + " of " + descr
                        + " needs " + count * width + " data bytes but the file has " + (size - dataStart));
            }
            ByteBuffer data = ch.map(FileChannel.MapMode.READ_ONLY, dataStart, count * width)
                    .order(ByteOrder.LITTLE_ENDIAN);
            Loaded out = new Loaded();
            int n = (int) count;
            if (asDoubles) {
                out.doubles = new double[n];
                for (int i = 0; i < n; i++) {
                    out.doubles[i] = width == 4 ? data.getFloat(i * 4) : data.getDouble(i * 8);
                }
            } else {
                float[] f = new float[n];
                if (width == 4) {
                    data.asFloatBuffer().get(f);
                } else {
                    for (int i = 0; i < n; i++) {
                        f[i] = (float) data.getDouble(i * 8);
                    }
                }
                out.floats = new FloatArray(shape, f);
            }
            return out;
        } catch (IOException e) {
            throw new ModelFormatException(path + ": cannot read .npy file: " + e.getMessage(), e);
        } catch (ArithmeticException e) {
            throw new ModelFormatException(path + ": .npy shape overflows", e);
        }
    }

    private static String group(Pattern p, String header, Path path, String what) {
        Matcher m = p.matcher(header);
        if (!m.find()) {
            throw new ModelFormatException(path + ": .npy header has no '" + what + "': " + header.trim());
        }
        return m.group(1);
    }

    private static long[] parseShape(String s, Path path) {
        String[] parts = s.split(",");
        return Arrays.stream(parts).map(String::trim).filter(p -> !p.isEmpty()).mapToLong(p -> {
            try {
                long v = Long.parseLong(p);
                if (v < 0) {
                    throw new NumberFormatException();
                }
                return v;
            } catch (NumberFormatException e) {
                throw new ModelFormatException(path + ": bad .npy shape entry '" + p + "'");
            }
        }).toArray();
    }

    /** Writes a little-endian float32 C-order .npy (format 1.0). */
    public static void writeFloat32(Path path, long[] shape, float[] data) throws IOException {
        StringBuilder sh = new StringBuilder();
        for (long d : shape) {
            sh.append(d).append(", ");
        }
        String shapeText = shape.length == 1 ? "(" + shape[0] + ",)" : "(" + sh.substring(0, Math.max(0, sh.length() - 2)) + ")";
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shapeText + ", }";
        int total = MAGIC.length + 4 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        StringBuilder header = new StringBuilder(dict);
        header.append(" ".repeat(pad)).append('\n');
        try (OutputStream out = Files.newOutputStream(path)) {
            out.write(MAGIC);
            out.write(1);
            out.write(0);
            int hl = header.length();
            out.write(hl & 0xff);
            out.write((hl >>> 8) & 0xff);
            out.write(header.toString().getBytes(StandardCharsets.ISO_8859_1));
            ByteBuffer buf = ByteBuffer.allocate(4 * 4096).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < data.length; i++) {
                buf.putFloat(data[i]);
                if (!buf.hasRemaining()) {
                    out.write(buf.array(), 0, buf.position());
                    buf.clear();
                }
            }
            out.write(buf.array(), 0, buf.position());
        }
    }
}
