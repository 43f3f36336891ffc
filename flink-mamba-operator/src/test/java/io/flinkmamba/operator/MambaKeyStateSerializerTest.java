package io.flinkmamba.operator;

import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MambaKeyStateSerializerTest {
    final MambaKeyStateSerializer ser = MambaKeyStateSerializer.INSTANCE;

    @Test
    void roundTripsAndCopiesDeeply() throws IOException {
        MambaKeyState s = new MambaKeyState(new float[] {1.5f, -0f, Float.MIN_VALUE, 3e7f}, 42, "abc123", "v7");
        DataOutputSerializer out = new DataOutputSerializer(64);
        ser.serialize(s, out);
        assertEquals(s.serializedBytes(), out.length(), "the state-size metric counts what is written");
        MambaKeyState r = ser.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertArrayEquals(s.state, r.state);
        assertEquals(42, r.eventsSeen);
        assertEquals("abc123", r.modelFingerprint);
        assertEquals("v7", r.modelVersion);
        MambaKeyState c = ser.copy(s);
        c.state[0] = 9f;
        assertEquals(1.5f, s.state[0], "copies do not share the array");
    }

    @Test
    void refusesCorruptBytesWithAReason() throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64);
        out.writeByte(9);
        IOException e = assertThrows(IOException.class, () -> ser.deserialize(new DataInputDeserializer(out.getCopyOfBuffer())));
        assertTrue(e.getMessage().contains("unknown Mamba key state format 9"), e.getMessage());
        DataOutputSerializer bad = new DataOutputSerializer(64);
        bad.writeByte(1);
        bad.writeUTF("f");
        bad.writeUTF("v");
        bad.writeLong(1);
        bad.writeInt(-3);
        e = assertThrows(IOException.class, () -> ser.deserialize(new DataInputDeserializer(bad.getCopyOfBuffer())));
        assertTrue(e.getMessage().contains("state length -3"), e.getMessage());
    }

    @Test
    void snapshotRoundTripsAndAnswersCompatibility() throws IOException {
        TypeSerializerSnapshot<MambaKeyState> snap = ser.snapshotConfiguration();
        DataOutputSerializer out = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, snap);
        TypeSerializerSnapshot<MambaKeyState> restored = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader());
        assertEquals(ser, restored.restoreSerializer());
        TypeSerializerSchemaCompatibility<MambaKeyState> compat = ser.snapshotConfiguration().resolveSchemaCompatibility(restored);
        assertTrue(compat.isCompatibleAsIs());
        IOException e = assertThrows(IOException.class,
                () -> new MambaKeyStateSerializer.Snapshot().readSnapshot(2, new DataInputDeserializer(new byte[0]), null));
        assertTrue(e.getMessage().contains("version 2"), e.getMessage());
    }
}
