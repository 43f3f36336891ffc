package io.flinkmamba.operator;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastResult;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.groups.OperatorMetricGroup;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.metrics.util.InterceptingOperatorMetricGroup;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.flinkmamba.operator.MambaScoringOperatorTest.backend;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AnomalyScoringOperatorTest {
    /** Per-event operator vs the kernels' loop: same code, rounding may differ between JIT tiers (see Fixture.STEP_TOL). */
    static final double STEP_TOL = 1e-5;
    /** Micro-batch: the backbone's parallel form rounds differently from the recurrent one. */
    static final double BATCH_TOL = 1e-4;

    @TempDir
    static Path tmp;
    static ForecasterFixture fx;
    static final CalibrationSettings CAL = CalibrationSettings.DEFAULT.withWarmupEvents(20);

    @BeforeAll
    static void writeModel() throws Exception {
        fx = new ForecasterFixture(tmp);
    }

    static void feed(KeyedOneInputStreamOperatorTestHarness<String, TestEvent, AnomalyScore<String>> h, List<TestEvent> events)
            throws Exception {
        for (TestEvent e : events) {
            h.processElement(e, e.time);
        }
    }

    static MambaSpec<TestEvent> spec(ScoringMode mode) {
        return fx.spec().mode(mode).batchMaxEvents(64).batchMaxDelay(Duration.ofHours(1)).build();
    }

    @ParameterizedTest
    @CsvSource({"PER_EVENT", "MICRO_BATCH"})
    void bothModesEqualTheKernelsPerEventLoop(ScoringMode mode) throws Exception {
        List<TestEvent> events = ForecasterFixture.events(12, 1500, 1);
        var h = ForecasterFixture.harness(spec(mode), null);
        h.open();
        feed(h, events);
        h.endInput();
        List<AnomalyScore<String>> out = h.extractOutputValues();
        Map<String, List<ForecastResult>> ref = fx.reference(events, CAL);
        fx.assertMatches(ref, out, mode == ScoringMode.PER_EVENT ? STEP_TOL : BATCH_TOL, CAL.threshold());
        long flagged = out.stream().filter(s -> s.isAnomaly).count();
        assertTrue(flagged > 0, "injected +40 spikes on a 0.3-noise channel are flagged");
        assertTrue(out.stream().allMatch(s -> s.anomalyLikelihood >= 0 && s.anomalyLikelihood <= 1));
        assertTrue(out.stream().filter(s -> s.warmingUp).allMatch(s -> !s.isAnomaly));
        KeyState s = ForecasterFixture.stateOf(h, "k3");
        assertNotNull(s.forecast);
        assertEquals(ref.get("k3").size(), s.eventsSeen);
        assertEquals(s.eventsSeen, s.forecast.events);
        h.close();
    }

    @ParameterizedTest
    @CsvSource({"PER_EVENT, heap", "MICRO_BATCH, heap", "PER_EVENT, rocksdb", "MICRO_BATCH, rocksdb"})
    void snapshotRestoreEqualsAnUninterruptedRun(ScoringMode mode, String backendName) throws Exception {
        List<TestEvent> events = ForecasterFixture.events(8, 600, 2);
        MambaSpec<TestEvent> spec = spec(mode);
        var first = ForecasterFixture.harness(spec, backend(backendName));
        first.open();
        feed(first, events.subList(0, 330));
        OperatorSubtaskState snapshot = first.snapshot(1, 1); // micro-batch: pending events ride in keyed state
        List<AnomalyScore<String>> outputs = new ArrayList<>(first.extractOutputValues());
        first.close();

        var second = ForecasterFixture.harness(spec, backend(backendName));
        second.initializeState(snapshot);
        second.open();
        feed(second, events.subList(330, 600));
        second.endInput();
        outputs.addAll(second.extractOutputValues());
        fx.assertMatches(fx.reference(events, CAL), outputs, mode == ScoringMode.PER_EVENT ? STEP_TOL : BATCH_TOL,
                CAL.threshold());
        second.close();
    }

    @Test
    void nanAndWrongFeatureCountAreRejectedWithoutAdvancingTheKey() throws Exception {
        var h = ForecasterFixture.harness(spec(ScoringMode.PER_EVENT), null);
        h.open();
        h.processElement(new TestEvent("a", 1, new float[] {1, 2}), 1);
        h.processElement(new TestEvent("a", 2, new float[] {Float.NaN, 2}), 2);
        h.processElement(new TestEvent("a", 3, new float[] {1, 2, 3}), 3);
        h.processElement(new TestEvent("a", 4, null), 4);
        h.processElement(new TestEvent("a", 5, new float[] {1.5f, 2}), 5);
        List<AnomalyScore<String>> out = h.extractOutputValues();
        assertEquals(2, out.size());
        assertEquals(2, out.get(1).eventsSeen);
        List<String> reasons = new ArrayList<>();
        for (StreamRecord<RejectedEvent> r : h.getSideOutput(MambaOperators.REJECTED)) {
            reasons.add(r.getValue().reason);
        }
        assertEquals(3, reasons.size(), reasons.toString());
        assertTrue(reasons.get(0).contains("NaN"), reasons.get(0));
        assertTrue(reasons.get(1).contains("expected 2 features (f0, f1) but got 3"), reasons.get(1));
        assertTrue(reasons.get(2).contains("missing features"), reasons.get(2));
        assertEquals(2, ForecasterFixture.stateOf(h, "a").eventsSeen);
        h.close();
    }

    @Test
    void countsFlaggedAnomaliesAndWarmUpEvents() throws Exception {
        MambaSpec<TestEvent> spec = spec(ScoringMode.MICRO_BATCH);
        InterceptingOperatorMetricGroup g = new InterceptingOperatorMetricGroup();
        var h = new KeyedOneInputStreamOperatorTestHarness<>(
                new AnomalyScoringOperator<String, TestEvent>(spec, spec.resolve(new Configuration())) {
                    @Override
                    public OperatorMetricGroup getMetricGroup() {
                        return g;
                    }
                },
                (KeySelector<TestEvent, String>) e -> e.key, Types.STRING, 128, 1, 0);
        h.open();
        feed(h, ForecasterFixture.events(5, 800, 3));
        h.endInput();
        List<AnomalyScore<String>> out = h.extractOutputValues();
        long flagged = out.stream().filter(s -> s.isAnomaly).count();
        assertTrue(flagged > 0);
        assertEquals(flagged, ((Counter) g.get("anomaliesFlagged")).getCount());
        assertEquals(5 * 20, ((Counter) g.get("eventsWarmingUp")).getCount());
        assertEquals(800, ((Counter) g.get("eventsScored")).getCount());
        h.close();
    }

    @Test
    void thresholdAndWarmUpComeFromTheOptions() throws Exception {
        List<TestEvent> events = ForecasterFixture.events(3, 300, 4);
        MambaSpec<TestEvent> strict = fx.spec().anomalyThreshold(0.999999).anomalyWarmupEvents(50).build();
        var h = ForecasterFixture.harness(strict, null);
        h.open();
        feed(h, events);
        List<AnomalyScore<String>> out = h.extractOutputValues();
        fx.assertMatches(fx.reference(events, CalibrationSettings.DEFAULT.withThreshold(0.999999).withWarmupEvents(50)),
                out, STEP_TOL, 0.999999);
        assertTrue(out.stream().filter(s -> s.eventsSeen <= 50).allMatch(s -> s.warmingUp));
        assertTrue(out.stream().filter(s -> s.eventsSeen > 50).noneMatch(s -> s.warmingUp));
        h.close();
    }

    @Test
    void aKeyWithPlainScoringStateIsResetNotMisread() throws Exception {
        // a plain scoring operator's state (same state name, no forecast part) restored into anomaly scoring
        Fixture plain = new Fixture(tmp.resolve("plain"));
        var first = Fixture.harness(plain.spec().build(), null);
        first.open();
        first.processElement(new TestEvent("a", 1, new float[Fixture.D]), 1);
        OperatorSubtaskState snapshot = first.snapshot(1, 1);
        assertNull(Fixture.stateOf(first, "a").forecast);
        first.close();

        var second = ForecasterFixture.harness(spec(ScoringMode.PER_EVENT), null);
        second.initializeState(snapshot);
        second.open();
        second.processElement(new TestEvent("a", 2, new float[] {1, 2}), 2);
        assertEquals(1, second.extractOutputValues().get(0).eventsSeen, "the key starts afresh");
        assertNotNull(ForecasterFixture.stateOf(second, "a").forecast);
        second.close();
    }
}
