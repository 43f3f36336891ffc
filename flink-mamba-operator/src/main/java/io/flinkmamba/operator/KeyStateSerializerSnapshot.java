package io.flinkmamba.operator;

import org.apache.flink.api.common.typeutils.TypeSerializer;

/** Snapshot of {@link KeyStateSerializer}; see {@link FormatVersionedSnapshot} for the compatibility rules. */
public final class KeyStateSerializerSnapshot extends FormatVersionedSnapshot<KeyState> {
    public KeyStateSerializerSnapshot() {
        super(KeyStateSerializer.FORMAT);
    }

    @Override
    int currentFormat() {
        return KeyStateSerializer.FORMAT;
    }

    @Override
    TypeSerializer<KeyState> serializerFor(int format) {
        if (format != KeyStateSerializer.FORMAT) {
            throw new IllegalStateException("key state was written in format " + format
                    + ", this release reads format " + KeyStateSerializer.FORMAT);
        }
        return new KeyStateSerializer();
    }
}
