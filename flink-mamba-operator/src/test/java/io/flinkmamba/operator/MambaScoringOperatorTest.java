package io.flinkmamba.operator;

import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.OutputTag;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MambaScoringOperatorTest {
    static final double TOL = 1e-5;
    static final int MAX_PARALLELISM = 128;

    @TempDir
    Path tmp;
    Path modelDir;
    MambaModel model;
    final OutputTag<RejectedEvent<Tuple3<String, Long, float[]>>> rejectedTag =
            new OutputTag<>("mamba-rejected", MambaOperators.rejectedType(TestEvents.TYPE));

    @BeforeEach
    void writeModel() throws Exception {
        modelDir = TestEvents.writeModel(tmp.resolve("model"), 5);
        model = MambaModel.load(modelDir);
    }

    MambaSpec spec(ScoringMode mode) {
        return MambaSpec.builder(modelDir.toString()).modelVersion("v1").mode(mode).batchMaxEvents(50)
                .batchMaxDelay(Duration.ofMillis(100)).build();
    }

    KeyedOneInputStreamOperatorTestHarness<String, Tuple3<String, Long, float[]>, MambaScore<String>> harness(
            MambaSpec spec, StateBackend backend, int parallelism, int subtask) throws Exception {
        return harness(spec, backend, parallelism, subtask, new TestEvents.Extract());
    }

    KeyedOneInputStreamOperatorTestHarness<String, Tuple3<String, Long, float[]>, MambaScore<String>> harness(
            MambaSpec spec, StateBackend backend, int parallelism, int subtask,
            FeatureExtractor<Tuple3<String, Long, float[]>> extractor) throws Exception {
        MambaScoringOperator<String, Tuple3<String, Long, float[]>> op =
                new MambaScoringOperator<>(spec, extractor, TestEvents.TYPE, rejectedTag);
        var h = new KeyedOneInputStreamOperatorTestHarness<>(op, e -> e.f0, Types.STRING, MAX_PARALLELISM, parallelism, subtask);
        h.setStateBackend(backend);
        return h;
    }

    static List<MambaScore<String>> scores(KeyedOneInputStreamOperatorTestHarness<String, ?, MambaScore<String>> h) {
        return new ArrayList<>(h.extractOutputValues());
    }

    static Stream<Arguments> modesAndBackends() {
        return Stream.of(
                Arguments.of(ScoringMode.PER_EVENT, "heap"), Arguments.of(ScoringMode.PER_EVENT, "rocksdb"),
                Arguments.of(ScoringMode.MICRO_BATCH, "heap"), Arguments.of(ScoringMode.MICRO_BATCH, "rocksdb"));
    }

    static StateBackend backend(String name) {
        return name.equals("heap") ? new HashMapStateBackend() : new EmbeddedRocksDBStateBackend();
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("modesAndBackends")
    void snapshotRestoreContinueEqualsAnUninterruptedRun(ScoringMode mode, String backend) throws Exception {
        List<Tuple3<String, Long, float[]>> events = TestEvents.stream(7, 400, 1);
        Map<String, List<float[]>> want = TestEvents.reference(model, events);
        List<MambaScore<String>> got = new ArrayList<>();

        var h1 = harness(spec(mode), backend(backend), 1, 0);
        h1.open();
        for (int i = 0; i < 223; i++) {
            h1.processElement(new StreamRecord<>(events.get(i), events.get(i).f1));
        }
        // no barrier flush: in MICRO_BATCH mode some events are still pending in keyed state now
        OperatorSubtaskState snap = h1.snapshot(1, 1);
        got.addAll(scores(h1));
        h1.close();
        if (mode == ScoringMode.MICRO_BATCH) {
            assertTrue(got.size() < 223, "events pending at the snapshot: " + got.size() + " of 223 scored");
        }

        var h2 = harness(spec(mode), backend(backend), 1, 0);
        h2.initializeState(snap);
        h2.open();
        for (int i = 223; i < events.size(); i++) {
            h2.processElement(new StreamRecord<>(events.get(i), events.get(i).f1));
        }
        h2.endInput();
        got.addAll(scores(h2));
        h2.close();
        assertEquals(events.size(), got.size(), "every event scored exactly once");
        double err = TestEvents.maxError(TestEvents.byKey(got), want);
        assertTrue(err < TOL, "max relative error " + err);
        for (MambaScore<String> s : got) {
            assertEquals("v1", s.modelVersion);
            assertEquals(model.fingerprint(), s.modelFingerprint);
        }
    }

    @Test
    void perEventAndMicroBatchGiveTheSameOutputsAndStates() throws Exception {
        List<Tuple3<String, Long, float[]>> events = TestEvents.stream(13, 600, 2);
        List<List<MambaScore<String>>> runs = new ArrayList<>();
        for (ScoringMode mode : ScoringMode.values()) {
            var h = harness(spec(mode), new HashMapStateBackend(), 1, 0);
            h.open();
            for (int i = 0; i < events.size(); i++) {
                h.processElement(new StreamRecord<>(events.get(i), events.get(i).f1));
                if (i % 97 == 0) {
                    h.setProcessingTime(i * 10L); // the max-delay timer flushes now and then
                }
            }
            h.endInput();
            runs.add(scores(h));
            h.close();
        }
        assertEquals(events.size(), runs.get(0).size());
        assertEquals(events.size(), runs.get(1).size());
        double err = TestEvents.maxError(TestEvents.byKey(runs.get(1)), TestEvents.byKey(runs.get(0)));
        assertTrue(err < TOL, "per-event vs micro-batch max relative error " + err);
        // eventsSeen counts per key identically
        Map<String, Long> last0 = new java.util.HashMap<>(), last1 = new java.util.HashMap<>();
        runs.get(0).forEach(s -> last0.put(s.key, s.eventsSeen));
        runs.get(1).forEach(s -> last1.put(s.key, s.eventsSeen));
        assertEquals(last0, last1);
    }

    @Test
    void microBatchFlushesOnMaxEventsTimerAndBarrier() throws Exception {
        List<Tuple3<String, Long, float[]>> events = TestEvents.stream(5, 200, 3);
        var h = harness(spec(ScoringMode.MICRO_BATCH), new HashMapStateBackend(), 1, 0);
        h.open();
        for (int i = 0; i < 49; i++) {
            h.processElement(new StreamRecord<>(events.get(i), events.get(i).f1));
        }
        assertEquals(0, h.extractOutputValues().size(), "below max-events, before the timer: nothing yet");
        h.processElement(new StreamRecord<>(events.get(49), events.get(49).f1));
        assertEquals(50, h.extractOutputValues().size(), "max-events (50) reached: one flush");
        for (int i = 50; i < 60; i++) {
            h.processElement(new StreamRecord<>(events.get(i), events.get(i).f1));
        }
        h.setProcessingTime(1_000);
        assertEquals(60, h.extractOutputValues().size(), "max-delay timer flushed the pending events");
        for (int i = 60; i < 65; i++) {
            h.processElement(new StreamRecord<>(events.get(i), events.get(i).f1));
        }
        h.prepareSnapshotPreBarrier(7);
        assertEquals(65, h.extractOutputValues().size(), "flushed before the checkpoint barrier");
        h.close();
    }

    @Test
    void microBatchHoldsWatermarksUntilPendingEventsAreScored() throws Exception {
        List<Tuple3<String, Long, float[]>> events = TestEvents.stream(3, 10, 4);
        var h = harness(spec(ScoringMode.MICRO_BATCH), new HashMapStateBackend(), 1, 0);
        h.open();
        for (Tuple3<String, Long, float[]> e : events) {
            h.processElement(new StreamRecord<>(e, e.f1));
        }
        h.processWatermark(new Watermark(5_000));
        assertEquals(0, h.getOutput().stream().filter(o -> o instanceof Watermark).count(), "held while events are pending");
        h.setProcessingTime(1_000);
        List<Object> out = new ArrayList<>(h.getOutput());
        assertEquals(11, out.size());
        assertTrue(out.get(10) instanceof Watermark, "the watermark follows the scores it covers");
        h.close();
    }

    @Test
    void rescaleFromOneToThreeToTwoKeepsEachKeysState() throws Exception {
        List<Tuple3<String, Long, float[]>> events = TestEvents.stream(20, 900, 5);
        Map<String, List<float[]>> want = TestEvents.reference(model, events);
        List<MambaScore<String>> got = new ArrayList<>();
        MambaSpec spec = spec(ScoringMode.PER_EVENT);

        var h = harness(spec, new HashMapStateBackend(), 1, 0);
        h.open();
        feed(h, events.subList(0, 300), 1, 0);
        OperatorSubtaskState snap1 = h.snapshot(1, 1);
        got.addAll(scores(h));
        h.close();

        OperatorSubtaskState[] snaps3 = new OperatorSubtaskState[3];
        for (int sub = 0; sub < 3; sub++) {
            var hs = harness(spec, new HashMapStateBackend(), 3, sub);
            hs.initializeState(AbstractStreamOperatorTestHarness.repartitionOperatorState(snap1, MAX_PARALLELISM, 1, 3, sub));
            hs.open();
            feed(hs, events.subList(300, 600), 3, sub);
            snaps3[sub] = hs.snapshot(2, 2);
            got.addAll(scores(hs));
            hs.close();
        }
        OperatorSubtaskState merged = AbstractStreamOperatorTestHarness.repackageState(snaps3);
        for (int sub = 0; sub < 2; sub++) {
            var hs = harness(spec, new HashMapStateBackend(), 2, sub);
            hs.initializeState(AbstractStreamOperatorTestHarness.repartitionOperatorState(merged, MAX_PARALLELISM, 3, 2, sub));
            hs.open();
            feed(hs, events.subList(600, 900), 2, sub);
            got.addAll(scores(hs));
            hs.close();
        }
        assertEquals(900, got.size());
        double err = TestEvents.maxError(TestEvents.byKey(got), want);
        assertTrue(err < TOL, "max relative error after rescaling " + err);
    }

    /** Feeds the events whose key belongs to this subtask, as Flink's key-group routing would. */
    private static void feed(KeyedOneInputStreamOperatorTestHarness<String, Tuple3<String, Long, float[]>, MambaScore<String>> h,
                             List<Tuple3<String, Long, float[]>> events, int parallelism, int subtask) throws Exception {
        for (Tuple3<String, Long, float[]> e : events) {
            if (KeyGroupRangeAssignment.assignKeyToParallelOperator(e.f0, MAX_PARALLELISM, parallelism) == subtask) {
                h.processElement(new StreamRecord<>(e, e.f1));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("modes")
    void badFeaturesAreRejectedWithTheReasonAndDoNotAdvanceTheState(ScoringMode mode) throws Exception {
        var h = harness(spec(mode), new HashMapStateBackend(), 1, 0, new NoFeaturesAtTime4());
        h.open();
        float[] good = new float[8];
        java.util.Arrays.fill(good, 0.5f);
        float[] nan = good.clone();
        nan[3] = Float.NaN;
        h.processElement(new StreamRecord<>(Tuple3.of("a", 1L, good), 1L));
        h.processElement(new StreamRecord<>(Tuple3.of("a", 2L, nan), 2L));
        h.processElement(new StreamRecord<>(Tuple3.of("a", 3L, new float[3]), 3L));
        h.processElement(new StreamRecord<>(Tuple3.of("a", 4L, good), 4L));
        float[] inf = good.clone();
        inf[0] = Float.NEGATIVE_INFINITY;
        h.processElement(new StreamRecord<>(Tuple3.of("a", 5L, inf), 5L));
        h.processElement(new StreamRecord<>(Tuple3.of("a", 6L, good), 6L));
        h.endInput();
        List<String> reasons = new ArrayList<>();
        h.getSideOutput(rejectedTag).forEach(r -> reasons.add(r.getValue().reason));
        assertEquals(List.of("non-finite feature at index 3 (NaN)", "wrong feature count: got 3, the model expects 8",
                "missing features", "non-finite feature at index 0 (-Infinity)"), reasons);
        List<MambaScore<String>> s = scores(h);
        assertEquals(2, s.size());
        assertEquals(2, s.get(1).eventsSeen, "rejected events did not advance the state");
        Map<String, List<float[]>> want = TestEvents.reference(model,
                List.of(Tuple3.of("a", 1L, good), Tuple3.of("a", 6L, good)));
        assertTrue(TestEvents.maxError(TestEvents.byKey(s), want) < TOL);
        h.close();
    }

    /** An extractor that finds no features in the event at time 4 (a missing field). */
    static final class NoFeaturesAtTime4 implements FeatureExtractor<Tuple3<String, Long, float[]>> {
        @Override
        public float[] features(Tuple3<String, Long, float[]> e) {
            return e.f1 == 4L ? null : e.f2;
        }
    }

    static Stream<ScoringMode> modes() {
        return Stream.of(ScoringMode.values());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("modes")
    void eventTimeOrderingSortsByEventTimeAndRejectsLateEvents(ScoringMode mode) throws Exception {
        MambaSpec spec = MambaSpec.builder(modelDir.toString()).mode(mode).ordering(EventOrdering.EVENT_TIME)
                .allowedLateness(Duration.ofMillis(100)).batchMaxEvents(1000).build();
        List<Tuple3<String, Long, float[]>> inOrder = TestEvents.stream(4, 120, 6);
        List<Tuple3<String, Long, float[]>> shuffled = new ArrayList<>(inOrder);
        java.util.Collections.shuffle(shuffled.subList(0, 60), new java.util.Random(1));
        java.util.Collections.shuffle(shuffled.subList(60, 120), new java.util.Random(2));
        var h = harness(spec, new HashMapStateBackend(), 1, 0);
        h.open();
        for (int i = 0; i < 60; i++) {
            h.processElement(new StreamRecord<>(shuffled.get(i), shuffled.get(i).f1));
        }
        // pending in the event-time buffer across a snapshot
        OperatorSubtaskState snap = h.snapshot(1, 1);
        h.close();
        h = harness(spec, new HashMapStateBackend(), 1, 0);
        h.initializeState(snap);
        h.open();
        long wm = inOrder.get(59).f1;
        h.processWatermark(new Watermark(wm));
        h.setProcessingTime(1_000);
        for (int i = 60; i < 120; i++) {
            h.processElement(new StreamRecord<>(shuffled.get(i), shuffled.get(i).f1));
        }
        // late: behind the watermark by more than 100 ms
        float[] f = new float[8];
        h.processElement(new StreamRecord<>(Tuple3.of("k1", wm - 500, f), wm - 500));
        h.processWatermark(new Watermark(Long.MAX_VALUE));
        h.endInput();
        List<MambaScore<String>> s = scores(h);
        assertEquals(120, s.size());
        double err = TestEvents.maxError(TestEvents.byKey(s), TestEvents.reference(model, inOrder));
        assertTrue(err < TOL, "applied in event-time order: " + err);
        List<String> reasons = new ArrayList<>();
        h.getSideOutput(rejectedTag).forEach(r -> reasons.add(r.getValue().reason));
        assertEquals(1, reasons.size());
        assertTrue(reasons.get(0).startsWith("late: event time " + (wm - 500)), reasons.get(0));
        h.close();
    }

    @Test
    void deviceGpuWithoutAGpuFailsAtStartAndAutoFallsBackToTheCpu() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(io.flinkmamba.kernels.gpu.GpuDevices.probe().available(),
                "this machine has a GPU");
        var gpu = harness(MambaSpec.builder(modelDir.toString()).mode(ScoringMode.MICRO_BATCH).device("gpu").build(),
                new HashMapStateBackend(), 1, 0);
        String msg = rootMessages(assertThrows(Exception.class, gpu::open));
        assertTrue(msg.contains("device=gpu was requested but there is no usable CUDA device"), msg);

        List<Tuple3<String, Long, float[]>> events = TestEvents.stream(4, 80, 9);
        var auto = harness(MambaSpec.builder(modelDir.toString()).mode(ScoringMode.MICRO_BATCH).device("auto").build(),
                new HashMapStateBackend(), 1, 0);
        auto.open();
        for (Tuple3<String, Long, float[]> e : events) {
            auto.processElement(new StreamRecord<>(e, e.f1));
        }
        auto.endInput();
        double err = TestEvents.maxError(TestEvents.byKey(scores(auto)), TestEvents.reference(model, events));
        assertTrue(err < TOL, "auto on the CPU: " + err);
        auto.close();
    }

    @Test
    void unloadableModelFailsAtOpenNamingThePath() throws Exception {
        MambaSpec spec = MambaSpec.builder(tmp.resolve("no-such-model").toString()).build();
        var h = harness(spec, new HashMapStateBackend(), 1, 0);
        Exception e = assertThrows(Exception.class, h::open);
        String msg = rootMessages(e);
        assertTrue(msg.contains("cannot load the Mamba model from '" + tmp.resolve("no-such-model") + "'"), msg);
    }

    @Test
    void stateFromAnotherModelFollowsThePolicy() throws Exception {
        List<Tuple3<String, Long, float[]>> events = TestEvents.stream(3, 30, 8);
        var h = harness(spec(ScoringMode.PER_EVENT), new HashMapStateBackend(), 1, 0);
        h.open();
        for (Tuple3<String, Long, float[]> e : events) {
            h.processElement(new StreamRecord<>(e, e.f1));
        }
        OperatorSubtaskState snap = h.snapshot(1, 1);
        h.close();
        Path v2 = TestEvents.writeModel(tmp.resolve("model-v2"), 6);
        MambaModel m2 = MambaModel.load(v2);
        Tuple3<String, Long, float[]> next = Tuple3.of("k0", 99_999L, events.get(0).f2);

        // FAIL (default): a clear error naming both models
        var fail = harness(MambaSpec.builder(v2.toString()).modelVersion("v2").build(), new HashMapStateBackend(), 1, 0);
        fail.initializeState(snap);
        fail.open();
        Exception e = assertThrows(Exception.class, () -> fail.processElement(new StreamRecord<>(next, next.f1)));
        String msg = rootMessages(e);
        assertTrue(msg.contains("has state from model v1") && msg.contains("runs model v2")
                && msg.contains("mamba.model.change-policy"), msg);

        // RESET: the key starts fresh under v2
        var reset = harness(MambaSpec.builder(v2.toString()).modelVersion("v2").modelChangePolicy(ModelChangePolicy.RESET).build(),
                new HashMapStateBackend(), 1, 0);
        reset.initializeState(snap);
        reset.open();
        reset.processElement(new StreamRecord<>(next, next.f1));
        MambaScore<String> r = scores(reset).get(0);
        assertEquals(1, r.eventsSeen);
        assertEquals("v2", r.modelVersion);
        float[] fresh = new float[8];
        m2.newStepper().step(m2.newState(), next.f2, fresh);
        assertTrue(TestEvents.maxError(Map.of("k0", List.of(r.output)), Map.of("k0", List.of(fresh))) < TOL);

        // CARRY: same shapes, the hidden state goes on under v2
        var carry = harness(MambaSpec.builder(v2.toString()).modelVersion("v2").modelChangePolicy(ModelChangePolicy.CARRY).build(),
                new HashMapStateBackend(), 1, 0);
        carry.initializeState(snap);
        carry.open();
        carry.processElement(new StreamRecord<>(next, next.f1));
        MambaScore<String> c = scores(carry).get(0);
        long k0Events = events.stream().filter(x -> x.f0.equals("k0")).count();
        assertEquals(k0Events + 1, c.eventsSeen);
        assertEquals(m2.fingerprint(), c.modelFingerprint);
    }

    static String rootMessages(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable x = t; x != null; x = x.getCause()) {
            sb.append(x.getMessage()).append(" | ");
        }
        return sb.toString();
    }
}
