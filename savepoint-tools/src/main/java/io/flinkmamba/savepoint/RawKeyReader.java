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

/** Reads each key's Mamba operator state (String keys) for the upgrade tool. */
final class RawKeyReader extends KeyedStateReaderFunction<String, RawKey> {
    private static final long serialVersionUID = 1L;

    private transient ValueState<KeyState> keyState;
    private transient ListState<PendingEvent> batchBuffer;
    private transient ListState<PendingEvent> orderBuffer;

    @Override
    public void open(OpenContext ctx) {
        keyState = getRuntimeContext().getState(new ValueStateDescriptor<>(KeyedMambaOperator.KEY_STATE, new KeyStateSerializer()));
        batchBuffer = getRuntimeContext().getListState(new ListStateDescriptor<>(KeyedMambaOperator.BATCH_BUFFER, new PendingEventSerializer()));
        orderBuffer = getRuntimeContext().getListState(new ListStateDescriptor<>(KeyedMambaOperator.ORDER_BUFFER, new PendingEventSerializer()));
    }

    @Override
    public void readKey(String key, Context ctx, Collector<RawKey> out) throws Exception {
        RawKey r = new RawKey();
        r.key = key;
        KeyState s = keyState.value();
        if (s != null) {
            DataOutputSerializer b = new DataOutputSerializer(1024);
            new KeyStateSerializer().serialize(s, b);
            r.state = b.getCopyOfBuffer();
        }
        DataOutputSerializer p = new DataOutputSerializer(64);
        PendingEventSerializer ser = new PendingEventSerializer();
        Iterable<PendingEvent> pending = batchBuffer.get();
        if (pending != null) {
            for (PendingEvent e : pending) {
                ser.serialize(e, p);
                r.pendingCount++;
            }
        }
        r.pending = p.getCopyOfBuffer();
        Iterable<PendingEvent> held = orderBuffer.get();
        if (held != null) {
            for (PendingEvent ignored : held) {
                r.heldCount++;
            }
        }
        out.collect(r);
    }
}
