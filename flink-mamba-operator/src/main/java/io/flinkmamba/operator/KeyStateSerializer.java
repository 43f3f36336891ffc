package io.flinkmamba.operator;

import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/**
 * Serializer of {@link KeyState}, format 1: state floats (length-prefixed), eventsSeen, then the
 * model fingerprint (boolean present + UTF). Flink state never goes through Kryo.
 */
public final class KeyStateSerializer extends TypeSerializer<KeyState> {
    private static final long serialVersionUID = 1L;
    static final int FORMAT = 1;

    private transient FloatArrayIO floats;

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<KeyState> duplicate() {
        return new KeyStateSerializer(); // holds a scratch buffer: one per thread
    }

    @Override
    public KeyState createInstance() {
        return new KeyState(new float[0], 0, null);
    }

    @Override
    public KeyState copy(KeyState from) {
        return from.deepCopy();
    }

    @Override
    public KeyState copy(KeyState from, KeyState reuse) {
        return from.deepCopy();
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(KeyState s, DataOutputView out) throws IOException {
        floats().write(s.state, out);
        out.writeLong(s.eventsSeen);
        out.writeBoolean(s.modelFingerprint != null);
        if (s.modelFingerprint != null) {
            out.writeUTF(s.modelFingerprint);
        }
    }

    @Override
    public KeyState deserialize(DataInputView in) throws IOException {
        float[] state = floats().read(in);
        long seen = in.readLong();
        String fingerprint = in.readBoolean() ? in.readUTF() : null;
        return new KeyState(state, seen, fingerprint);
    }

    @Override
    public KeyState deserialize(KeyState reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        floats().copy(in, out);
        out.writeLong(in.readLong());
        boolean hasFingerprint = in.readBoolean();
        out.writeBoolean(hasFingerprint);
        if (hasFingerprint) {
            out.writeUTF(in.readUTF());
        }
    }

    private FloatArrayIO floats() {
        if (floats == null) {
            floats = new FloatArrayIO();
        }
        return floats;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyStateSerializer;
    }

    @Override
    public int hashCode() {
        return KeyStateSerializer.class.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<KeyState> snapshotConfiguration() {
        return new KeyStateSerializerSnapshot();
    }
}
