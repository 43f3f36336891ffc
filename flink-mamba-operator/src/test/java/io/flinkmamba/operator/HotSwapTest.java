package io.flinkmamba.operator;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastResult;
import io.flinkmamba.kernels.forecast.ForecastScorer;
import io.flinkmamba.kernels.forecast.ForecastState;
import io.flinkmamba.kernels.forecast.Forecaster;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailbox;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.flinkmamba.operator.UpgradePolicyTest.byKey;
import static io.flinkmamba.operator.UpgradePolicyTest.last;
import static io.flinkmamba.operator.UpgradePolicyTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hot swap through the operators' second input: events with v1, a {@link ModelUpdate} to v2, events.
 * Outputs before the switch are v1's, after it v2's, with each key upgraded on its first touch by the
 * update's policy (the references are {@link UpgradePolicyTest}'s); refused updates keep v1 and say why;
 * a snapshot taken after the swap restores into an operator configured with v1 and scores with v2.
 */
class HotSwapTest {
    static final int W = 24;
    static final int BEFORE = 300;
    static final CalibrationSettings CAL = AnomalyScoringOperatorTest.CAL;

    @TempDir
    static Path tmp;
    static Fixture fx;
    static Path v2Dir;
    static MambaModel v2;
    static String v2Sha;
    static ForecasterFixture ffx;
    static Path fc2Dir;
    static Forecaster fc2;

    @BeforeAll
    static void models() throws Exception {
        fx = new Fixture(tmp);
        v2Dir = RandomCheckpoint.write(tmp.resolve("v2"), Fixture.CONFIG, 99);
        v2 = MambaModel.load(v2Dir);
        v2Sha = ModelFiles.digest(v2Dir);
        ffx = new ForecasterFixture(tmp);
        fc2Dir = ForecasterFixture.write(tmp.resolve("fc2"), ForecasterFixture.CONFIG, ForecasterFixture.F, 22);
        fc2 = Forecaster.load(fc2Dir);
    }

    // ---------------------------------------------------------------- harnesses

    static <OUT> KeyedTwoInputStreamOperatorTestHarness<String, TestEvent, ModelUpdate, OUT> harness(
            KeyedMambaOperator<String, TestEvent, OUT> op) throws Exception {
        return new KeyedTwoInputStreamOperatorTestHarness<>(op.acceptModelUpdates(),
                (KeySelector<TestEvent, String>) e -> e.key, null, Types.STRING);
    }

    static KeyedTwoInputStreamOperatorTestHarness<String, TestEvent, ModelUpdate, MambaScore<String>> scoring(
            ScoringMode mode, OperatorSubtaskState restore) throws Exception {
        MambaSpec<TestEvent> spec = fx.spec().replayWindow(W).scoreWarmupEvents(5).mode(mode).batchMaxEvents(50)
                .batchMaxDelay(Duration.ofHours(1)).build();
        var h = harness(new MambaScoringOperator<String, TestEvent>(spec, spec.resolve(new Configuration())));
        h.initializeState(restore);
        h.open();
        return h;
    }

    static KeyedTwoInputStreamOperatorTestHarness<String, TestEvent, ModelUpdate, AnomalyScore<String>> anomaly(
            ScoringMode mode) throws Exception {
        MambaSpec<TestEvent> spec = ffx.spec().anomalyWarmupEvents(CAL.warmupEvents()).replayWindow(W).mode(mode)
                .batchMaxEvents(50).batchMaxDelay(Duration.ofHours(1)).build();
        var h = harness(new AnomalyScoringOperator<String, TestEvent>(spec, spec.resolve(new Configuration())));
        h.open();
        return h;
    }

    /** Sends the update and runs the operator's mailbox until the subtask has accepted or refused it. */
    static void update(KeyedTwoInputStreamOperatorTestHarness<String, TestEvent, ModelUpdate, ?> h, ModelUpdate u)
            throws Exception {
        h.processElement2(new StreamRecord<>(u));
        awaitDecisions(h);
    }

    static void awaitDecisions(KeyedTwoInputStreamOperatorTestHarness<String, TestEvent, ModelUpdate, ?> h) throws Exception {
        KeyedMambaOperator<?, ?, ?> op = (KeyedMambaOperator<?, ?, ?>) h.getOperator();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (op.updatesLoading() > 0) {
            var mail = h.getTaskMailbox().tryTake(TaskMailbox.MIN_PRIORITY);
            if (mail.isPresent()) {
                mail.get().run();
            } else {
                assertTrue(System.nanoTime() < deadline, "the loader answered within 60 s");
                Thread.sleep(5);
            }
        }
    }

    static List<ModelUpdateOutcome> outcomes(KeyedTwoInputStreamOperatorTestHarness<String, TestEvent, ModelUpdate, ?> h) {
        List<ModelUpdateOutcome> l = new ArrayList<>();
        var q = h.getSideOutput(MambaOperators.MODEL_UPDATES);
        if (q != null) {
            q.forEach(r -> l.add(r.getValue()));
        }
        return l;
    }

    static void feed(KeyedTwoInputStreamOperatorTestHarness<String, TestEvent, ModelUpdate, ?> h, List<TestEvent> events)
            throws Exception {
        for (TestEvent e : events) {
            h.processElement1(e, e.time);
        }
    }

    static long counter(KeyedTwoInputStreamOperatorTestHarness<String, TestEvent, ModelUpdate, ?> h, String name) {
        return UpgradePolicyTest.counter((KeyedMambaOperator<?, ?, ?>) h.getOperator(), name);
    }

    @SuppressWarnings("unchecked")
    static KeyState stateOf(KeyedTwoInputStreamOperatorTestHarness<String, TestEvent, ModelUpdate, ?> h, String key)
            throws Exception {
        return ((KeyedMambaOperator<String, TestEvent, ?>) h.getOperator()).stateOf(key);
    }

    static List<MambaScore<String>> scores(KeyedTwoInputStreamOperatorTestHarness<String, TestEvent, ModelUpdate, MambaScore<String>> h) {
        return h.extractOutputValues();
    }

    // ---------------------------------------------------------------- score: the switch and REPLAY

    @ParameterizedTest
    @EnumSource(ScoringMode.class)
    void outputsSwitchFromV1ToV2AndReplayRebuildsEachKey(ScoringMode mode) throws Exception {
        List<TestEvent> events = Fixture.events(6, 2 * BEFORE, 5);
        List<TestEvent> first = events.subList(0, BEFORE);
        List<TestEvent> second = events.subList(BEFORE, events.size());
        Fixture.Reference v1ref = fx.reference(first);
        Map<String, List<TestEvent>> before = byKey(first, e -> e.key);
        Map<String, List<TestEvent>> after = byKey(second, e -> e.key);
        try (var h = scoring(mode, null)) {
            feed(h, first);
            update(h, new ModelUpdate(v2Dir.toString(), v2Sha, "v2", UpgradePolicy.REPLAY));
            // every v1 event, pending micro-batch ones included, was scored before the switch
            List<MambaScore<String>> v1Outputs = new ArrayList<>(scores(h));
            assertEquals(BEFORE, v1Outputs.size(), "events before the update are scored by v1 before the switch");
            fx.assertOutputsMatch(v1ref, v1Outputs, 1e-5);
            feed(h, second);
            h.endInput1();
            ((KeyedMambaOperator<?, ?, ?>) h.getOperator()).endInput();
            List<MambaScore<String>> all = scores(h);
            Map<String, List<MambaScore<String>>> got = Fixture.byKey(all.subList(BEFORE, all.size()));
            for (Map.Entry<String, List<TestEvent>> k : after.entrySet()) {
                List<TestEvent> replayed = last(before.get(k.getKey()), W);
                assertEquals(W, replayed.size());
                float[] state = v2.newState();
                run(v2, state, replayed);
                List<float[]> expected = run(v2, state, k.getValue());
                List<MambaScore<String>> outs = got.get(k.getKey());
                assertEquals(expected.size(), outs.size());
                for (int i = 0; i < outs.size(); i++) {
                    MambaScore<String> s = outs.get(i);
                    assertEquals("v2", s.modelVersion);
                    assertEquals(v2.fingerprint(), s.modelFingerprint);
                    assertEquals(W + i + 1, s.eventsSeen);
                    assertFalse(s.warmingUp);
                    Fixture.assertClose(expected.get(i), s.output, 1e-5, "output " + i + " of " + k.getKey());
                }
                KeyState st = stateOf(h, k.getKey());
                Fixture.assertClose(state, st.state, 1e-5, "state of " + k.getKey());
                assertEquals("v2", st.modelVersion);
            }
            assertEquals(after.size(), counter(h, "stateReplays"));
            List<ModelUpdateOutcome> o = outcomes(h);
            assertEquals(1, o.size());
            assertTrue(o.get(0).accepted);
            assertNull(o.get(0).reason);
            assertEquals("v1", o.get(0).previousVersion);
            assertEquals(v2.fingerprint(), o.get(0).fingerprint);
            assertEquals(UpgradePolicy.REPLAY, o.get(0).policy);
            assertEquals(1, counter(h, "modelUpdatesApplied"));
            assertEquals(0, counter(h, "modelUpdatesRefused"));
            assertEquals("v2", ((KeyedMambaOperator<?, ?, ?>) h.getOperator()).runningVersion());
        }
    }

    @Test
    void resetStartsEveryKeyFreshAndWarmsUpAgain() throws Exception {
        List<TestEvent> events = Fixture.events(4, 2 * BEFORE, 8);
        Map<String, List<TestEvent>> after = byKey(events.subList(BEFORE, events.size()), e -> e.key);
        try (var h = scoring(ScoringMode.PER_EVENT, null)) {
            feed(h, events.subList(0, BEFORE));
            update(h, new ModelUpdate(v2Dir.toUri().toString(), v2Sha.toUpperCase(), "v2", UpgradePolicy.RESET));
            feed(h, events.subList(BEFORE, events.size()));
            List<MambaScore<String>> all = scores(h);
            Map<String, List<MambaScore<String>>> got = Fixture.byKey(all.subList(BEFORE, all.size()));
            for (Map.Entry<String, List<TestEvent>> k : after.entrySet()) {
                List<float[]> expected = run(v2, v2.newState(), k.getValue());
                List<MambaScore<String>> outs = got.get(k.getKey());
                for (int i = 0; i < outs.size(); i++) {
                    assertEquals(i + 1, outs.get(i).eventsSeen);
                    assertEquals(i < 5, outs.get(i).warmingUp, "warm-up of 5 events after the reset");
                    assertEquals("v2", outs.get(i).modelVersion);
                    Fixture.assertClose(expected.get(i), outs.get(i).output, 1e-5, "output " + i + " of " + k.getKey());
                }
            }
            assertEquals(after.size(), counter(h, "stateResets"));
        }
    }

    @Test
    void eventsHeldForEventTimeAreScoredByTheModelInUseWhenReleasedAndUpdatesDoNotHoldTheWatermark() throws Exception {
        MambaSpec<TestEvent> spec = fx.spec().ordering(Ordering.EVENT_TIME).build();
        var h = harness(new MambaScoringOperator<String, TestEvent>(spec, spec.resolve(new Configuration())));
        h.open();
        try (h) {
            List<TestEvent> events = Fixture.events(2, 20, 16);
            feed(h, events.subList(0, 10));
            h.processWatermark1(new org.apache.flink.streaming.api.watermark.Watermark(events.get(4).time));
            assertEquals(5, scores(h).size(), "released: the first 5 events");
            // the updates' input never sent a watermark: the events' watermark alone goes downstream
            assertTrue(h.getOutput().stream().anyMatch(o -> o instanceof org.apache.flink.streaming.api.watermark.Watermark
                    && ((org.apache.flink.streaming.api.watermark.Watermark) o).getTimestamp() == events.get(4).time));
            update(h, new ModelUpdate(v2Dir.toString(), v2Sha, "v2", UpgradePolicy.RESET));
            feed(h, events.subList(10, 20));
            h.processWatermark1(new org.apache.flink.streaming.api.watermark.Watermark(Long.MAX_VALUE));
            List<MambaScore<String>> all = scores(h);
            assertEquals(20, all.size());
            for (int i = 0; i < 20; i++) {
                assertEquals(i < 5 ? "v1" : "v2", all.get(i).modelVersion, "event " + i + ": held events are scored when released");
            }
        }
    }

    // ---------------------------------------------------------------- refused updates keep v1

    @Test
    void refusedUpdatesKeepV1AndSayWhy() throws Exception {
        Path narrow = RandomCheckpoint.write(tmp.resolve("narrow"), MambaConfig.of(Fixture.D, 4, 2), 5);
        Path wide = RandomCheckpoint.write(tmp.resolve("hidden-8"), MambaConfig.of(8, 8, 2), 6);
        Path corrupt = copy(v2Dir, tmp.resolve("corrupt"));
        byte[] weights = Files.readAllBytes(corrupt.resolve("model.safetensors"));
        Files.write(corrupt.resolve("model.safetensors"), java.util.Arrays.copyOf(weights, weights.length / 2));
        Path hostile = copy(v2Dir, tmp.resolve("hostile"));
        Files.writeString(hostile.resolve("config.json"), "{\"hidden_size\": -4, \"num_hidden_layers\": 1000000000}");

        List<TestEvent> events = Fixture.events(5, 3 * 60, 11);
        try (var h = scoring(ScoringMode.PER_EVENT, null)) {
            feed(h, events.subList(0, 60));
            update(h, new ModelUpdate(narrow.toString(), ModelFiles.digest(narrow), "v3", UpgradePolicy.CARRY));
            update(h, new ModelUpdate(v2Dir.toString(), ModelFiles.digest(narrow), "v2", UpgradePolicy.RESET));
            update(h, new ModelUpdate(corrupt.toString(), ModelFiles.digest(corrupt), "v2-corrupt", UpgradePolicy.RESET));
            update(h, new ModelUpdate(hostile.toString(), ModelFiles.digest(hostile), "v2-hostile", UpgradePolicy.RESET));
            update(h, new ModelUpdate(tmp.resolve("missing").toString(), v2Sha, "v2-missing", UpgradePolicy.RESET));
            update(h, new ModelUpdate(wide.toString(), ModelFiles.digest(wide), "v4", UpgradePolicy.RESET));
            update(h, new ModelUpdate(v2Dir.toString(), v2Sha, "v2-fail", UpgradePolicy.FAIL));
            update(h, new ModelUpdate(v2Dir.toString(), "not-a-digest", "v2", UpgradePolicy.RESET));
            feed(h, events.subList(60, events.size()));

            List<ModelUpdateOutcome> o = outcomes(h);
            assertEquals(8, o.size());
            for (ModelUpdateOutcome r : o) {
                assertFalse(r.accepted, r.toString());
                assertEquals("v1", r.previousVersion);
            }
            assertContains(o.get(0).reason, "CARRY needs the same architecture");
            assertContains(o.get(0).reason, Fixture.CONFIG.stateFloats() + " backbone state floats");
            assertContains(o.get(1).reason, "sha256 mismatch");
            assertContains(o.get(2).reason, "cannot load the model");
            assertContains(o.get(3).reason, "cannot load the model");
            assertContains(o.get(4).reason, "does not exist");
            assertContains(o.get(5).reason, "takes 8 features per event");
            assertContains(o.get(6).reason, "policy FAIL forbids a model change");
            assertContains(o.get(7).reason, "sha256 must be 64 hex digits");
            assertEquals(8, counter(h, "modelUpdatesRefused"));
            assertEquals(0, counter(h, "modelUpdatesApplied"));
            // the v1 run went on as if nothing happened
            fx.assertOutputsMatch(fx.reference(events), scores(h), 1e-5);
        }
    }

    @Test
    void theSameWeightsUnderANewLabelOnlyRelabel() throws Exception {
        List<TestEvent> events = Fixture.events(3, 120, 12);
        try (var h = scoring(ScoringMode.PER_EVENT, null)) {
            feed(h, events.subList(0, 60));
            update(h, new ModelUpdate(fx.modelDir.toString(), ModelFiles.digest(fx.modelDir), "v1.1", UpgradePolicy.FAIL));
            feed(h, events.subList(60, 120));
            Fixture.Reference ref = fx.reference(events);
            List<MambaScore<String>> all = scores(h);
            Map<String, List<MambaScore<String>>> got = Fixture.byKey(all);
            for (Map.Entry<String, List<float[]>> k : ref.outputs.entrySet()) {
                List<MambaScore<String>> outs = got.get(k.getKey());
                for (int i = 0; i < outs.size(); i++) {
                    assertEquals(i + 1, outs.get(i).eventsSeen, "no upgrade: the key's count goes on");
                    Fixture.assertClose(k.getValue().get(i), outs.get(i).output, 1e-5, "output " + i);
                }
            }
            assertEquals("v1.1", all.get(all.size() - 1).modelVersion);
            assertEquals(0, counter(h, "stateResets") + counter(h, "stateReplays") + counter(h, "stateCarries"));
        }
    }

    // ---------------------------------------------------------------- checkpoints

    @ParameterizedTest
    @EnumSource(ScoringMode.class)
    void aSnapshotAfterTheSwapRestoresIntoAV1JobThatScoresWithV2(ScoringMode mode) throws Exception {
        List<TestEvent> events = Fixture.events(5, 3 * 100, 13);
        OperatorSubtaskState snap;
        List<MambaScore<String>> uninterrupted;
        try (var h = scoring(mode, null)) {
            feed(h, events.subList(0, 100));
            update(h, new ModelUpdate(v2Dir.toString(), v2Sha, "v2", UpgradePolicy.REPLAY));
            feed(h, events.subList(100, 200));
            snap = h.snapshot(1, 1);
            feed(h, events.subList(200, 300));
            ((KeyedMambaOperator<?, ?, ?>) h.getOperator()).endInput();
            List<MambaScore<String>> all = scores(h);
            uninterrupted = all.subList(all.size() - countAfterSnapshot(all, events.get(200).time), all.size());
        }
        try (var h = scoring(mode, snap)) { // configured with v1, as the job was started
            assertEquals("v2", ((KeyedMambaOperator<?, ?, ?>) h.getOperator()).runningVersion());
            feed(h, events.subList(200, 300));
            ((KeyedMambaOperator<?, ?, ?>) h.getOperator()).endInput();
            List<MambaScore<String>> all = scores(h);
            List<MambaScore<String>> restored = all.subList(all.size() - countAfterSnapshot(all, events.get(200).time), all.size());
            assertEquals(uninterrupted.size(), restored.size());
            Map<String, List<MambaScore<String>>> a = Fixture.byKey(uninterrupted);
            Map<String, List<MambaScore<String>>> b = Fixture.byKey(restored);
            assertEquals(a.keySet(), b.keySet());
            for (String k : a.keySet()) {
                for (int i = 0; i < a.get(k).size(); i++) {
                    MambaScore<String> x = a.get(k).get(i);
                    MambaScore<String> y = b.get(k).get(i);
                    assertEquals("v2", y.modelVersion);
                    assertEquals(v2.fingerprint(), y.modelFingerprint);
                    assertEquals(x.eventsSeen, y.eventsSeen);
                    Fixture.assertClose(x.output, y.output, 1e-5, "output " + i + " of " + k + " after the restore");
                }
            }
            assertEquals(0, counter(h, "stateResets") + counter(h, "stateReplays"), "restored keys are v2's already");
        }
    }

    /** Outputs of events at or after {@code time} (the restored run's). */
    private static int countAfterSnapshot(List<MambaScore<String>> all, long time) {
        int n = 0;
        for (MambaScore<String> s : all) {
            if (s.eventTime >= time) {
                n++;
            }
        }
        return n;
    }

    @Test
    void theSwappedModelSurvivesRescaling() throws Exception {
        OperatorSubtaskState snap;
        try (var h = scoring(ScoringMode.PER_EVENT, null)) {
            feed(h, Fixture.events(4, 40, 15));
            update(h, new ModelUpdate(v2Dir.toString(), v2Sha, "v2", UpgradePolicy.RESET));
            snap = h.snapshot(1, 1);
        }
        for (int subtask = 0; subtask < 2; subtask++) {
            MambaSpec<TestEvent> spec = fx.spec().build();
            var op = new MambaScoringOperator<String, TestEvent>(spec, spec.resolve(new Configuration())).acceptModelUpdates();
            try (var h = new KeyedTwoInputStreamOperatorTestHarness<String, TestEvent, ModelUpdate, MambaScore<String>>(
                    op, (KeySelector<TestEvent, String>) e -> e.key, null, Types.STRING, 128, 2, subtask)) {
                h.initializeState(KeyedTwoInputStreamOperatorTestHarness.repartitionOperatorState(snap, 128, 1, 2, subtask));
                h.open();
                assertEquals("v2", op.runningVersion(), "subtask " + subtask + " of 2");
            }
        }
    }

    @Test
    void anUpdateStillLoadingAtTheSnapshotIsLoadedAfterTheRestore() throws Exception {
        OperatorSubtaskState snap;
        try (var h = scoring(ScoringMode.PER_EVENT, null)) {
            feed(h, Fixture.events(3, 30, 14));
            h.processElement2(new StreamRecord<>(new ModelUpdate(v2Dir.toString(), v2Sha, "v2", UpgradePolicy.RESET)));
            snap = h.snapshot(1, 1); // the loader's answer is not taken from the mailbox before the snapshot
        }
        try (var h = scoring(ScoringMode.PER_EVENT, snap)) {
            assertEquals("v1", ((KeyedMambaOperator<?, ?, ?>) h.getOperator()).runningVersion());
            awaitDecisions(h);
            assertEquals("v2", ((KeyedMambaOperator<?, ?, ?>) h.getOperator()).runningVersion());
            assertTrue(outcomes(h).get(0).accepted);
        }
    }

    @Test
    void aHotSwappedModelGoneAtRestoreFallsBackToTheJobsModelAndReportsIt() throws Exception {
        Path gone = copy(v2Dir, tmp.resolve("v2-deleted-later"));
        OperatorSubtaskState snap;
        try (var h = scoring(ScoringMode.PER_EVENT, null)) {
            update(h, new ModelUpdate(gone.toString(), v2Sha, "v2", UpgradePolicy.RESET));
            snap = h.snapshot(1, 1);
        }
        for (String f : ModelFiles.FILES) {
            Files.delete(gone.resolve(f));
        }
        try (var h = scoring(ScoringMode.PER_EVENT, snap)) {
            assertEquals("v1", ((KeyedMambaOperator<?, ?, ?>) h.getOperator()).runningVersion());
            List<ModelUpdateOutcome> o = outcomes(h);
            assertEquals(1, o.size());
            assertFalse(o.get(0).accepted);
            assertContains(o.get(0).reason, "could not be reloaded");
            snap = h.snapshot(2, 2);
        }
        try (var h = scoring(ScoringMode.PER_EVENT, snap)) {
            assertEquals("v1", ((KeyedMambaOperator<?, ?, ?>) h.getOperator()).runningVersion());
            assertEquals(0, outcomes(h).size(), "the fallback was recorded: no second attempt");
        }
    }

    // ---------------------------------------------------------------- scoreAnomalies

    @ParameterizedTest
    @EnumSource(ScoringMode.class)
    void anomalyScoresSwitchToTheNewForecasterWithReplayedState(ScoringMode mode) throws Exception {
        List<TestEvent> events = ForecasterFixture.events(4, 2 * BEFORE, 9);
        Map<String, List<TestEvent>> before = byKey(events.subList(0, BEFORE), e -> e.key);
        Map<String, List<TestEvent>> after = byKey(events.subList(BEFORE, events.size()), e -> e.key);
        ForecastScorer scorer = new ForecastScorer(fc2, CAL);
        try (var h = anomaly(mode)) {
            feed(h, events.subList(0, BEFORE));
            update(h, new ModelUpdate(fc2Dir.toString(), ModelFiles.digest(fc2Dir), "fc2", UpgradePolicy.REPLAY));
            assertEquals(BEFORE, h.extractOutputValues().size());
            assertTrue(h.extractOutputValues().stream().allMatch(s -> s.modelVersion.equals("fc1")));
            feed(h, events.subList(BEFORE, events.size()));
            ((KeyedMambaOperator<?, ?, ?>) h.getOperator()).endInput();
            List<AnomalyScore<String>> all = h.extractOutputValues();
            Map<String, List<AnomalyScore<String>>> got = ForecasterFixture.byKey(all.subList(BEFORE, all.size()));
            for (Map.Entry<String, List<TestEvent>> k : after.entrySet()) {
                ForecastState ref = scorer.newState();
                for (TestEvent e : last(before.get(k.getKey()), W)) {
                    scorer.score(ref, e.features);
                }
                List<AnomalyScore<String>> outs = got.get(k.getKey());
                for (int i = 0; i < outs.size(); i++) {
                    ForecastResult r = scorer.score(ref, k.getValue().get(i).features);
                    AnomalyScore<String> s = outs.get(i);
                    assertEquals("fc2", s.modelVersion);
                    assertEquals(fc2.fingerprint(), s.modelFingerprint);
                    assertEquals(r.eventsSeen, s.eventsSeen);
                    assertEquals(r.score, s.score, 1e-4 * (1 + Math.abs(r.score)));
                    assertEquals(r.likelihood, s.anomalyLikelihood, 1e-3);
                }
            }
        }
    }

    @Test
    void anomalyUpdatesOfAnotherFeatureCountOrCarryOfAnotherShapeAreRefused() throws Exception {
        Path threeFeatures = ForecasterFixture.write(tmp.resolve("fc3"), ForecasterFixture.CONFIG, 3, 23);
        Path narrow = ForecasterFixture.write(tmp.resolve("fc-narrow"), MambaConfig.of(16, 4, 2), ForecasterFixture.F, 24);
        List<TestEvent> events = ForecasterFixture.events(3, 200, 10);
        try (var h = anomaly(ScoringMode.PER_EVENT)) {
            feed(h, events.subList(0, 100));
            update(h, new ModelUpdate(threeFeatures.toString(), ModelFiles.digest(threeFeatures), "fc3", UpgradePolicy.RESET));
            update(h, new ModelUpdate(narrow.toString(), ModelFiles.digest(narrow), "fc4", UpgradePolicy.CARRY));
            feed(h, events.subList(100, 200));
            List<ModelUpdateOutcome> o = outcomes(h);
            assertContains(o.get(0).reason, "takes 3 features per event");
            assertContains(o.get(1).reason, "CARRY needs the same architecture");
            assertTrue(h.extractOutputValues().stream().allMatch(s -> s.modelVersion.equals("fc1")));
            Map<String, List<ForecastResult>> ref = ffx.reference(events, CAL);
            Map<String, List<AnomalyScore<String>>> got = ForecasterFixture.byKey(h.extractOutputValues());
            for (String k : ref.keySet()) {
                for (int i = 0; i < ref.get(k).size(); i++) {
                    assertEquals(ref.get(k).get(i).score, got.get(k).get(i).score, 1e-4 * (1 + Math.abs(ref.get(k).get(i).score)));
                }
            }
        }
    }

    // ---------------------------------------------------------------- the digest

    @Test
    void theDigestIsWhatSha256sumOfTheManifestGives() throws Exception {
        String manifest = sha256Hex(Files.readAllBytes(v2Dir.resolve("config.json"))) + "  config.json\n"
                + sha256Hex(Files.readAllBytes(v2Dir.resolve("model.safetensors"))) + "  model.safetensors\n";
        assertEquals(sha256Hex(manifest.getBytes(java.nio.charset.StandardCharsets.UTF_8)), v2Sha);
        Path fetched = tmp.resolve("fetched");
        assertEquals(v2Sha, ModelFiles.fetch(v2Dir.toUri().toString(), fetched, 1L << 30));
        assertEquals(v2Sha, ModelFiles.digest(fetched));
        IOException tooBig = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                () -> ModelFiles.fetch(v2Dir.toString(), tmp.resolve("fetched-small"), 100));
        assertContains(tooBig.getMessage(), "larger than the limit of 100 bytes");
    }

    private static String sha256Hex(byte[] b) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
    }

    static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        for (String f : ModelFiles.FILES) {
            Files.copy(from.resolve(f), to.resolve(f));
        }
        return to;
    }

    static void assertContains(String s, String part) {
        assertTrue(s != null && s.contains(part), "'" + s + "' should contain '" + part + "'");
    }
}
