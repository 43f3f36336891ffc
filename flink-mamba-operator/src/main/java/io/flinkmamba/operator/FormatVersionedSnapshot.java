package io.flinkmamba.operator;

import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/**
 * Snapshot of one of our serializers: records the data format the state was written in.
 *
 * <p>The compatibility answer, asked of the new serializer's snapshot about the old one: same format,
 * compatible as is; an older format that {@link #canMigrateFrom} knows, compatible after migration
 * (Flink reads with {@link #restoreSerializer()} of the old snapshot and writes with the new one);
 * a newer or unknown format, incompatible (a job cannot read what a later release wrote).
 */
abstract class FormatVersionedSnapshot<T> implements TypeSerializerSnapshot<T> {
    /** Version of this snapshot's own layout (one int: the data format). */
    private static final int SNAPSHOT_VERSION = 1;

    private int format;

    FormatVersionedSnapshot(int format) {
        this.format = format;
    }

    int format() {
        return format;
    }

    abstract int currentFormat();

    /** A serializer that reads data in {@code format} (today only the current one exists). */
    abstract TypeSerializer<T> serializerFor(int format);

    boolean canMigrateFrom(int olderFormat) {
        return false; // format 1 is the first; format 2 will list 1 here and read it in serializerFor
    }

    @Override
    public int getCurrentVersion() {
        return SNAPSHOT_VERSION;
    }

    @Override
    public void writeSnapshot(DataOutputView out) throws IOException {
        out.writeInt(format);
    }

    @Override
    public void readSnapshot(int readVersion, DataInputView in, ClassLoader userCodeClassLoader) throws IOException {
        if (readVersion != SNAPSHOT_VERSION) {
            throw new IOException(getClass().getSimpleName() + ": unknown snapshot version " + readVersion);
        }
        format = in.readInt();
    }

    @Override
    public TypeSerializer<T> restoreSerializer() {
        return serializerFor(format);
    }

    @Override
    public TypeSerializerSchemaCompatibility<T> resolveSchemaCompatibility(TypeSerializerSnapshot<T> oldSnapshot) {
        if (oldSnapshot == null || oldSnapshot.getClass() != getClass()) {
            return TypeSerializerSchemaCompatibility.incompatible();
        }
        int old = ((FormatVersionedSnapshot<T>) oldSnapshot).format;
        if (old == currentFormat()) {
            return TypeSerializerSchemaCompatibility.compatibleAsIs();
        }
        if (old < currentFormat() && canMigrateFrom(old)) {
            return TypeSerializerSchemaCompatibility.compatibleAfterMigration();
        }
        return TypeSerializerSchemaCompatibility.incompatible();
    }
}
