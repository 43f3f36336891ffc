package io.flinkmamba.operator;

import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
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
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hot swap in a real job (MiniCluster, scorer parallelism 2): the update is broadcast to both
 * subtasks, loaded on their loader threads and switched to through the task mailbox. The events'
 * source pauses halfway until both subtasks have reported the switch, so every later event must be
 * scored by v2; every key's outputs are v1's reference up to its first v2 output and a fresh v2 run
 * (RESET) from there.
 */
class HotSwapMiniClusterTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    static final int N = 1200;
    static final int P = 2;

    @TempDir
    static Path tmp;
    static Fixture fx;
    static Path v2Dir;
    static MambaModel v2;

    /** Counted down when the events' source reaches the middle; the update is sent after it. */
    static CountDownLatch half;
    /** Counted down by every subtask's accepted outcome; the events' source waits for it in the middle. */
    static CountDownLatch switched;

    @BeforeAll
    static void models() throws Exception {
        fx = new Fixture(tmp);
        v2Dir = RandomCheckpoint.write(tmp.resolve("v2"), Fixture.CONFIG, 99);
        v2 = MambaModel.load(v2Dir);
    }

    @ParameterizedTest
    @EnumSource(ScoringMode.class)
    void everyEventAfterTheSwitchIsScoredByTheNewModel(ScoringMode mode) throws Exception {
        half = new CountDownLatch(1);
        switched = new CountDownLatch(P);
        List<TestEvent> events = Fixture.events(8, N, 21);
        Configuration conf = new Configuration();
        conf.set(MambaOptions.MODE, mode);
        conf.set(MambaOptions.BATCH_MAX_EVENTS, 64);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(P);
        DataStream<TestEvent> input = env.fromData(events, TypeInformation.of(TestEvent.class)).setParallelism(1)
                .map(new PauseInTheMiddle()).setParallelism(1);
        DataStream<ModelUpdate> updates = env.fromData(List.of(new ModelUpdate(v2Dir.toString(), ModelFiles.digest(v2Dir),
                        "v2", UpgradePolicy.RESET)), TypeInformation.of(ModelUpdate.class)).setParallelism(1)
                .map(new SendAfterTheMiddle()).setParallelism(1);
        SingleOutputStreamOperator<MambaScore<String>> scores = MambaOperators.score(input.keyBy(e -> e.key),
                fx.spec().build(), updates);
        CloseableIterator<MambaScore<String>> scored = scores.collectAsync();
        CloseableIterator<ModelUpdateOutcome> outcomes = scores.getSideOutput(MambaOperators.MODEL_UPDATES)
                .map(new CountSwitches()).collectAsync();
        env.execute("hot swap " + mode);
        List<MambaScore<String>> out = new ArrayList<>();
        scored.forEachRemaining(out::add);
        List<ModelUpdateOutcome> o = new ArrayList<>();
        outcomes.forEachRemaining(o::add);

        assertEquals(P, o.size(), o.toString());
        assertTrue(o.stream().allMatch(x -> x.accepted && "v1".equals(x.previousVersion)), o.toString());
        assertEquals(N, out.size());
        Fixture.Reference v1ref = fx.reference(events);
        Map<String, List<TestEvent>> eventsByKey = UpgradePolicyTest.byKey(events, e -> e.key);
        Map<String, List<MambaScore<String>>> got = Fixture.byKey(out);
        for (Map.Entry<String, List<MambaScore<String>>> k : got.entrySet()) {
            List<MambaScore<String>> outs = k.getValue();
            int firstV2 = 0;
            while (firstV2 < outs.size() && outs.get(firstV2).modelVersion.equals("v1")) {
                firstV2++;
            }
            List<float[]> fresh = UpgradePolicyTest.run(v2, v2.newState(),
                    eventsByKey.get(k.getKey()).subList(firstV2, outs.size()));
            for (int i = 0; i < outs.size(); i++) {
                MambaScore<String> s = outs.get(i);
                int index = (int) ((s.eventTime - 1000) / 10);
                if (index >= N / 2) {
                    assertEquals("v2", s.modelVersion, "event " + index + " came after both subtasks switched");
                }
                if (i < firstV2) {
                    Fixture.assertClose(v1ref.outputs.get(k.getKey()).get(i), s.output, 1e-5, "v1 output " + i + " of " + k.getKey());
                } else {
                    assertEquals("v2", s.modelVersion, "no v1 output after the switch: " + k.getKey());
                    assertEquals(v2.fingerprint(), s.modelFingerprint);
                    assertEquals(i - firstV2 + 1, s.eventsSeen, "reset at the switch");
                    Fixture.assertClose(fresh.get(i - firstV2), s.output, 1e-5, "v2 output " + i + " of " + k.getKey());
                }
            }
        }
    }

    static final class PauseInTheMiddle implements MapFunction<TestEvent, TestEvent> {
        private static final long serialVersionUID = 1L;
        private int seen;

        @Override
        public TestEvent map(TestEvent e) throws Exception {
            if (seen++ == N / 2) {
                half.countDown();
                if (!switched.await(60, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the subtasks did not switch to v2 within 60 s");
                }
            }
            return e;
        }
    }

    static final class SendAfterTheMiddle implements MapFunction<ModelUpdate, ModelUpdate> {
        private static final long serialVersionUID = 1L;

        @Override
        public ModelUpdate map(ModelUpdate u) throws Exception {
            if (!half.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the events' source did not reach the middle within 60 s");
            }
            return u;
        }
    }

    static final class CountSwitches implements MapFunction<ModelUpdateOutcome, ModelUpdateOutcome> {
        private static final long serialVersionUID = 1L;

        @Override
        public ModelUpdateOutcome map(ModelUpdateOutcome o) {
            if (o.accepted) {
                switched.countDown();
            }
            return o;
        }
    }
}
