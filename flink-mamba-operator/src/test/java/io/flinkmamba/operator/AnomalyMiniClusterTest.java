package io.flinkmamba.operator;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** scoreAnomalies as a real job on a MiniCluster (2 slots): equal to the kernels' per-event loop, bad events rejected. */
class AnomalyMiniClusterTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @TempDir
    static Path tmp;
    static ForecasterFixture fx;

    @BeforeAll
    static void writeModel() throws Exception {
        fx = new ForecasterFixture(tmp);
    }

    @ParameterizedTest
    @EnumSource(ScoringMode.class)
    void scoresEveryKeyLikeTheKernelsLoop(ScoringMode mode) throws Exception {
        List<TestEvent> valid = ForecasterFixture.events(20, 1500, 5);
        List<TestEvent> input = new ArrayList<>(valid);
        input.add(700, new TestEvent("k7", 5, new float[] {Float.NaN, 1}));
        input.add(900, new TestEvent("k8", 6, new float[] {1}));
        Configuration conf = new Configuration();
        conf.set(MambaOptions.MODE, mode);
        conf.set(MambaOptions.BATCH_MAX_EVENTS, 128);
        conf.set(MambaOptions.ANOMALY_WARMUP_EVENTS, 20);
        conf.set(MambaOptions.ANOMALY_THRESHOLD, 0.99);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        SingleOutputStreamOperator<AnomalyScore<String>> scores = MambaOperators.scoreAnomalies(
                env.fromData(input, TypeInformation.of(TestEvent.class)).setParallelism(1).keyBy(e -> e.key),
                MambaSpec.builder(fx.modelDir.toString(), "fc1", new TestEvent.Extractor()).build());
        CloseableIterator<AnomalyScore<String>> scored = scores.collectAsync();
        CloseableIterator<RejectedEvent> rejected = scores.getSideOutput(MambaOperators.REJECTED).collectAsync();
        env.execute("anomaly e2e " + mode);
        List<AnomalyScore<String>> out = new ArrayList<>();
        scored.forEachRemaining(out::add);
        List<RejectedEvent> bad = new ArrayList<>();
        rejected.forEachRemaining(bad::add);
        CalibrationSettings cal = CalibrationSettings.DEFAULT.withWarmupEvents(20).withThreshold(0.99);
        fx.assertMatches(fx.reference(valid, cal), out,
                mode == ScoringMode.PER_EVENT ? AnomalyScoringOperatorTest.STEP_TOL : AnomalyScoringOperatorTest.BATCH_TOL, 0.99);
        assertEquals(2, bad.size(), bad.toString());
        assertTrue(out.stream().anyMatch(s -> s.isAnomaly));
    }
}
