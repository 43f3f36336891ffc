package io.flinkmamba.savepoint;

import io.flinkmamba.operator.UpgradePolicy;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.OperatorTransformation;
import org.apache.flink.state.api.SavepointReader;
import org.apache.flink.state.api.SavepointWriter;
import org.apache.flink.state.api.StateBootstrapTransformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Writes a new savepoint in which the Mamba operator {@code uid}'s keyed state is upgraded for a new
 * model by a policy (the same decisions as the operator's first-touch upgrade, {@code StateRebuilder});
 * every other operator's state is copied. The job restored from it with the new model and version
 * finds every key already on the new model: no upgrade work at restore, and REPLAY keys are warm.
 * String keys only.
 */
public final class SavepointUpgrader {
    private SavepointUpgrader() {
    }

    public static void upgrade(String savepoint, String uid, String modelDir, String version, UpgradePolicy policy,
                               int replayWindow, int anomalyWindow, String out) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        // no restarts: a restarted bootstrap task re-reads nothing and the job "succeeds" with no keys written
        Configuration noRestart = new Configuration();
        noRestart.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        env.configure(noRestart);
        env.setRuntimeMode(RuntimeExecutionMode.BATCH);
        env.setParallelism(1);
        OperatorIdentifier id = OperatorIdentifier.forUid(uid);
        DataStream<RawKey> keys = SavepointReader.read(env, savepoint)
                .readKeyedState(id, new RawKeyReader(), Types.STRING, TypeInformation.of(RawKey.class));
        StateBootstrapTransformation<RawKey> upgraded = OperatorTransformation.bootstrapWith(keys)
                .keyBy(r -> r.key, Types.STRING)
                .transform(new UpgradeFunction(modelDir, version, policy, replayWindow, anomalyWindow));
        SavepointWriter.fromExistingSavepoint(env, savepoint).removeOperator(id).withOperator(id, upgraded).write(out);
        env.execute("flink-mamba savepoint upgrade");
    }
}
