package io.flinkmamba.operator;

import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/**
 * The per-key state's serializer: a versioned binary format instead of Kryo.
 *
 * <p>Format 1: a format byte (1), model fingerprint (UTF), model version (UTF), events seen (long),
 * state length (int), the state floats. The format byte travels with every value so that a later
 * format can still read states written by this one.
 */
public final class MambaKeyStateSerializer extends TypeSerializer<MambaKeyState> {
    private static final long serialVersionUID = 1L;
    static final byte FORMAT_1 = 1;
    /** Refuses corrupt lengths before allocating: no model has a state this large. */
    static final int MAX_STATE_FLOATS = 1 << 28;

    public static final MambaKeyStateSerializer INSTANCE = new MambaKeyStateSerializer();

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<MambaKeyState> duplicate() {
        return this; // stateless
    }

    @Override
    public MambaKeyState createInstance() {
        return new MambaKeyState(new float[0], 0, "", "");
    }

    @Override
    public MambaKeyState copy(MambaKeyState from) {
        return from.copy();
    }

    @Override
    public MambaKeyState copy(MambaKeyState from, MambaKeyState reuse) {
        return from.copy();
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(MambaKeyState v, DataOutputView out) throws IOException {
        out.writeByte(FORMAT_1);
        out.writeUTF(v.modelFingerprint);
        out.writeUTF(v.modelVersion);
        out.writeLong(v.eventsSeen);
        out.writeInt(v.state.length);
        for (float f : v.state) {
            out.writeFloat(f);
        }
    }

    @Override
    public MambaKeyState deserialize(DataInputView in) throws IOException {
        byte format = in.readByte();
        if (format != FORMAT_1) {
            throw new IOException("unknown Mamba key state format " + format + " (this version reads format " + FORMAT_1 + ")");
        }
        String fingerprint = in.readUTF();
        String version = in.readUTF();
        long seen = in.readLong();
        int n = in.readInt();
        if (n < 0 || n > MAX_STATE_FLOATS) {
            throw new IOException("corrupt Mamba key state: state length " + n);
        }
        float[] s = new float[n];
        for (int i = 0; i < n; i++) {
            s[i] = in.readFloat();
        }
        return new MambaKeyState(s, seen, fingerprint, version);
    }

    @Override
    public MambaKeyState deserialize(MambaKeyState reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MambaKeyStateSerializer;
    }

    @Override
    public int hashCode() {
        return MambaKeyStateSerializer.class.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<MambaKeyState> snapshotConfiguration() {
        return new Snapshot();
    }

    /**
     * Snapshot version 1 describes format 1. A future format answers
     * {@code compatibleAfterMigration} for version-1 snapshots (read old, write new), so states written
     * by this release restore into the next one.
     */
    public static final class Snapshot implements TypeSerializerSnapshot<MambaKeyState> {
        static final int VERSION = 1;
        private int readVersion = VERSION;

        @Override
        public int getCurrentVersion() {
            return VERSION;
        }

        @Override
        public void writeSnapshot(DataOutputView out) {
        }

        @Override
        public void readSnapshot(int version, DataInputView in, ClassLoader cl) throws IOException {
            if (version < 1 || version > VERSION) {
                throw new IOException("cannot read Mamba key state serializer snapshot version " + version
                        + "; this release knows versions 1.." + VERSION);
            }
            readVersion = version;
        }

        @Override
        public TypeSerializer<MambaKeyState> restoreSerializer() {
            return INSTANCE;
        }

        @Override
        public TypeSerializerSchemaCompatibility<MambaKeyState> resolveSchemaCompatibility(
                TypeSerializerSnapshot<MambaKeyState> oldSnapshot) {
            if (!(oldSnapshot instanceof Snapshot)) {
                return TypeSerializerSchemaCompatibility.incompatible();
            }
            int old = ((Snapshot) oldSnapshot).readVersion;
            return old == VERSION ? TypeSerializerSchemaCompatibility.compatibleAsIs()
                    : TypeSerializerSchemaCompatibility.compatibleAfterMigration();
        }
    }
}
