package io.flinkmamba.savepoint;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastScorer;
import io.flinkmamba.kernels.forecast.ForecastState;
import io.flinkmamba.kernels.forecast.Forecaster;
import io.flinkmamba.kernels.io.SafetensorsFile;
import io.flinkmamba.kernels.io.SafetensorsWriter;
import io.flinkmamba.operator.KeyState;
import io.flinkmamba.operator.KeyStateSerializer;
import io.flinkmamba.operator.MambaOperators;
import io.flinkmamba.operator.MambaSpec;
import io.flinkmamba.operator.UpgradePolicy;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.SavepointReader;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A MiniCluster job's savepoint (model gu-1, replay window 16) upgraded offline to gu-2 (the same
 * forecaster with perturbed weights) by REPLAY: every key's state equals a fresh gu-2 run over its
 * last 16 readings, and a job restored from the new savepoint with gu-2 and policy FAIL (so no key may
 * need an upgrade at restore) continues warm.
 */
class SavepointUpgradeTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @TempDir
    Path tmp;

    /** The shipped model with every weight scaled by 1.01: same shapes, another fingerprint. */
    static Path perturbedCopy(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        Files.copy(from.resolve("config.json"), to.resolve("config.json"));
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile st = SafetensorsFile.open(from.resolve("model.safetensors"))) {
            for (SafetensorsFile.TensorInfo t : st.tensors().values()) {
                float[] v = st.readFloats(t.name, t.shape);
                for (int i = 0; i < v.length; i++) {
                    v[i] *= 1.01f;
                }
                w.add(t.name, v, t.shape);
            }
        }
        w.write(to.resolve("model.safetensors"));
        return to;
    }

    static Map<String, KeyState> states(String savepoint) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setRuntimeMode(RuntimeExecutionMode.BATCH);
        env.setParallelism(1);
        Map<String, KeyState> out = new HashMap<>();
        try (CloseableIterator<RawKey> it = SavepointReader.read(env, savepoint)
                .readKeyedState(OperatorIdentifier.forUid("anomaly-scoring"), new RawKeyReader(), Types.STRING,
                        TypeInformation.of(RawKey.class)).executeAndCollect()) {
            while (it.hasNext()) {
                RawKey r = it.next();
                out.put(r.key, new KeyStateSerializer().deserialize(new DataInputDeserializer(r.state)));
            }
        }
        return out;
    }

    @Test
    void replayUpgradeWritesWarmStatesForTheNewModelAndTheRestoredJobContinues() throws Exception {
        Path v2 = perturbedCopy(SavepointInspectTest.model(), tmp.resolve("gu-2"));
        String sp1 = SavepointInspectTest.scoreThenSavepoint(SavepointInspectTest.model(), "gu-1", tmp.resolve("sp1"));
        String sp2 = tmp.resolve("sp2").toString();

        ByteArrayOutputStream text = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = SavepointCommand.run(new String[] {"upgrade", sp1, "--uid", "anomaly-scoring", "--model", v2.toString(),
                        "--policy", "replay", "--version", "gu-2", "--out", sp2},
                new PrintStream(text, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
        Forecaster fc2 = Forecaster.load(v2);
        String t = text.toString(StandardCharsets.UTF_8);
        assertTrue(t.contains("gu-2 " + fc2.fingerprint() + ": " + SavepointInspectTest.KEYS + " keys"), t);

        // each key's state: a fresh gu-2 run over its last WINDOW readings
        Map<String, List<Float>> byKey = new HashMap<>(SavepointInspectTest.INPUTS);
        Map<String, KeyState> upgraded = states(sp2);
        assertEquals(SavepointInspectTest.KEYS, upgraded.size());
        ForecastScorer scorer = new ForecastScorer(fc2, CalibrationSettings.DEFAULT);
        for (Map.Entry<String, KeyState> e : upgraded.entrySet()) {
            List<Float> values = byKey.get(e.getKey());
            ForecastState ref = scorer.newState();
            for (Float v : values.subList(values.size() - SavepointInspectTest.WINDOW, values.size())) {
                scorer.score(ref, new float[] {v});
            }
            KeyState s = e.getValue();
            assertEquals("gu-2", s.modelVersion);
            assertEquals(fc2.fingerprint(), s.modelFingerprint);
            assertEquals(SavepointInspectTest.WINDOW, s.eventsSeen);
            assertEquals(ref.events, s.forecast.events);
            List<Float> buffered = new ArrayList<>();
            s.replay.events().forEach(pe -> buffered.add(pe.input[0]));
            assertEquals(values.subList(values.size() - SavepointInspectTest.WINDOW, values.size()), buffered, "buffer of " + e.getKey());
            assertEquals(ref.mean[0], s.forecast.mean[0], 1e-9 * (1 + Math.abs(ref.mean[0])));
            double num = 0, den = 0;
            for (int i = 0; i < ref.backbone.length; i++) {
                num += Math.pow(ref.backbone[i] - s.state[i], 2);
                den += Math.pow(ref.backbone[i], 2);
            }
            assertTrue(Math.sqrt(num / den) <= 1e-5, "backbone of " + e.getKey() + ": relative L2 " + Math.sqrt(num / den));
        }

        // the job restored from it with gu-2 and policy FAIL: every key is already on gu-2, and warm
        Configuration conf = new Configuration();
        conf.set(StateRecoveryOptions.SAVEPOINT_PATH, sp2);
        conf.set(StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE, true); // the first job's source is not in this one
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        List<Tuple2<String, Float>> more = new ArrayList<>();
        for (int k = 0; k < SavepointInspectTest.KEYS; k++) {
            more.add(Tuple2.of("s" + k, 21f + k));
        }
        MambaSpec<Tuple2<String, Float>> spec = MambaSpec.builder(v2.toString(), "gu-2", new SavepointInspectTest.Values())
                .upgradePolicy(UpgradePolicy.FAIL).replayWindow(SavepointInspectTest.WINDOW).uid("anomaly-scoring").build();
        List<io.flinkmamba.operator.AnomalyScore<String>> outs = new ArrayList<>();
        try (CloseableIterator<io.flinkmamba.operator.AnomalyScore<String>> it = MambaOperators.scoreAnomalies(
                env.fromData(more).uid("readings-2").keyBy(e -> e.f0), spec).executeAndCollect()) {
            it.forEachRemaining(outs::add);
        }
        assertEquals(SavepointInspectTest.KEYS, outs.size());
        for (io.flinkmamba.operator.AnomalyScore<String> s : outs) {
            assertEquals("gu-2", s.modelVersion);
            assertEquals(SavepointInspectTest.WINDOW + 1, s.eventsSeen, "continues from the replayed state");
            assertTrue(Float.isFinite(s.forecast[0]), "a warm key forecasts its next reading");
        }

        // carry onto another shape is refused with the reason
        Path f3 = SavepointInspectTest.model().getParent().resolve("sensor-multivariate");
        ByteArrayOutputStream err2 = new ByteArrayOutputStream();
        ByteArrayOutputStream out2 = new ByteArrayOutputStream();
        int rc2 = SavepointCommand.run(new String[] {"upgrade", sp1, "--uid", "anomaly-scoring", "--model", f3.toString(),
                        "--policy", "carry", "--out", tmp.resolve("sp3").toString()},
                new PrintStream(out2, true, StandardCharsets.UTF_8), new PrintStream(err2, true, StandardCharsets.UTF_8));
        assertEquals(1, rc2, out2.toString(StandardCharsets.UTF_8));
        assertTrue(err2.toString(StandardCharsets.UTF_8).contains("CARRY refused for key s"), err2.toString(StandardCharsets.UTF_8));
        assertTrue(err2.toString(StandardCharsets.UTF_8).contains("1 forecaster features"), err2.toString(StandardCharsets.UTF_8));
    }
}
