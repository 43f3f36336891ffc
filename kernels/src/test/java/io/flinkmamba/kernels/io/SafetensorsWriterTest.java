package io.flinkmamba.kernels.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SafetensorsWriterTest {
    @TempDir
    Path dir;

    @Test
    void roundTripsThroughTheReader() throws Exception {
        float[] a = {1f, -2.5f, Float.MIN_VALUE, 3e30f, 0f, -0f};
        float[] b = {42f};
        float[] empty = {};
        Path file = dir.resolve("t.safetensors");
        new SafetensorsWriter().add("a", a, 2, 3).add("b.weight", b, 1).add("empty", empty, 0, 4).write(file);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(3, st.tensors().size());
            assertArrayEquals(new long[] {2, 3}, st.tensors().get("a").shape);
            assertEquals(SafetensorsFile.DType.F32, st.tensors().get("a").dtype);
            assertArrayEquals(a, st.readFloats("a", 2, 3));
            assertArrayEquals(b, st.readFloats("b.weight", 1));
            assertArrayEquals(empty, st.readFloats("empty", 0, 4));
        }
    }

    @Test
    void refusesAShapeThatDoesNotMatchTheValues() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SafetensorsWriter().add("x", new float[5], 2, 3));
        assertEquals("tensor 'x': shape [2, 3] holds 6 values but 5 were given", e.getMessage());
    }

    @Test
    void refusesDuplicateNames() {
        SafetensorsWriter w = new SafetensorsWriter().add("x", new float[1], 1);
        assertThrows(IllegalArgumentException.class, () -> w.add("x", new float[1], 1));
    }
}
