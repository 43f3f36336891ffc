package io.flinkmamba.operator;

import org.apache.flink.api.common.typeutils.TypeSerializer;

/** Snapshot of {@link PendingEventSerializer}; see {@link FormatVersionedSnapshot}. */
public final class PendingEventSerializerSnapshot extends FormatVersionedSnapshot<PendingEvent> {
    public PendingEventSerializerSnapshot() {
        super(PendingEventSerializer.FORMAT);
    }

    @Override
    int currentFormat() {
        return PendingEventSerializer.FORMAT;
    }

    @Override
    TypeSerializer<PendingEvent> serializerFor(int format) {
        if (format != PendingEventSerializer.FORMAT) {
            throw new IllegalStateException("pending events were written in format " + format
                    + ", this release reads format " + PendingEventSerializer.FORMAT);
        }
        return new PendingEventSerializer();
    }
}
