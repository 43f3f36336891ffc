package io.flinkmamba.kernels.io;

import io.flinkmamba.kernels.testing.RawSafetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsFileTest {
    @TempDir
    Path tmp;

    private Path write(byte[] bytes) throws IOException {
        Path p = tmp.resolve("model.safetensors");
        Files.write(p, bytes);
        return p;
    }

    private static byte[] le(int bytesPer, double... vals) {
        ByteBuffer b = ByteBuffer.allocate(bytesPer * vals.length).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : vals) {
            switch (bytesPer) {
                case 4: b.putFloat((float) v); break;
                case 8: b.putDouble(v); break;
                default: throw new AssertionError();
            }
        }
        return b.array();
    }

    @Test
    void readsEveryFloatDtype() throws IOException {
        // F16 0x3c00 = 1.0, 0xc000 = -2.0, 0x0001 = smallest subnormal 2^-24, 0x7bff = 65504
        // BF16 0x3f80 = 1.0, 0xc040 = -3.0; F64 and F32 as written
        ByteBuffer data = ByteBuffer.allocate(8 + 4 + 8 + 16).order(ByteOrder.LITTLE_ENDIAN);
        data.putShort((short) 0x3c00).putShort((short) 0xc000).putShort((short) 0x0001).putShort((short) 0x7bff);
        data.putShort((short) 0x3f80).putShort((short) 0xc040);
        data.putFloat(0.5f).putFloat(-7.25f);
        data.putDouble(1e-3).putDouble(-2.5);
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]},"
                + "\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]},"
                + "\"d\":{\"dtype\":\"F64\",\"shape\":[2,1],\"data_offsets\":[20,36]}}";
        try (SafetensorsFile st = SafetensorsFile.open(write(RawSafetensors.file(header, data.array())))) {
            assertArrayEquals(new float[] {1f, -2f, 0x1p-24f, 65504f}, st.readFloats("h", 2, 2));
            assertArrayEquals(new float[] {1f, -3f}, st.readFloats("b", 2));
            assertArrayEquals(new float[] {0.5f, -7.25f}, st.readFloats("f", 2));
            assertArrayEquals(new float[] {1e-3f, -2.5f}, st.readFloats("d", 2, 1));
            assertEquals("pt", st.metadata().get("format"));
            assertEquals(4, st.tensors().size());
        }
    }

    static Stream<Arguments> hostile() {
        byte[] two = le(4, 1, 2);
        return Stream.of(
                Arguments.of("shorter than the length prefix", new byte[] {1, 2, 3}, "shorter than the 8-byte header"),
                Arguments.of("header length beyond the file",
                        RawSafetensors.file(1000, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]), "header length 1000 is invalid"),
                Arguments.of("header length negative as u64",
                        RawSafetensors.file(-5, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]), "is invalid"),
                Arguments.of("header not JSON", RawSafetensors.file("{\"a\": [", new byte[0]), "not valid JSON"),
                Arguments.of("header a JSON array", RawSafetensors.file("[1,2]", new byte[0]), "must be a JSON object"),
                Arguments.of("unknown dtype", RawSafetensors.file(
                        "{\"w\":{\"dtype\":\"F12\",\"shape\":[2],\"data_offsets\":[0,8]}}", two), "tensor 'w': unknown dtype 'F12'"),
                Arguments.of("negative shape", RawSafetensors.file(
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", two), "tensor 'w': shape entry -2"),
                Arguments.of("offsets out of range", RawSafetensors.file(
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,800]}}", two), "tensor 'w': data_offsets [0, 800] out of range"),
                Arguments.of("offsets reversed", RawSafetensors.file(
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", two), "out of range"),
                Arguments.of("shape x dtype does not match the span", RawSafetensors.file(
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", two), "needs 12 bytes but data_offsets span 8"),
                Arguments.of("shape overflows", RawSafetensors.file(
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", two), "overflows"),
                Arguments.of("overlapping tensors", RawSafetensors.file(
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", two), "overlaps"),
                Arguments.of("hole in the data", RawSafetensors.file(
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", two), "hole of 4 bytes before tensor 'a'"),
                Arguments.of("trailing bytes", RawSafetensors.file(
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", two), "4 trailing bytes"),
                Arguments.of("entry not an object", RawSafetensors.file("{\"a\":5}", new byte[0]), "tensor 'a': entry must be an object"),
                Arguments.of("offsets malformed", RawSafetensors.file(
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", le(4, 1)), "data_offsets must be [begin, end]"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostile")
    void refusesHostileFilesNamingFileAndProblem(String name, byte[] bytes, String expected) throws IOException {
        Path p = write(bytes);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(p).close());
        assertTrue(e.getMessage().contains(p.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expected), "says '" + expected + "': " + e.getMessage());
    }

    @Test
    void readChecksShapeAndDtypeAgainstTheCaller() throws IOException {
        String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"i\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        byte[] data = new byte[12];
        try (SafetensorsFile st = SafetensorsFile.open(write(RawSafetensors.file(header, data)))) {
            ModelFormatException shape = assertThrows(ModelFormatException.class, () -> st.readFloats("w", 1, 2));
            assertTrue(shape.getMessage().contains("tensor 'w' has shape [2] but the config expects [1, 2]"), shape.getMessage());
            ModelFormatException dtype = assertThrows(ModelFormatException.class, () -> st.readFloats("i", 1));
            assertTrue(dtype.getMessage().contains("tensor 'i' has dtype I32"), dtype.getMessage());
            ModelFormatException missing = assertThrows(ModelFormatException.class, () -> st.readFloats("nope", 1));
            assertTrue(missing.getMessage().contains("missing tensor 'nope'"), missing.getMessage());
        }
    }

    @Test
    void missingFileIsAClearError() {
        Path p = tmp.resolve("absent.safetensors");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(p));
        assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("cannot open"), e.getMessage());
    }
}
