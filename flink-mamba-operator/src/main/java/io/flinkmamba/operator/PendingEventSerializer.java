package io.flinkmamba.operator;

import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/** Serializer of {@link PendingEvent}, format 1: eventTime, then the input floats (length-prefixed). */
public final class PendingEventSerializer extends TypeSerializer<PendingEvent> {
    private static final long serialVersionUID = 1L;
    static final int FORMAT = 1;

    private transient FloatArrayIO floats;

    @Override
    public boolean isImmutableType() {
        return true; // never mutated after construction; its array is not shared with callers
    }

    @Override
    public TypeSerializer<PendingEvent> duplicate() {
        return new PendingEventSerializer();
    }

    @Override
    public PendingEvent createInstance() {
        return new PendingEvent(FeatureExtractor.NO_TIMESTAMP, new float[0]);
    }

    @Override
    public PendingEvent copy(PendingEvent from) {
        return from;
    }

    @Override
    public PendingEvent copy(PendingEvent from, PendingEvent reuse) {
        return from;
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(PendingEvent e, DataOutputView out) throws IOException {
        out.writeLong(e.eventTime);
        floats().write(e.input, out);
    }

    @Override
    public PendingEvent deserialize(DataInputView in) throws IOException {
        long t = in.readLong();
        return new PendingEvent(t, floats().read(in));
    }

    @Override
    public PendingEvent deserialize(PendingEvent reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        out.writeLong(in.readLong());
        floats().copy(in, out);
    }

    private FloatArrayIO floats() {
        if (floats == null) {
            floats = new FloatArrayIO();
        }
        return floats;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PendingEventSerializer;
    }

    @Override
    public int hashCode() {
        return PendingEventSerializer.class.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<PendingEvent> snapshotConfiguration() {
        return new PendingEventSerializerSnapshot();
    }
}
