package io.flinkmamba.kernels.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NpyTest {
    @TempDir
    Path tmp;

    @Test
    void float32RoundTrip() throws IOException {
        Path p = tmp.resolve("a.npy");
        float[] v = {1f, -2.5f, 3e-8f, 7f, 0f, 1e30f};
        Npy.writeFloat32(p, new long[] {2, 3}, v);
        Npy.FloatArray a = Npy.read(p);
        assertArrayEquals(new long[] {2, 3}, a.shape);
        assertArrayEquals(v, a.data);
        byte[] raw = Files.readAllBytes(p);
        assertTrue((raw.length - v.length * 4) % 64 == 0, "header padded to 64 bytes as numpy does");
    }

    static byte[] npy(String header, byte[] data) {
        String h = header + " ".repeat((64 - (10 + header.length() + 1) % 64) % 64) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + h.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) h.length());
        b.put(h.getBytes(StandardCharsets.ISO_8859_1)).put(data);
        return b.array();
    }

    @Test
    void readsFloat64WithoutLoss() throws IOException {
        ByteBuffer d = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putDouble(0.1).putDouble(-1e-300).putDouble(3);
        Path p = tmp.resolve("d.npy");
        Files.write(p, npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", d.array()));
        assertArrayEquals(new double[] {0.1, -1e-300, 3}, Npy.readDoubles(p));
        assertArrayEquals(new float[] {0.1f, -0f, 3f}, Npy.read(p).data);
    }

    @Test
    void refusesWhatItCannotReadFaithfully() throws IOException {
        Path p = tmp.resolve("bad.npy");
        Files.write(p, npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", new byte[4]));
        assertTrue(assertThrows(ModelFormatException.class, () -> Npy.read(p)).getMessage().contains("dtype '<i4' not supported"));
        Files.write(p, npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", new byte[4]));
        assertTrue(assertThrows(ModelFormatException.class, () -> Npy.read(p)).getMessage().contains("Fortran-order"));
        Files.write(p, npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", new byte[4]));
        assertTrue(assertThrows(ModelFormatException.class, () -> Npy.read(p)).getMessage().contains("needs 12 data bytes but the file has 4"));
        Files.write(p, "hello, world".getBytes(StandardCharsets.UTF_8));
        assertTrue(assertThrows(ModelFormatException.class, () -> Npy.read(p)).getMessage().contains("bad magic"));
    }
}
