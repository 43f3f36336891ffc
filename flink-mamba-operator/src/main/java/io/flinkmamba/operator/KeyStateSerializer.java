package io.flinkmamba.operator;

import io.flinkmamba.kernels.forecast.ForecastStateSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/**
 * Serializer of {@link KeyState}. Flink state never goes through Kryo.
 * <ul>
 *   <li>format 1: state floats (length-prefixed), eventsSeen, then the model fingerprint (boolean
 *       present + UTF);</li>
 *   <li>format 2 (current): format 1, then a boolean "has forecast state" and, when true, the
 *       forecaster's per-key state without its backbone ({@link ForecastStateSerializer}, itself
 *       versioned).</li>
 * </ul>
 * A serializer restored for format 1 reads and writes format 1, so state of the previous release
 * migrates (Flink reads it with the old serializer and writes it with the new one).
 */
public final class KeyStateSerializer extends TypeSerializer<KeyState> {
    private static final long serialVersionUID = 2L;
    static final int FORMAT = 2;

    private final int format;
    private transient FloatArrayIO floats;

    public KeyStateSerializer() {
        this(FORMAT);
    }

    KeyStateSerializer(int format) {
        if (format != 1 && format != FORMAT) {
            throw new IllegalArgumentException("key state format " + format + " is unknown");
        }
        this.format = format;
    }

    int format() {
        return format;
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<KeyState> duplicate() {
        return new KeyStateSerializer(format); // holds a scratch buffer: one per thread
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
        if (format >= 2) {
            out.writeBoolean(s.forecast != null);
            if (s.forecast != null) {
                ForecastStateSerializer.write(s.forecast, out, false);
            }
        }
    }

    @Override
    public KeyState deserialize(DataInputView in) throws IOException {
        float[] state = floats().read(in);
        long seen = in.readLong();
        String fingerprint = in.readBoolean() ? in.readUTF() : null;
        if (format >= 2 && in.readBoolean()) {
            return new KeyState(state, seen, fingerprint, ForecastStateSerializer.read(in, state));
        }
        return new KeyState(state, seen, fingerprint);
    }

    @Override
    public KeyState deserialize(KeyState reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        if (format >= 2) {
            serialize(deserialize(in), out); // the forecast part has no fixed layout to stream across
            return;
        }
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
        return o instanceof KeyStateSerializer && ((KeyStateSerializer) o).format == format;
    }

    @Override
    public int hashCode() {
        return KeyStateSerializer.class.hashCode() * 31 + format;
    }

    @Override
    public TypeSerializerSnapshot<KeyState> snapshotConfiguration() {
        return new KeyStateSerializerSnapshot(format);
    }

    /** Test helper: bytes of a state in this serializer's format. */
    byte[] toBytes(KeyState s) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64);
        serialize(s, out);
        return out.getCopyOfBuffer();
    }

    /** Test helper. */
    KeyState fromBytes(byte[] b) throws IOException {
        return deserialize(new DataInputDeserializer(b));
    }
}
