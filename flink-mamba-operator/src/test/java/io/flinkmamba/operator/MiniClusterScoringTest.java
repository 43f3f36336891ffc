package io.flinkmamba.operator;

import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A real job on a Flink MiniCluster: a bounded stream of many keys, scored at parallelism 2. */
class MiniClusterScoringTest {
    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(ScoringMode.class)
    void jobResultsEqualAPlainLoopOverTheCoreStep(ScoringMode mode) throws Exception {
        Path modelDir = TestEvents.writeModel(tmp.resolve("model"), 21);
        MambaModel model = MambaModel.load(modelDir);
        List<Tuple3<String, Long, float[]>> events = new ArrayList<>(TestEvents.stream(300, 6000, 22));
        float[] bad = new float[5];
        events.add(1234, Tuple3.of("k7", 0L, bad)); // wrong feature count: must come out rejected, not lost

        Configuration conf = new Configuration();
        conf.set(MambaOptions.MODE, mode);
        conf.set(MambaOptions.BATCH_MAX_EVENTS, 256);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        MambaSpec spec = MambaSpec.builder(modelDir.toString()).withConfiguration(conf).modelVersion("it").build();
        @SuppressWarnings("unchecked")
        Tuple3<String, Long, float[]>[] data = events.toArray(new Tuple3[0]);
        DataStream<Tuple3<String, Long, float[]>> source = env.fromData(TestEvents.TYPE, data).setParallelism(1);
        ScoredStream<String, Tuple3<String, Long, float[]>> scored = MambaOperators.score(
                source.keyBy(e -> e.f0), spec, new TestEvents.Extract());
        CloseableIterator<MambaScore<String>> scores = scored.scores().collectAsync();
        CloseableIterator<RejectedEvent<Tuple3<String, Long, float[]>>> rejected = scored.rejected().collectAsync();
        env.execute("mamba-minicluster-" + mode);

        List<MambaScore<String>> got = new ArrayList<>();
        scores.forEachRemaining(got::add);
        List<RejectedEvent<Tuple3<String, Long, float[]>>> rej = new ArrayList<>();
        rejected.forEachRemaining(rej::add);
        assertEquals(6000, got.size(), "every good event scored exactly once");
        assertEquals(1, rej.size());
        assertEquals("k7", rej.get(0).key);
        assertEquals("wrong feature count: got 5, the model expects 8", rej.get(0).reason);
        events.remove(1234);
        Map<String, List<float[]>> want = TestEvents.reference(model, events);
        double err = TestEvents.maxError(TestEvents.byKey(got), want);
        assertTrue(err < 1e-5, "max relative error vs the plain loop " + err);
    }
}
