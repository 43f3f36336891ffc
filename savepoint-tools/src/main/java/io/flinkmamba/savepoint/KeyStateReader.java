package io.flinkmamba.savepoint;

import io.flinkmamba.operator.KeyState;
import io.flinkmamba.operator.KeyStateSerializer;
import io.flinkmamba.operator.KeyedMambaOperator;
import io.flinkmamba.operator.PendingEvent;
import io.flinkmamba.operator.PendingEventSerializer;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.state.api.functions.KeyedStateReaderFunction;
import org.apache.flink.util.Collector;

/** Reads one key's Mamba operator state (key state and both event buffers) into a {@link KeyReport}. */
final class KeyStateReader<K> extends KeyedStateReaderFunction<K, KeyReport> {
    private static final long serialVersionUID = 1L;

    private transient ValueState<KeyState> keyState;
    private transient ListState<PendingEvent> batchBuffer;
    private transient ListState<PendingEvent> orderBuffer;
    private transient KeyStateSerializer serializer;
    private transient DataOutputSerializer bytes;

    @Override
    public void open(OpenContext ctx) {
        keyState = getRuntimeContext().getState(new ValueStateDescriptor<>(KeyedMambaOperator.KEY_STATE, new KeyStateSerializer()));
        batchBuffer = getRuntimeContext().getListState(new ListStateDescriptor<>(KeyedMambaOperator.BATCH_BUFFER, new PendingEventSerializer()));
        orderBuffer = getRuntimeContext().getListState(new ListStateDescriptor<>(KeyedMambaOperator.ORDER_BUFFER, new PendingEventSerializer()));
        serializer = new KeyStateSerializer();
        bytes = new DataOutputSerializer(1024);
    }

    @Override
    public void readKey(K key, Context ctx, Collector<KeyReport> out) throws Exception {
        KeyReport r = new KeyReport();
        r.key = String.valueOf(key);
        KeyState s = keyState.value();
        if (s != null) {
            r.modelFingerprint = s.modelFingerprint;
            r.modelVersion = s.modelVersion;
            r.eventsSeen = s.eventsSeen;
            r.stateFloats = s.state.length;
            r.forecastFeatures = s.forecast == null ? 0 : s.forecast.numFeatures();
            if (s.replay != null) {
                r.replayEvents = s.replay.size();
                r.replayCapacity = s.replay.capacity();
            }
            bytes.clear();
            serializer.serialize(s, bytes);
            r.stateBytes = bytes.length();
        }
        r.pendingEvents = count(batchBuffer.get());
        r.heldEvents = count(orderBuffer.get());
        out.collect(r);
    }

    private static long count(Iterable<PendingEvent> events) {
        long n = 0;
        if (events != null) {
            for (PendingEvent ignored : events) {
                n++;
            }
        }
        return n;
    }
}
