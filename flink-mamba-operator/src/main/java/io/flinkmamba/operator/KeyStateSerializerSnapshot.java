package io.flinkmamba.operator;

import org.apache.flink.api.common.typeutils.TypeSerializer;

/**
 * Snapshot of {@link KeyStateSerializer}; see {@link FormatVersionedSnapshot} for the compatibility
 * rules. Format 2 reads format 1 (state of the release before anomaly scoring): compatible after
 * migration.
 */
public final class KeyStateSerializerSnapshot extends FormatVersionedSnapshot<KeyState> {
    public KeyStateSerializerSnapshot() {
        super(KeyStateSerializer.FORMAT);
    }

    KeyStateSerializerSnapshot(int format) {
        super(format);
    }

    @Override
    int currentFormat() {
        return KeyStateSerializer.FORMAT;
    }

    @Override
    boolean canMigrateFrom(int olderFormat) {
        return olderFormat == 1;
    }

    @Override
    TypeSerializer<KeyState> serializerFor(int format) {
        if (format != 1 && format != KeyStateSerializer.FORMAT) {
            throw new IllegalStateException("key state was written in format " + format
                    + ", this release reads formats 1 and " + KeyStateSerializer.FORMAT);
        }
        return new KeyStateSerializer(format);
    }
}
