package io.flinkmamba.operator;

import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastResult;
import io.flinkmamba.kernels.forecast.ForecastScorer;
import io.flinkmamba.kernels.forecast.ForecastState;
import io.flinkmamba.kernels.forecast.Forecaster;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A snapshot taken with model v1 restored into an operator running model v2, under each upgrade
 * policy, for both operator kinds: what each key's state and outputs become.
 */
class UpgradePolicyTest {
    static final int W = 24;
    static final int BEFORE = 400;
    static final CalibrationSettings CAL = AnomalyScoringOperatorTest.CAL;

    @TempDir
    static Path tmp;
    static Fixture fx;
    static MambaModel v2;
    static Path v2Dir;
    static ForecasterFixture ffx;
    static Forecaster fc2;
    static Path fc2Dir;

    @BeforeAll
    static void models() throws Exception {
        fx = new Fixture(tmp);
        v2Dir = RandomCheckpoint.write(tmp.resolve("v2"), Fixture.CONFIG, 99);
        v2 = MambaModel.load(v2Dir);
        ffx = new ForecasterFixture(tmp);
        fc2Dir = ForecasterFixture.write(tmp.resolve("fc2"), ForecasterFixture.CONFIG, ForecasterFixture.F, 22);
        fc2 = Forecaster.load(fc2Dir);
    }

    static <T> Map<String, List<T>> byKey(List<T> items, java.util.function.Function<T, String> key) {
        Map<String, List<T>> m = new LinkedHashMap<>();
        for (T t : items) {
            m.computeIfAbsent(key.apply(t), k -> new ArrayList<>()).add(t);
        }
        return m;
    }

    static <T> List<T> last(List<T> l, int n) {
        return l.subList(Math.max(0, l.size() - n), l.size());
    }

    // ---------------------------------------------------------------- plain scoring (MambaOperators.score)

    static List<TestEvent> scoreEvents() {
        return Fixture.events(6, 2 * BEFORE, 5);
    }

    /** State of the v1 operator after the first BEFORE events, with a replay window of W. */
    static OperatorSubtaskState v1Snapshot(List<TestEvent> events) throws Exception {
        try (var h = Fixture.harness(fx.spec().replayWindow(W).build(), null)) {
            h.open();
            for (TestEvent e : events.subList(0, BEFORE)) {
                h.processElement(e, e.time);
            }
            return h.snapshot(1, 1);
        }
    }

    static KeyedOneInputStreamOperatorTestHarness<String, TestEvent, MambaScore<String>> v2Harness(
            Path dir, UpgradePolicy policy, ScoringMode mode, OperatorSubtaskState restore) throws Exception {
        var h = Fixture.harness(MambaSpec.builder(dir.toString(), "v2", new TestEvent.Extractor())
                .upgradePolicy(policy).replayWindow(W).scoreWarmupEvents(5).mode(mode).batchMaxEvents(50)
                .batchMaxDelay(Duration.ofHours(1)).build(), null);
        h.initializeState(restore);
        h.open();
        return h;
    }

    /** Runs {@code model} per event from {@code state} over {@code events}; returns the outputs. */
    static List<float[]> run(MambaModel model, float[] state, List<TestEvent> events) {
        RecurrentStepper stepper = model.newStepper();
        List<float[]> out = new ArrayList<>();
        for (TestEvent e : events) {
            float[] y = new float[Fixture.D];
            stepper.step(state, e.features, y);
            out.add(y);
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(value = ScoringMode.class)
    void replayRebuildsEachKeyFromItsLastWEventsWithTheNewModel(ScoringMode mode) throws Exception {
        List<TestEvent> events = scoreEvents();
        Map<String, List<TestEvent>> before = byKey(events.subList(0, BEFORE), e -> e.key);
        Map<String, List<TestEvent>> after = byKey(events.subList(BEFORE, events.size()), e -> e.key);
        try (var h = v2Harness(v2Dir, UpgradePolicy.REPLAY, mode, v1Snapshot(events))) {
            for (TestEvent e : events.subList(BEFORE, events.size())) {
                h.processElement(e, e.time);
            }
            h.endInput();
            Map<String, List<MambaScore<String>>> got = Fixture.byKey(h.extractOutputValues());
            for (Map.Entry<String, List<TestEvent>> k : after.entrySet()) {
                // the reference: a fresh v2 run over the key's last W events, then the new events
                List<TestEvent> replayed = last(before.get(k.getKey()), W);
                assertEquals(W, replayed.size(), "every key had more than W events before the snapshot");
                float[] state = v2.newState();
                run(v2, state, replayed);
                List<float[]> expected = run(v2, state, k.getValue());
                List<MambaScore<String>> outs = got.get(k.getKey());
                assertEquals(expected.size(), outs.size());
                for (int i = 0; i < outs.size(); i++) {
                    MambaScore<String> s = outs.get(i);
                    assertEquals("v2", s.modelVersion);
                    assertEquals(v2.fingerprint(), s.modelFingerprint);
                    assertEquals(W + i + 1, s.eventsSeen, "replayed events count");
                    assertFalse(s.warmingUp, "replayed state is warm (W > warm-up 5)");
                    Fixture.assertClose(expected.get(i), s.output, 1e-5, "output " + i + " of " + k.getKey());
                }
                KeyState st = Fixture.stateOf(h, k.getKey());
                Fixture.assertClose(state, st.state, 1e-5, "state of " + k.getKey());
                assertEquals("v2", st.modelVersion);
                assertEquals(W, st.replay.size());
                assertEquals(k.getValue().get(k.getValue().size() - 1).time, st.replay.events().get(W - 1).eventTime);
            }
            assertEquals(after.size(), counter(h, "stateReplays"));
        }
    }

    static long counter(KeyedOneInputStreamOperatorTestHarness<String, TestEvent, ?> h, String name) {
        return counter((KeyedMambaOperator<?, ?, ?>) h.getOperator(), name);
    }

    static long counter(KeyedMambaOperator<?, ?, ?> op, String name) {
        switch (name) {
            case "modelUpdatesApplied": return op.modelUpdates().applied.getCount();
            case "modelUpdatesRefused": return op.modelUpdates().refused.getCount();
            case "stateReplays": return op.metrics.stateReplays.getCount();
            case "stateCarries": return op.metrics.stateCarries.getCount();
            case "stateResets": return op.metrics.stateResets.getCount();
            default: throw new IllegalArgumentException(name);
        }
    }

    /** Each policy's step for a key another model wrote, as both the operator and the offline rebuilder take it. */
    @Test
    void eachPolicyTakesItsStepFromTheStateAndWhetherItFits() {
        KeyState noBuffer = new KeyState(new float[4], 3, "old");
        KeyState emptyBuffer = new KeyState(new float[4], 3, "old");
        emptyBuffer.replay = new ReplayBuffer(8);
        KeyState buffered = new KeyState(new float[4], 3, "old");
        buffered.replay = new ReplayBuffer(8);
        buffered.replay.add(1L, new float[] {1f});
        for (KeyState s : new KeyState[] {noBuffer, emptyBuffer, buffered}) {
            for (boolean fits : new boolean[] {true, false}) {
                assertEquals(fits ? UpgradePolicy.Step.CARRY : UpgradePolicy.Step.REFUSE_SHAPE,
                        UpgradePolicy.CARRY.stepFor(s, fits));
                assertEquals(s == buffered ? UpgradePolicy.Step.REPLAY : UpgradePolicy.Step.RESET,
                        UpgradePolicy.REPLAY.stepFor(s, fits), "REPLAY of a key with nothing buffered resets it");
                assertEquals(UpgradePolicy.Step.RESET, UpgradePolicy.RESET.stepFor(s, fits));
                assertEquals(UpgradePolicy.Step.REFUSE, UpgradePolicy.FAIL.stepFor(s, fits));
            }
        }
    }

    @Test
    void carryKeepsTheHiddenStatesForAModelOfTheSameShape() throws Exception {
        List<TestEvent> events = scoreEvents();
        Fixture.Reference v1ref = fx.reference(events.subList(0, BEFORE));
        Map<String, List<TestEvent>> after = byKey(events.subList(BEFORE, events.size()), e -> e.key);
        try (var h = v2Harness(v2Dir, UpgradePolicy.CARRY, ScoringMode.PER_EVENT, v1Snapshot(events))) {
            for (TestEvent e : events.subList(BEFORE, events.size())) {
                h.processElement(e, e.time);
            }
            Map<String, List<MambaScore<String>>> got = Fixture.byKey(h.extractOutputValues());
            for (Map.Entry<String, List<TestEvent>> k : after.entrySet()) {
                float[] state = v1ref.states.get(k.getKey()).clone();
                int n1 = v1ref.outputs.get(k.getKey()).size();
                List<float[]> expected = run(v2, state, k.getValue());
                List<MambaScore<String>> outs = got.get(k.getKey());
                for (int i = 0; i < outs.size(); i++) {
                    assertEquals("v2", outs.get(i).modelVersion);
                    assertEquals(n1 + i + 1, outs.get(i).eventsSeen, "the key's count carries on");
                    Fixture.assertClose(expected.get(i), outs.get(i).output, 1e-5, "output " + i + " of " + k.getKey());
                }
                assertEquals(v2.fingerprint(), Fixture.stateOf(h, k.getKey()).modelFingerprint);
            }
            assertEquals(after.size(), counter(h, "stateCarries"));
        }
    }

    @Test
    void carryIsRefusedWhenTheStateShapesDiffer() throws Exception {
        List<TestEvent> events = scoreEvents();
        Path other = RandomCheckpoint.write(tmp.resolve("v3-narrow-state"), MambaConfig.of(Fixture.D, 4, 2), 5);
        try (var h = v2Harness(other, UpgradePolicy.CARRY, ScoringMode.PER_EVENT, v1Snapshot(events))) {
            TestEvent e = events.get(BEFORE);
            IllegalStateException x = Fixture.assertUnrecoverable(() -> h.processElement(e, e.time));
            assertTrue(x.getMessage().contains("CARRY refused for key " + e.key), x.getMessage());
            assertTrue(x.getMessage().contains(Fixture.CONFIG.stateFloats() + " backbone state floats"), x.getMessage());
            assertTrue(x.getMessage().contains(MambaConfig.of(Fixture.D, 4, 2).stateFloats() + " backbone state floats"), x.getMessage());
        }
    }

    @Test
    void replayOfInputsOfAnotherWidthResetsInsteadOfFailing() throws Exception {
        List<TestEvent> events = scoreEvents();
        MambaConfig narrow = MambaConfig.of(8, 8, 2);
        Path other = RandomCheckpoint.write(tmp.resolve("v4-hidden-8"), narrow, 6);
        try (var h = v2Harness(other, UpgradePolicy.REPLAY, ScoringMode.PER_EVENT, v1Snapshot(events))) {
            TestEvent e = new TestEvent(events.get(BEFORE).key, 1L << 40, new float[8]);
            h.processElement(e, e.time);
            MambaScore<String> s = h.extractOutputValues().get(0);
            assertEquals(1, s.eventsSeen, "reset: the buffered 16-float inputs cannot feed a hidden-8 model");
            assertEquals(1, Fixture.stateOf(h, e.key).replay.size(), "the old buffer was dropped, the new event kept");
            assertEquals(1, counter(h, "stateResets"));
        }
        StateRebuilder rb = StateRebuilder.load(other, "v4", W, CalibrationSettings.DEFAULT);
        try (var h = Fixture.harness(fx.spec().replayWindow(W).build(), null)) {
            h.open();
            for (TestEvent e : events.subList(0, BEFORE)) {
                h.processElement(e, e.time);
            }
            StateRebuilder.Result r = rb.upgrade("k0", Fixture.stateOf(h, "k0"), UpgradePolicy.REPLAY);
            assertEquals(StateRebuilder.Outcome.RESET, r.outcome);
            assertEquals(null, r.state.replay);
        }
    }

    @Test
    void resetStartsFreshAndFlagsWarmUp() throws Exception {
        List<TestEvent> events = scoreEvents();
        Map<String, List<TestEvent>> after = byKey(events.subList(BEFORE, events.size()), e -> e.key);
        try (var h = v2Harness(v2Dir, UpgradePolicy.RESET, ScoringMode.PER_EVENT, v1Snapshot(events))) {
            for (TestEvent e : events.subList(BEFORE, events.size())) {
                h.processElement(e, e.time);
            }
            Map<String, List<MambaScore<String>>> got = Fixture.byKey(h.extractOutputValues());
            for (Map.Entry<String, List<TestEvent>> k : after.entrySet()) {
                List<float[]> expected = run(v2, v2.newState(), k.getValue());
                List<MambaScore<String>> outs = got.get(k.getKey());
                for (int i = 0; i < outs.size(); i++) {
                    assertEquals(i + 1, outs.get(i).eventsSeen);
                    assertEquals(i < 5, outs.get(i).warmingUp, "warm-up of 5 events");
                    assertEquals("v2", outs.get(i).modelVersion);
                    Fixture.assertClose(expected.get(i), outs.get(i).output, 1e-5, "output " + i + " of " + k.getKey());
                }
                // the inputs stay buffered across a reset: a later replay can use them
                assertEquals(W, Fixture.stateOf(h, k.getKey()).replay.size());
            }
            assertEquals(after.size(), counter(h, "stateResets"));
        }
    }

    @Test
    void theLegacyOnModelChangeOptionStillDecidesWhenNoUpgradePolicyIsSet() throws Exception {
        Map<String, String> legacy = Map.of("mamba.state.on-model-change", "FAIL");
        MambaSettings s = new MambaSettings(org.apache.flink.configuration.Configuration.fromMap(legacy));
        assertEquals(UpgradePolicy.FAIL, s.upgradePolicy);
        assertEquals(UpgradePolicy.RESET, new MambaSettings(new org.apache.flink.configuration.Configuration()).upgradePolicy);
        Map<String, String> both = Map.of("mamba.state.on-model-change", "FAIL", "mamba.upgrade.policy", "carry");
        assertEquals(UpgradePolicy.CARRY, new MambaSettings(org.apache.flink.configuration.Configuration.fromMap(both)).upgradePolicy);
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> new MambaSettings(
                org.apache.flink.configuration.Configuration.fromMap(Map.of("mamba.upgrade.policy", "replay"))));
        assertTrue(x.getMessage().contains("mamba.upgrade.replay-window"), x.getMessage());
    }

    // ---------------------------------------------------------------- anomaly scoring (MambaOperators.scoreAnomalies)

    static List<TestEvent> anomalyEvents() {
        return ForecasterFixture.events(5, 2 * BEFORE, 9);
    }

    static OperatorSubtaskState fc1Snapshot(List<TestEvent> events) throws Exception {
        try (var h = ForecasterFixture.harness(ffx.spec().replayWindow(W).build(), null)) {
            h.open();
            for (TestEvent e : events.subList(0, BEFORE)) {
                h.processElement(e, e.time);
            }
            return h.snapshot(1, 1);
        }
    }

    static KeyedOneInputStreamOperatorTestHarness<String, TestEvent, AnomalyScore<String>> fc2Harness(
            Path dir, UpgradePolicy policy, ScoringMode mode, OperatorSubtaskState restore) throws Exception {
        var h = ForecasterFixture.harness(MambaSpec.builder(dir.toString(), "fc2", new TestEvent.Extractor())
                .anomalyWarmupEvents(CAL.warmupEvents()).upgradePolicy(policy).replayWindow(W).mode(mode)
                .batchMaxEvents(50).batchMaxDelay(Duration.ofHours(1)).build(), null);
        h.initializeState(restore);
        h.open();
        return h;
    }

    @ParameterizedTest
    @EnumSource(value = ScoringMode.class)
    void anomalyReplayRebuildsBackboneNormaliserAndCalibration(ScoringMode mode) throws Exception {
        List<TestEvent> events = anomalyEvents();
        Map<String, List<TestEvent>> before = byKey(events.subList(0, BEFORE), e -> e.key);
        Map<String, List<TestEvent>> after = byKey(events.subList(BEFORE, events.size()), e -> e.key);
        ForecastScorer scorer = new ForecastScorer(fc2, CAL);
        try (var h = fc2Harness(fc2Dir, UpgradePolicy.REPLAY, mode, fc1Snapshot(events))) {
            for (TestEvent e : events.subList(BEFORE, events.size())) {
                h.processElement(e, e.time);
            }
            h.endInput();
            Map<String, List<AnomalyScore<String>>> got = ForecasterFixture.byKey(h.extractOutputValues());
            for (Map.Entry<String, List<TestEvent>> k : after.entrySet()) {
                ForecastState ref = scorer.newState();
                for (TestEvent e : last(before.get(k.getKey()), W)) {
                    scorer.score(ref, e.features);
                }
                List<AnomalyScore<String>> outs = got.get(k.getKey());
                for (int i = 0; i < outs.size(); i++) {
                    ForecastResult r = scorer.score(ref, k.getValue().get(i).features);
                    AnomalyScore<String> s = outs.get(i);
                    String what = "event " + i + " of " + k.getKey();
                    assertEquals("fc2", s.modelVersion);
                    assertEquals(fc2.fingerprint(), s.modelFingerprint);
                    assertEquals(r.eventsSeen, s.eventsSeen, what);
                    assertEquals(W + i + 1, s.eventsSeen, what);
                    assertEquals(r.warmingUp, s.warmingUp, what);
                    assertFalse(Float.isNaN(s.forecast[0]), "the first event after the upgrade is forecast: " + what);
                    assertEquals(r.score, s.score, 1e-4 * (1 + Math.abs(r.score)), what + " score");
                    assertEquals(r.likelihood, s.anomalyLikelihood, 1e-3, what + " likelihood");
                }
                KeyState st = ForecasterFixture.stateOf(h, k.getKey());
                Fixture.assertClose(ref.backbone, st.state, 1e-5, "backbone state of " + k.getKey());
                assertEquals(ref.events, st.forecast.events);
                assertEquals(ref.scores, st.forecast.scores);
                for (int f = 0; f < ForecasterFixture.F; f++) {
                    assertEquals(ref.mean[f], st.forecast.mean[f], 1e-9 * (1 + Math.abs(ref.mean[f])), "normaliser mean");
                    assertEquals(ref.var[f], st.forecast.var[f], 1e-9 * (1 + Math.abs(ref.var[f])), "normaliser var");
                }
                assertEquals(ref.longMean, st.forecast.longMean, 1e-4 * (1 + Math.abs(ref.longMean)), "calibration mean");
                assertEquals("fc2", st.modelVersion);
            }
            assertEquals(after.size(), counter(h, "stateReplays"));
        }
    }

    @Test
    void anomalyResetWarmsUpAgainAndCarryKeepsTheForecasterState() throws Exception {
        List<TestEvent> events = anomalyEvents();
        OperatorSubtaskState snap = fc1Snapshot(events);
        Map<String, List<TestEvent>> before = byKey(events.subList(0, BEFORE), e -> e.key);
        String key = events.get(BEFORE).key;
        float[] x = events.get(BEFORE).features;
        try (var h = fc2Harness(fc2Dir, UpgradePolicy.RESET, ScoringMode.PER_EVENT, snap)) {
            h.processElement(events.get(BEFORE), events.get(BEFORE).time);
            AnomalyScore<String> s = h.extractOutputValues().get(0);
            assertEquals(1, s.eventsSeen);
            assertTrue(s.warmingUp);
            assertTrue(Float.isNaN(s.forecast[0]), "a fresh key has no forecast yet");
            assertEquals("fc2", s.modelVersion);
        }
        try (var h = fc2Harness(fc2Dir, UpgradePolicy.CARRY, ScoringMode.PER_EVENT, snap)) {
            h.processElement(events.get(BEFORE), events.get(BEFORE).time);
            AnomalyScore<String> s = h.extractOutputValues().get(0);
            // the reference: fc1's per-key state after the key's events, then one fc2 step
            ForecastScorer s1 = new ForecastScorer(ffx.forecaster, CAL);
            ForecastState st = s1.newState();
            for (TestEvent e : before.get(key)) {
                s1.score(st, e.features);
            }
            ForecastResult r = new ForecastScorer(fc2, CAL).score(st, x);
            assertEquals(before.get(key).size() + 1, s.eventsSeen);
            assertFalse(s.warmingUp);
            assertEquals("fc2", s.modelVersion);
            assertEquals(r.score, s.score, 1e-5 * (1 + Math.abs(r.score)));
            assertNotEquals(0.0, s.score);
        }
        Path wider = ForecasterFixture.write(tmp.resolve("fc3-three-features"), ForecasterFixture.CONFIG, 3, 23);
        var h = ForecasterFixture.harness(MambaSpec.builder(wider.toString(), "fc3", new TestEvent.Extractor())
                .upgradePolicy(UpgradePolicy.CARRY).build(), null);
        h.initializeState(snap);
        h.open();
        TestEvent e3 = new TestEvent(key, 1L << 40, new float[] {1f, 2f, 3f});
        IllegalStateException refused = Fixture.assertUnrecoverable(() -> h.processElement(e3, e3.time));
        assertTrue(refused.getMessage().contains("forecaster state of 2 features"), refused.getMessage());
        h.close();
    }

    @Test
    void plainStateUnderAnAnomalyUidIsNotCarried() throws Exception {
        List<TestEvent> events = scoreEvents();
        OperatorSubtaskState plain = v1Snapshot(events);
        var h = ForecasterFixture.harness(ffx.spec().upgradePolicy(UpgradePolicy.CARRY).build(), null);
        h.initializeState(plain);
        h.open();
        TestEvent e = new TestEvent(events.get(0).key, 5L, new float[] {1f, 2f});
        IllegalStateException x = Fixture.assertUnrecoverable(() -> h.processElement(e, e.time));
        assertTrue(x.getMessage().contains("no forecaster state"), x.getMessage());
        h.close();
    }

    // ---------------------------------------------------------------- the offline tool's rebuilder

    @Test
    void offlineRebuilderGivesWhatTheOperatorsPoliciesGive() throws Exception {
        List<TestEvent> events = scoreEvents();
        Map<String, List<TestEvent>> before = byKey(events.subList(0, BEFORE), e -> e.key);
        StateRebuilder rb = StateRebuilder.load(v2Dir, "v2", W, CalibrationSettings.DEFAULT);
        Path narrow = RandomCheckpoint.write(tmp.resolve("v3-narrow-offline"), MambaConfig.of(Fixture.D, 4, 2), 5);
        StateRebuilder narrowRb = StateRebuilder.load(narrow, "v3", W, CalibrationSettings.DEFAULT);
        try (var h = Fixture.harness(fx.spec().replayWindow(W).build(), null)) {
            h.open();
            for (TestEvent e : events.subList(0, BEFORE)) {
                h.processElement(e, e.time);
            }
            for (String key : before.keySet()) {
                StateRebuilder.Result r = rb.upgrade(key, Fixture.stateOf(h, key), UpgradePolicy.REPLAY);
                assertEquals(StateRebuilder.Outcome.REPLAYED, r.outcome);
                float[] ref = v2.newState();
                run(v2, ref, last(before.get(key), W));
                Fixture.assertClose(ref, r.state.state, 1e-5, "rebuilt state of " + key);
                assertEquals(W, r.state.eventsSeen);
                assertEquals("v2", r.state.modelVersion);
                assertEquals(v2.fingerprint(), r.state.modelFingerprint);
                assertEquals(W, r.state.replay.size());

                StateRebuilder.Result reset = rb.upgrade(key, Fixture.stateOf(h, key), UpgradePolicy.RESET);
                assertEquals(StateRebuilder.Outcome.RESET, reset.outcome);
                assertEquals(0, reset.state.eventsSeen);
                Fixture.assertClose(v2.newState(), reset.state.state, 0, "fresh state");

                KeyState carried = rb.upgrade(key, Fixture.stateOf(h, key), UpgradePolicy.CARRY).state;
                Fixture.assertClose(Fixture.stateOf(h, key).state, carried.state, 0, "carried state");
                assertEquals(v2.fingerprint(), carried.modelFingerprint);
                assertEquals(StateRebuilder.Outcome.UNCHANGED, rb.upgrade(key, carried, UpgradePolicy.FAIL).outcome);

                IllegalStateException x = assertThrows(IllegalStateException.class,
                        () -> narrowRb.upgrade(key, Fixture.stateOf(h, key), UpgradePolicy.CARRY));
                assertTrue(x.getMessage().contains("CARRY refused for key " + key), x.getMessage());
            }
        }
    }

    @Test
    void offlineRebuilderReplaysTheForecasterStateLikeTheOperator() throws Exception {
        List<TestEvent> events = anomalyEvents();
        Map<String, List<TestEvent>> before = byKey(events.subList(0, BEFORE), e -> e.key);
        StateRebuilder rb = StateRebuilder.load(fc2Dir, "fc2", W, CAL);
        ForecastScorer scorer = new ForecastScorer(fc2, CAL);
        try (var h = ForecasterFixture.harness(ffx.spec().replayWindow(W).build(), null)) {
            h.open();
            for (TestEvent e : events.subList(0, BEFORE)) {
                h.processElement(e, e.time);
            }
            for (String key : before.keySet()) {
                KeyState st = rb.upgrade(key, ForecasterFixture.stateOf(h, key), UpgradePolicy.REPLAY).state;
                ForecastState ref = scorer.newState();
                for (TestEvent e : last(before.get(key), W)) {
                    scorer.score(ref, e.features);
                }
                Fixture.assertClose(ref.backbone, st.state, 1e-5, "backbone of " + key);
                assertTrue(st.forecast.backbone == st.state);
                assertEquals(ref.events, st.forecast.events);
                assertEquals(ref.scores, st.forecast.scores);
                assertEquals(ref.mean[0], st.forecast.mean[0], 1e-9 * (1 + Math.abs(ref.mean[0])));
                assertEquals(ref.longMean, st.forecast.longMean, 1e-4 * (1 + Math.abs(ref.longMean)));
                assertEquals("fc2", st.modelVersion);
            }
        }
    }
}
