package io.flinkmamba.savepoint;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.operator.KeyState;
import io.flinkmamba.operator.KeyStateSerializer;
import io.flinkmamba.operator.KeyedMambaOperator;
import io.flinkmamba.operator.PendingEvent;
import io.flinkmamba.operator.PendingEventSerializer;
import io.flinkmamba.operator.StateRebuilder;
import io.flinkmamba.operator.UpgradePolicy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.state.api.functions.KeyedStateBootstrapFunction;

import java.nio.file.Paths;

/** Writes each key's state upgraded for the new model (StateRebuilder), and its pending micro-batch events as they were. */
final class UpgradeFunction extends KeyedStateBootstrapFunction<String, RawKey> {
    private static final long serialVersionUID = 1L;

    private final String modelDir;
    private final String version;
    private final UpgradePolicy policy;
    private final int replayWindow;
    private final int anomalyWindow;

    private transient StateRebuilder rebuilder;
    private transient ValueState<KeyState> keyState;
    private transient ListState<PendingEvent> batchBuffer;

    UpgradeFunction(String modelDir, String version, UpgradePolicy policy, int replayWindow, int anomalyWindow) {
        this.modelDir = modelDir;
        this.version = version;
        this.policy = policy;
        this.replayWindow = replayWindow;
        this.anomalyWindow = anomalyWindow;
    }

    @Override
    public void open(OpenContext ctx) {
        rebuilder = StateRebuilder.load(Paths.get(modelDir), version, replayWindow,
                CalibrationSettings.DEFAULT.withShortWindow(anomalyWindow));
        keyState = getRuntimeContext().getState(new ValueStateDescriptor<>(KeyedMambaOperator.KEY_STATE, new KeyStateSerializer()));
        batchBuffer = getRuntimeContext().getListState(new ListStateDescriptor<>(KeyedMambaOperator.BATCH_BUFFER, new PendingEventSerializer()));
    }

    @Override
    public void processElement(RawKey r, Context ctx) throws Exception {
        if (r.heldCount > 0) {
            throw new IllegalStateException("key " + r.key + " has " + r.heldCount + " events held for event-time ordering; "
                    + "the upgrade tool cannot carry their timers: take the savepoint after the watermark passed them "
                    + "(or drain the job), or let the restored job apply " + "mamba.upgrade.policy");
        }
        if (r.state != null) {
            KeyState old = new KeyStateSerializer().deserialize(new DataInputDeserializer(r.state));
            keyState.update(rebuilder.upgrade(r.key, old, policy).state);
        }
        if (r.pendingCount > 0) {
            DataInputDeserializer in = new DataInputDeserializer(r.pending);
            PendingEventSerializer ser = new PendingEventSerializer();
            for (int i = 0; i < r.pendingCount; i++) {
                batchBuffer.add(ser.deserialize(in));
            }
        }
    }
}
