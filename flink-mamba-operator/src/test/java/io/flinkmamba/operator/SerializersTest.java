package io.flinkmamba.operator;

import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SerializersTest {
    private static <T> byte[] bytes(TypeSerializer<T> s, T value) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64);
        s.serialize(value, out);
        return out.getCopyOfBuffer();
    }

    @Test
    void keyStateRoundTrips() throws IOException {
        float[] state = {0f, -1.5f, Float.MIN_VALUE, 3.4e38f, -0f, 1e-30f, 7f};
        KeyState s = new KeyState(state, 123456789012L, "ab12");
        KeyStateSerializer ser = new KeyStateSerializer();
        KeyState back = ser.deserialize(new DataInputDeserializer(bytes(ser, s)));
        assertArrayEquals(state, back.state);
        assertEquals(123456789012L, back.eventsSeen);
        assertEquals("ab12", back.modelFingerprint);

        KeyState noFingerprint = ser.deserialize(new DataInputDeserializer(bytes(ser, new KeyState(new float[0], 0, null))));
        assertNull(noFingerprint.modelFingerprint);
        assertEquals(0, noFingerprint.state.length);
    }

    @Test
    void keyStateCopiesAreDeepAndStreamCopiesAreExact() throws IOException {
        KeyState s = new KeyState(new float[] {1, 2, 3}, 5, "f");
        KeyStateSerializer ser = new KeyStateSerializer();
        KeyState c = ser.copy(s);
        assertNotSame(s.state, c.state);
        s.state[0] = 9;
        assertEquals(1f, c.state[0]);

        byte[] original = bytes(ser, s);
        DataOutputSerializer out = new DataOutputSerializer(16);
        ser.copy(new DataInputDeserializer(original), out);
        assertArrayEquals(original, out.getCopyOfBuffer());
    }

    @Test
    void pendingEventRoundTripsAndCopiesExactly() throws IOException {
        PendingEvent e = new PendingEvent(-42L, new float[] {1f, Float.MAX_VALUE, -3f});
        PendingEventSerializer ser = new PendingEventSerializer();
        byte[] b = bytes(ser, e);
        PendingEvent back = ser.deserialize(new DataInputDeserializer(b));
        assertEquals(-42L, back.eventTime);
        assertArrayEquals(e.input, back.input);
        DataOutputSerializer out = new DataOutputSerializer(16);
        ser.copy(new DataInputDeserializer(b), out);
        assertArrayEquals(b, out.getCopyOfBuffer());
    }

    @Test
    void aCorruptLengthIsAnIOExceptionNotAnOutOfMemoryError() {
        DataOutputSerializer out = new DataOutputSerializer(16);
        assertThrows(IOException.class, () -> {
            out.writeInt(-7);
            new KeyStateSerializer().deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        });
    }

    private static <T> TypeSerializerSnapshot<T> roundTrip(TypeSerializerSnapshot<T> snap) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(16);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, snap);
        return TypeSerializerSnapshot.readVersionedSnapshot(new DataInputDeserializer(out.getCopyOfBuffer()),
                SerializersTest.class.getClassLoader());
    }

    @Test
    void snapshotsRestoreTheirSerializerAndAreCompatibleWithThemselves() throws IOException {
        TypeSerializerSnapshot<KeyState> restored = roundTrip(new KeyStateSerializer().snapshotConfiguration());
        assertTrue(restored instanceof KeyStateSerializerSnapshot);
        assertEquals(new KeyStateSerializer(), restored.restoreSerializer());
        assertTrue(new KeyStateSerializer().snapshotConfiguration().resolveSchemaCompatibility(restored).isCompatibleAsIs());

        TypeSerializerSnapshot<PendingEvent> p = roundTrip(new PendingEventSerializer().snapshotConfiguration());
        assertTrue(new PendingEventSerializer().snapshotConfiguration().resolveSchemaCompatibility(p).isCompatibleAsIs());
    }

    @Test
    void stateWrittenInAnUnknownLaterFormatIsIncompatible() throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(16);
        out.writeInt(KeyStateSerializer.FORMAT + 1); // what a later release would write
        KeyStateSerializerSnapshot future = new KeyStateSerializerSnapshot();
        future.readSnapshot(future.getCurrentVersion(), new DataInputDeserializer(out.getCopyOfBuffer()), null);
        TypeSerializerSchemaCompatibility<KeyState> c =
                new KeyStateSerializer().snapshotConfiguration().resolveSchemaCompatibility(future);
        assertTrue(c.isIncompatible());
        assertThrows(IllegalStateException.class, future::restoreSerializer);
    }

    @Test
    @SuppressWarnings({"unchecked", "rawtypes"})
    void anotherSerializersSnapshotIsIncompatible() {
        TypeSerializerSnapshot other = new PendingEventSerializerSnapshot();
        assertTrue(new KeyStateSerializerSnapshot().resolveSchemaCompatibility(other).isIncompatible());
    }

    /** Bytes exactly as the previous release (format 1) wrote them: floats, eventsSeen, fingerprint. */
    private static byte[] formatOneBytes(float[] state, long seen, String fingerprint) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64);
        out.writeInt(state.length);
        for (float f : state) {
            out.writeFloat(f);
        }
        out.writeLong(seen);
        out.writeBoolean(true);
        out.writeUTF(fingerprint);
        return out.getCopyOfBuffer();
    }

    @Test
    void stateOfThePreviousFormatRestoresAfterMigration() throws IOException {
        byte[] old = formatOneBytes(new float[] {1f, -2f, 3.5f}, 42, "fp-old");
        // the snapshot the previous release wrote: format 1
        DataOutputSerializer snap = new DataOutputSerializer(8);
        snap.writeInt(1);
        KeyStateSerializerSnapshot oldSnapshot = new KeyStateSerializerSnapshot();
        oldSnapshot.readSnapshot(oldSnapshot.getCurrentVersion(), new DataInputDeserializer(snap.getCopyOfBuffer()), null);

        TypeSerializerSchemaCompatibility<KeyState> c =
                new KeyStateSerializer().snapshotConfiguration().resolveSchemaCompatibility(oldSnapshot);
        assertTrue(c.isCompatibleAfterMigration(), c.toString());
        TypeSerializer<KeyState> reader = oldSnapshot.restoreSerializer();
        KeyState back = reader.deserialize(new DataInputDeserializer(old));
        assertArrayEquals(new float[] {1f, -2f, 3.5f}, back.state);
        assertEquals(42, back.eventsSeen);
        assertEquals("fp-old", back.modelFingerprint);
        assertNull(back.forecast);
        // Flink then writes it with the new serializer: format 2 reads it back the same
        KeyState again = new KeyStateSerializer().deserialize(new DataInputDeserializer(bytes(new KeyStateSerializer(), back)));
        assertArrayEquals(back.state, again.state);
        assertEquals(42, again.eventsSeen);
        // and a format-1 serializer still writes format 1
        assertArrayEquals(old, bytes(reader, back));
    }

    @Test
    void keyStateWithForecastStateRoundTripsSharesTheBackboneAndCopiesExactly() throws IOException {
        io.flinkmamba.kernels.forecast.ForecastState f = new io.flinkmamba.kernels.forecast.ForecastState(null, 2, 3);
        f.events = 7;
        f.mean = new double[] {1.5, -2};
        f.var = new double[] {0.25, 4};
        f.mu = new float[] {0.1f, -0.2f};
        f.logVar = new float[] {-1f, 0.5f};
        f.scores = 6;
        f.longMean = 1.25;
        f.longVar = 0.5;
        f.recent = new double[] {1, 2, 3};
        f.recentNext = 1;
        f.recentCount = 3;
        KeyState s = new KeyState(new float[] {9f, 8f, 7f}, 7, "fp", f);
        KeyStateSerializer ser = new KeyStateSerializer();
        byte[] b = bytes(ser, s);
        KeyState back = ser.deserialize(new DataInputDeserializer(b));
        assertEquals(f, back.forecast);
        assertTrue(back.forecast.backbone == back.state, "the forecast state's backbone is the key state's array");
        KeyState copy = ser.copy(back);
        assertTrue(copy.forecast.backbone == copy.state);
        assertEquals(back.forecast, copy.forecast);
        DataOutputSerializer out = new DataOutputSerializer(16);
        ser.copy(new DataInputDeserializer(b), out);
        assertArrayEquals(b, out.getCopyOfBuffer());
    }
}
