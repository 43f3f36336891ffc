package io.flinkmamba.operator;

import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import static io.flinkmamba.operator.Fixture.D;
import static io.flinkmamba.operator.Fixture.harness;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MambaScoringOperatorTest {
    /** Micro-batch runs group tokens differently from the step; both are float32 and agree to this. */
    static final double BATCH_TOL = 1e-5;

    @TempDir
    static Path tmp;
    static Fixture fx;

    @BeforeAll
    static void writeModel() throws Exception {
        fx = new Fixture(tmp);
    }

    static StateBackend backend(String name) {
        return name.equals("rocksdb") ? new EmbeddedRocksDBStateBackend() : new HashMapStateBackend();
    }

    static MambaSpec<TestEvent> microBatch(int maxEvents) {
        return fx.spec().mode(ScoringMode.MICRO_BATCH).batchMaxEvents(maxEvents).batchMaxDelay(Duration.ofHours(1)).build();
    }

    static void feed(KeyedOneInputStreamOperatorTestHarness<String, TestEvent, MambaScore<String>> h, List<TestEvent> events)
            throws Exception {
        for (TestEvent e : events) {
            h.processElement(e, e.time);
        }
    }

    @Test
    void perEventEqualsAPlainLoopOverStep() throws Exception {
        List<TestEvent> events = Fixture.events(20, 400, 1);
        var h = harness(fx.spec().build(), null);
        h.open();
        feed(h, events);
        Fixture.Reference ref = fx.reference(events);
        fx.assertOutputsMatch(ref, h.extractOutputValues(), Fixture.STEP_TOL);
        fx.assertStatesMatch(ref, k -> Fixture.stateOf(h, k), Fixture.STEP_TOL);
        h.close();
    }

    @Test
    void microBatchEqualsAPlainLoopOverStep() throws Exception {
        List<TestEvent> events = Fixture.events(20, 400, 2);
        var h = harness(microBatch(64), null);
        h.open();
        feed(h, events);
        assertEquals(6 * 64, h.extractOutputValues().size(), "six full batches of 64 flushed, the rest pending");
        h.endInput();
        Fixture.Reference ref = fx.reference(events);
        fx.assertOutputsMatch(ref, h.extractOutputValues(), BATCH_TOL);
        fx.assertStatesMatch(ref, k -> Fixture.stateOf(h, k), BATCH_TOL);
        h.close();
    }

    @Test
    void perEventAndMicroBatchGiveTheSameOutputsAndStates() throws Exception {
        List<TestEvent> events = Fixture.events(37, 1000, 3);
        var perEvent = harness(fx.spec().build(), null);
        var batched = harness(microBatch(100), null);
        perEvent.open();
        batched.open();
        feed(perEvent, events);
        feed(batched, events);
        batched.endInput();
        Map<String, List<MambaScore<String>>> a = Fixture.byKey(perEvent.extractOutputValues());
        Map<String, List<MambaScore<String>>> b = Fixture.byKey(batched.extractOutputValues());
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            assertEquals(a.get(k).size(), b.get(k).size(), "outputs of " + k);
            for (int i = 0; i < a.get(k).size(); i++) {
                MambaScore<String> x = a.get(k).get(i), y = b.get(k).get(i);
                assertEquals(x.eventTime, y.eventTime);
                assertEquals(x.eventsSeen, y.eventsSeen);
                Fixture.assertClose(x.output, y.output, BATCH_TOL, "output " + i + " of " + k);
            }
            Fixture.assertClose(Fixture.stateOf(perEvent, k).state, Fixture.stateOf(batched, k).state, BATCH_TOL, "state of " + k);
        }
        perEvent.close();
        batched.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"heap", "rocksdb"})
    void perEventSnapshotRestoreEqualsAnUninterruptedRun(String backend) throws Exception {
        List<TestEvent> events = Fixture.events(15, 300, 4);
        MambaSpec<TestEvent> spec = fx.spec().expectedStateBackend(backend).build();
        var first = harness(spec, backend(backend));
        first.open();
        feed(first, events.subList(0, 170));
        OperatorSubtaskState snapshot = first.snapshot(1, 1);
        List<MambaScore<String>> outputs = new ArrayList<>(first.extractOutputValues());
        first.close();

        var second = harness(spec, backend(backend));
        second.initializeState(snapshot);
        second.open();
        feed(second, events.subList(170, 300));
        outputs.addAll(second.extractOutputValues());
        Fixture.Reference ref = fx.reference(events);
        fx.assertOutputsMatch(ref, outputs, Fixture.STEP_TOL);
        fx.assertStatesMatch(ref, k -> Fixture.stateOf(second, k), Fixture.STEP_TOL);
        second.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"heap", "rocksdb"})
    void microBatchPendingEventsSurviveASnapshot(String backend) throws Exception {
        List<TestEvent> events = Fixture.events(15, 300, 5);
        MambaSpec<TestEvent> spec = fx.spec().mode(ScoringMode.MICRO_BATCH).batchMaxEvents(100)
                .batchMaxDelay(Duration.ofHours(1)).build();
        var first = harness(spec, backend(backend));
        first.open();
        feed(first, events.subList(0, 170));
        List<MambaScore<String>> outputs = new ArrayList<>(first.extractOutputValues());
        assertEquals(100, outputs.size(), "one flush of 100; 70 events pending at the snapshot");
        OperatorSubtaskState snapshot = first.snapshot(1, 1); // no barrier flush: the harness snapshots as is
        first.close();

        // keys k0..k2 get no event after the restore: only the recovered pending-key set flushes them
        List<TestEvent> rest = events.subList(170, 300).stream()
                .filter(e -> !List.of("k0", "k1", "k2").contains(e.key)).toList();
        assertTrue(events.subList(0, 170).stream().anyMatch(e -> e.key.equals("k0")));
        var second = harness(spec, backend(backend));
        second.initializeState(snapshot);
        second.open();
        feed(second, rest);
        second.endInput();
        outputs.addAll(second.extractOutputValues());
        List<TestEvent> all = new ArrayList<>(events.subList(0, 170));
        all.addAll(rest);
        Fixture.Reference ref = fx.reference(all);
        fx.assertOutputsMatch(ref, outputs, BATCH_TOL);
        fx.assertStatesMatch(ref, k -> Fixture.stateOf(second, k), BATCH_TOL);
        second.close();
    }

    /**
     * Pending events live in operator memory between checkpoints. With flush-on-checkpoint off, every
     * snapshot must still hold them (restore loses none), and the run that took the snapshots must
     * score each exactly once afterwards (state and memory parts of a key in order, no duplicates).
     */
    @ParameterizedTest
    @ValueSource(strings = {"heap", "rocksdb"})
    void pendingEventsInMemoryAreInEverySnapshotWhenFlushOnCheckpointIsOff(String backend) throws Exception {
        List<TestEvent> events = Fixture.events(6, 240, 11);
        MambaSpec<TestEvent> spec = fx.spec().mode(ScoringMode.MICRO_BATCH).batchMaxEvents(50)
                .batchMaxDelay(Duration.ofHours(1)).flushOnCheckpoint(false).build();
        var first = harness(spec, backend(backend));
        first.open();
        feed(first, events.subList(0, 70));      // a flush at 50; 20 pending
        first.prepareSnapshotPreBarrier(1);      // no flush: it is off
        first.snapshot(1, 1);                    // the 20 written to state, still pending
        feed(first, events.subList(70, 125));    // a flush at 100 takes the 20 from state and 30 from memory; 25 pending
        first.prepareSnapshotPreBarrier(2);
        first.snapshot(2, 2);
        feed(first, events.subList(125, 140));   // 15 more: 40 pending, 25 in state and 15 in memory
        first.prepareSnapshotPreBarrier(3);
        OperatorSubtaskState snapshot = first.snapshot(3, 3);
        List<MambaScore<String>> beforeSnapshot = new ArrayList<>(first.extractOutputValues());
        assertEquals(100, beforeSnapshot.size(), "flushes at 50 and 100 only; 40 events pending at the last snapshot");

        feed(first, events.subList(140, 240));
        first.endInput();
        Fixture.Reference ref = fx.reference(events);
        fx.assertOutputsMatch(ref, first.extractOutputValues(), BATCH_TOL); // each event exactly once
        fx.assertStatesMatch(ref, k -> Fixture.stateOf(first, k), BATCH_TOL);
        first.close();

        var second = harness(spec, backend(backend));
        second.initializeState(snapshot);
        second.open();
        feed(second, events.subList(140, 240));
        second.endInput();
        List<MambaScore<String>> outputs = new ArrayList<>(beforeSnapshot);
        outputs.addAll(second.extractOutputValues());
        assertEquals(240, outputs.size(), "the 40 pending events came back from the snapshot");
        fx.assertOutputsMatch(ref, outputs, BATCH_TOL);
        fx.assertStatesMatch(ref, k -> Fixture.stateOf(second, k), BATCH_TOL);
        second.close();
    }

    @ParameterizedTest
    @CsvSource({"PER_EVENT, heap", "MICRO_BATCH, heap", "PER_EVENT, rocksdb", "MICRO_BATCH, rocksdb"})
    void rescalingFromOneToThreeToTwoKeepsEveryKeysState(ScoringMode mode, String backend) throws Exception {
        int maxParallelism = 128;
        List<TestEvent> events = Fixture.events(40, 600, 6);
        MambaSpec<TestEvent> spec = fx.spec().mode(mode).batchMaxEvents(50).batchMaxDelay(Duration.ofHours(1)).build();
        List<MambaScore<String>> outputs = new ArrayList<>();
        rescaleBackend = backend;

        var one = harness(spec, maxParallelism, 1, 0, backend(backend));
        one.open();
        feed(one, events.subList(0, 200));
        OperatorSubtaskState atOne = one.snapshot(1, 1);
        outputs.addAll(one.extractOutputValues());
        one.close();

        OperatorSubtaskState atThree = runRescaled(spec, atOne, maxParallelism, 1, 3, events.subList(200, 400), outputs, false);
        runRescaled(spec, atThree, maxParallelism, 3, 2, events.subList(400, 600), outputs, true);

        Fixture.Reference ref = fx.reference(events);
        fx.assertOutputsMatch(ref, outputs, mode == ScoringMode.PER_EVENT ? Fixture.STEP_TOL : BATCH_TOL);
    }

    private String rescaleBackend = "heap";

    /** Restores {@code state} at {@code newParallelism}, routes events by key group, returns the merged snapshot. */
    private OperatorSubtaskState runRescaled(MambaSpec<TestEvent> spec, OperatorSubtaskState state, int maxParallelism,
                                             int oldParallelism, int newParallelism, List<TestEvent> events,
                                             List<MambaScore<String>> outputs, boolean last) throws Exception {
        List<KeyedOneInputStreamOperatorTestHarness<String, TestEvent, MambaScore<String>>> subtasks = new ArrayList<>();
        for (int i = 0; i < newParallelism; i++) {
            var h = harness(spec, maxParallelism, newParallelism, i, backend(rescaleBackend));
            h.initializeState(AbstractStreamOperatorTestHarness.repartitionOperatorState(
                    state, maxParallelism, oldParallelism, newParallelism, i));
            h.open();
            subtasks.add(h);
        }
        for (TestEvent e : events) {
            subtasks.get(KeyGroupRangeAssignment.assignKeyToParallelOperator(e.key, maxParallelism, newParallelism))
                    .processElement(e, e.time);
        }
        OperatorSubtaskState[] snapshots = new OperatorSubtaskState[newParallelism];
        for (int i = 0; i < newParallelism; i++) {
            var h = subtasks.get(i);
            if (last) {
                h.endInput();
            } else {
                snapshots[i] = h.snapshot(2, 2);
            }
            outputs.addAll(h.extractOutputValues());
            h.close();
        }
        return last ? null : AbstractStreamOperatorTestHarness.repackageState(snapshots);
    }

    @ParameterizedTest
    @EnumSource(ScoringMode.class)
    void badEventsGoToTheRejectedOutputAndDoNotAdvanceTheState(ScoringMode mode) throws Exception {
        List<TestEvent> valid = Fixture.events(3, 30, 7);
        List<TestEvent> mixed = new ArrayList<>();
        float[] nan = valid.get(0).features.clone();
        nan[3] = Float.NaN;
        float[] inf = valid.get(0).features.clone();
        inf[0] = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < valid.size(); i++) {
            mixed.add(valid.get(i));
            if (i == 5) {
                mixed.add(new TestEvent("k0", 1, nan));
                mixed.add(new TestEvent("k1", 2, inf));
                mixed.add(new TestEvent("k2", 3, null));
                mixed.add(new TestEvent("k0", 4, new float[D + 1]));
                mixed.add(new TestEvent("k1", 5, new float[0]));
            }
        }
        var h = harness(fx.spec().mode(mode).batchMaxEvents(8).build(), null);
        h.open();
        feed(h, mixed);
        h.endInput();
        Fixture.Reference ref = fx.reference(valid);
        fx.assertOutputsMatch(ref, h.extractOutputValues(), mode == ScoringMode.PER_EVENT ? Fixture.STEP_TOL : BATCH_TOL);
        fx.assertStatesMatch(ref, k -> Fixture.stateOf(h, k), mode == ScoringMode.PER_EVENT ? Fixture.STEP_TOL : BATCH_TOL);

        List<RejectedEvent> rejected = new ArrayList<>();
        h.getSideOutput(MambaOperators.REJECTED).forEach(r -> rejected.add(r.getValue()));
        assertEquals(5, rejected.size());
        assertEquals("k0", rejected.get(0).key);
        assertEquals(1, rejected.get(0).eventTime);
        assertEquals("feature 3 is NaN (NaN or infinite)", rejected.get(0).reason);
        assertTrue(rejected.get(0).event.startsWith("TestEvent{k0@1 "), rejected.get(0).event);
        assertEquals("feature 0 is -Infinity (NaN or infinite)", rejected.get(1).reason);
        assertEquals("missing features (the extractor returned null)", rejected.get(2).reason);
        assertEquals("wrong feature count: got 17, the model's hidden_size is 16", rejected.get(3).reason);
        assertEquals("wrong feature count: got 0, the model's hidden_size is 16", rejected.get(4).reason);
        h.close();
    }

    @Test
    void anExtractorThatThrowsRejectsTheEventWithTheCause() throws Exception {
        FeatureExtractor<TestEvent> failing = e -> {
            if (e.time < 0) {
                throw new IllegalArgumentException("negative time in " + e.key);
            }
            return e.features;
        };
        var h = harness(MambaSpec.builder(fx.modelDir.toString(), "v1", failing).build(), null);
        h.open();
        h.processElement(new TestEvent("a", -5, new float[D]), 7);
        h.processElement(new TestEvent("a", 5, new float[D]), 8);
        assertEquals(1, h.extractOutputValues().size());
        RejectedEvent r = h.getSideOutput(MambaOperators.REJECTED).poll().getValue();
        assertEquals("feature extraction failed: java.lang.IllegalArgumentException: negative time in a", r.reason);
        assertEquals(7, r.eventTime, "the record's timestamp: the default eventTime");
        assertEquals(1, Fixture.stateOf(h, "a").eventsSeen);
        h.close();
    }

    @ParameterizedTest
    @EnumSource(ScoringMode.class)
    void eventTimeOrderingAppliesEventsInTimeOrderAndRejectsLateOnes(ScoringMode mode) throws Exception {
        List<TestEvent> inOrder = Fixture.events(4, 60, 8); // times 1000, 1010, ...
        // arrival: shuffled within windows of 6 events (60 ms), watermark after each window lags 100 ms
        List<TestEvent> arrival = new ArrayList<>(inOrder);
        java.util.Collections.shuffle(arrival.subList(0, 30), new java.util.Random(1));
        java.util.Collections.shuffle(arrival.subList(30, 60), new java.util.Random(2));
        MambaSpec<TestEvent> spec = fx.spec().mode(mode).batchMaxEvents(7).ordering(Ordering.EVENT_TIME)
                .allowedLateness(Duration.ofMillis(50)).build();
        var h = harness(spec, null);
        h.open();
        feed(h, arrival.subList(0, 30));
        assertEquals(0, h.extractOutputValues().size(), "nothing is applied before the watermark");
        h.processWatermark(new Watermark(1000 + 10 * 29 + 50)); // releases the first 30
        assertEquals(30, h.extractOutputValues().size());
        TestEvent late = new TestEvent("k1", 1100, inOrder.get(0).features);
        h.processElement(late, late.time);
        feed(h, arrival.subList(30, 60));
        h.processWatermark(new Watermark(Long.MAX_VALUE));

        Fixture.Reference ref = fx.reference(inOrder);
        fx.assertOutputsMatch(ref, h.extractOutputValues(), mode == ScoringMode.PER_EVENT ? Fixture.STEP_TOL : BATCH_TOL);
        List<MambaScore<String>> out = h.extractOutputValues();
        for (Map.Entry<String, List<MambaScore<String>>> e : Fixture.byKey(out).entrySet()) {
            List<MambaScore<String>> l = e.getValue();
            assertTrue(l.stream().map(s -> s.eventTime).sorted(Comparator.naturalOrder()).toList()
                    .equals(l.stream().map(s -> s.eventTime).toList()), "key " + e.getKey() + " scored in time order");
        }
        RejectedEvent r = h.getSideOutput(MambaOperators.REJECTED).poll().getValue();
        assertEquals("late: event time 1100 + allowed lateness 50 ms is not after the watermark 1340", r.reason);
        // watermarks follow the outputs they cover
        Object lastBeforeFinal = null;
        for (Object o : h.getOutput()) {
            if (o instanceof Watermark && ((Watermark) o).getTimestamp() == 1340) {
                assertTrue(lastBeforeFinal instanceof StreamRecord, "outputs precede the watermark");
            }
            lastBeforeFinal = o;
        }
        h.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"heap", "rocksdb"})
    void eventsHeldForTheWatermarkSurviveASnapshot(String backend) throws Exception {
        List<TestEvent> inOrder = Fixture.events(5, 80, 12);
        List<TestEvent> arrival = new ArrayList<>(inOrder);
        java.util.Collections.shuffle(arrival, new java.util.Random(3));
        MambaSpec<TestEvent> spec = fx.spec().ordering(Ordering.EVENT_TIME).allowedLateness(Duration.ofSeconds(10)).build();
        var first = harness(spec, backend(backend));
        first.open();
        feed(first, arrival.subList(0, 50));
        OperatorSubtaskState snapshot = first.snapshot(1, 1);
        assertEquals(0, first.extractOutputValues().size(), "all held: the watermark has not moved");
        first.close();

        var second = harness(spec, backend(backend));
        second.initializeState(snapshot);
        second.open();
        feed(second, arrival.subList(50, 80));
        second.processWatermark(new Watermark(Long.MAX_VALUE)); // the restored timers release the held events
        Fixture.Reference ref = fx.reference(inOrder);
        fx.assertOutputsMatch(ref, second.extractOutputValues(), Fixture.STEP_TOL);
        fx.assertStatesMatch(ref, k -> Fixture.stateOf(second, k), Fixture.STEP_TOL);
        second.close();
    }

    @Test
    void microBatchFlushesOnTimerBarrierAndWatermark() throws Exception {
        MambaSpec<TestEvent> spec = fx.spec().mode(ScoringMode.MICRO_BATCH).batchMaxEvents(1000)
                .batchMaxDelay(Duration.ofMillis(50)).build();
        List<TestEvent> events = Fixture.events(5, 30, 9);
        var h = harness(spec, null);
        h.setProcessingTime(0);
        h.open();
        feed(h, events.subList(0, 10));
        assertEquals(0, h.extractOutputValues().size());
        h.setProcessingTime(49);
        assertEquals(0, h.extractOutputValues().size());
        h.setProcessingTime(50);
        assertEquals(10, h.extractOutputValues().size(), "max delay reached");

        feed(h, events.subList(10, 20));
        h.prepareSnapshotPreBarrier(1);
        assertEquals(20, h.extractOutputValues().size(), "flushed before the barrier");

        feed(h, events.subList(20, 30));
        h.processWatermark(new Watermark(5));
        assertEquals(30, h.extractOutputValues().size(), "flushed before the watermark");
        h.setProcessingTime(1000); // stale timers find nothing to do
        assertEquals(30, h.extractOutputValues().size());
        fx.assertOutputsMatch(fx.reference(events), h.extractOutputValues(), BATCH_TOL);
        h.close();
    }

    @Test
    void flushOnCheckpointCanBeTurnedOff() throws Exception {
        MambaSpec<TestEvent> spec = fx.spec().mode(ScoringMode.MICRO_BATCH).batchMaxEvents(1000)
                .batchMaxDelay(Duration.ofHours(1)).flushOnCheckpoint(false).build();
        var h = harness(spec, null);
        h.open();
        feed(h, Fixture.events(3, 10, 10));
        h.prepareSnapshotPreBarrier(1);
        assertEquals(0, h.extractOutputValues().size());
        h.endInput();
        assertEquals(10, h.extractOutputValues().size());
        h.close();
    }
}
