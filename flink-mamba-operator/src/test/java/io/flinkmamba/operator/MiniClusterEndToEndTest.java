package io.flinkmamba.operator;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real jobs on a MiniCluster (2 slots): the operator's results equal a plain loop over the core's step. */
class MiniClusterEndToEndTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @TempDir
    static Path tmp;
    static Fixture fx;

    @BeforeAll
    static void writeModel() throws Exception {
        fx = new Fixture(tmp);
    }

    @ParameterizedTest
    @EnumSource(ScoringMode.class)
    void aBoundedStreamOfManyKeysEqualsAPlainStepLoop(ScoringMode mode) throws Exception {
        List<TestEvent> valid = Fixture.events(300, 6000, 11);
        List<TestEvent> input = new ArrayList<>(valid);
        input.add(1234, new TestEvent("k7", 5, new float[3])); // wrong feature count
        Configuration conf = new Configuration();
        conf.set(MambaOptions.MODE, mode); // through the job's configuration, not the builder
        conf.set(MambaOptions.BATCH_MAX_EVENTS, 256);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);

        SingleOutputStreamOperator<MambaScore<String>> scores = MambaOperators.score(
                env.fromData(input, TypeInformation.of(TestEvent.class)).setParallelism(1).keyBy(e -> e.key),
                fx.spec().build());
        CloseableIterator<MambaScore<String>> scored = scores.collectAsync();
        CloseableIterator<RejectedEvent> rejected = scores.getSideOutput(MambaOperators.REJECTED).collectAsync();
        env.execute("mamba e2e " + mode);

        List<MambaScore<String>> out = new ArrayList<>();
        scored.forEachRemaining(out::add);
        List<RejectedEvent> bad = new ArrayList<>();
        rejected.forEachRemaining(bad::add);
        fx.assertOutputsMatch(fx.reference(valid), out, mode == ScoringMode.PER_EVENT ? Fixture.STEP_TOL : MambaScoringOperatorTest.BATCH_TOL);
        assertEquals(1, bad.size());
        assertEquals("k7", bad.get(0).key);
        assertEquals("wrong feature count: got 3, the model's hidden_size is 16", bad.get(0).reason);
    }

    @Test
    void aDeviceThatIsNotThereFailsTheJobWithTheReason() {
        org.junit.jupiter.api.Assumptions.assumeFalse(io.flinkmamba.kernels.gpu.GpuDevices.probe().available(), "this machine has a GPU");
        Configuration conf = new Configuration();
        conf.set(MambaOptions.MODE, ScoringMode.MICRO_BATCH);
        conf.set(MambaOptions.DEVICE, "gpu");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        MambaOperators.score(env.fromData(Fixture.events(2, 4, 1), TypeInformation.of(TestEvent.class)).keyBy(e -> e.key),
                fx.spec().build()).collectAsync();
        Exception e = assertThrows(Exception.class, () -> env.execute("mamba gpu"));
        StringBuilder m = new StringBuilder();
        for (Throwable c = e; c != null; c = c.getCause()) {
            m.append(c.getMessage()).append(" | ");
        }
        assertTrue(m.toString().contains("mamba.device=gpu: the 'gpu' implementation is not available on this machine"), m.toString());
    }
}
