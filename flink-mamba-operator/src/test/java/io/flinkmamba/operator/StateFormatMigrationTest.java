package io.flinkmamba.operator;

import io.flinkmamba.kernels.forecast.ForecastResult;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Restores the committed snapshots of an older key-state format (src/test/resources/snapshots) into
 * operators of this release: the keys continue exactly where they were, as if never interrupted.
 */
class StateFormatMigrationTest {
    @TempDir
    Path tmp;

    @Test
    void scoreStateOfFormat2Resumes() throws Exception {
        Fixture fx = new Fixture(tmp);
        List<TestEvent> events = OldFormatSnapshots.scoreEvents();
        Fixture.Reference ref = fx.reference(events);
        try (KeyedOneInputStreamOperatorTestHarness<String, TestEvent, MambaScore<String>> h =
                     Fixture.harness(fx.spec().build(), null)) {
            h.initializeState(OldFormatSnapshots.read(OldFormatSnapshots.SCORE));
            h.open();
            for (TestEvent e : events.subList(OldFormatSnapshots.BEFORE, events.size())) {
                h.processElement(e, e.time);
            }
            Map<String, List<MambaScore<String>>> got = Fixture.byKey(h.extractOutputValues());
            for (Map.Entry<String, List<MambaScore<String>>> e : got.entrySet()) {
                List<float[]> expected = ref.outputs.get(e.getKey());
                int before = expected.size() - e.getValue().size();
                for (int i = 0; i < e.getValue().size(); i++) {
                    MambaScore<String> s = e.getValue().get(i);
                    assertEquals(before + i + 1, s.eventsSeen, "eventsSeen continues from the restored state");
                    assertEquals("v1", s.modelVersion);
                    Fixture.assertClose(expected.get(before + i), s.output, 1e-5, "output " + (before + i) + " of " + e.getKey());
                }
            }
            fx.assertStatesMatch(ref, key -> Fixture.stateOf(h, key), 1e-5);
            KeyState st = Fixture.stateOf(h, "k0");
            assertEquals("v1", st.modelVersion, "format-2 state gains the running model's version label");
            assertEquals(null, st.replay, "no replay window configured");
        }
    }

    @Test
    void format2StateGainsAReplayBufferAndFallsBackToResetUnderReplay() throws Exception {
        Fixture fx = new Fixture(tmp);
        List<TestEvent> events = OldFormatSnapshots.scoreEvents();
        TestEvent next = events.get(OldFormatSnapshots.BEFORE);
        // same model: the state continues and starts buffering
        try (var h = Fixture.harness(fx.spec().upgradePolicy(UpgradePolicy.REPLAY).replayWindow(4).build(), null)) {
            h.initializeState(OldFormatSnapshots.read(OldFormatSnapshots.SCORE));
            h.open();
            h.processElement(next, next.time);
            KeyState st = Fixture.stateOf(h, next.key);
            assertEquals(1, st.replay.size());
            assertEquals(next.time, st.replay.events().get(0).eventTime);
            assertTrue(h.extractOutputValues().get(0).eventsSeen > 1);
        }
        // another model: nothing was buffered in format 2, so REPLAY resets the key
        Path v2 = RandomCheckpoint.write(tmp.resolve("v2"), Fixture.CONFIG, 99);
        try (var h = Fixture.harness(MambaSpec.builder(v2.toString(), "v2", new TestEvent.Extractor())
                .upgradePolicy(UpgradePolicy.REPLAY).replayWindow(4).build(), null)) {
            h.initializeState(OldFormatSnapshots.read(OldFormatSnapshots.SCORE));
            h.open();
            h.processElement(next, next.time);
            MambaScore<String> s = h.extractOutputValues().get(0);
            assertEquals(1, s.eventsSeen);
            assertEquals("v2", s.modelVersion);
        }
    }

    @Test
    void anomalyStateOfFormat2Resumes() throws Exception {
        ForecasterFixture fx = new ForecasterFixture(tmp);
        List<TestEvent> events = OldFormatSnapshots.anomalyEvents();
        Map<String, List<ForecastResult>> ref = fx.reference(events, AnomalyScoringOperatorTest.CAL);
        try (KeyedOneInputStreamOperatorTestHarness<String, TestEvent, AnomalyScore<String>> h =
                     ForecasterFixture.harness(fx.spec().build(), null)) {
            h.initializeState(OldFormatSnapshots.read(OldFormatSnapshots.ANOMALY));
            h.open();
            for (TestEvent e : events.subList(OldFormatSnapshots.BEFORE, events.size())) {
                h.processElement(e, e.time);
            }
            Map<String, List<AnomalyScore<String>>> got = ForecasterFixture.byKey(h.extractOutputValues());
            assertEquals(ref.keySet(), got.keySet());
            for (Map.Entry<String, List<AnomalyScore<String>>> e : got.entrySet()) {
                List<ForecastResult> expected = ref.get(e.getKey());
                int before = expected.size() - e.getValue().size();
                for (int i = 0; i < e.getValue().size(); i++) {
                    AnomalyScore<String> s = e.getValue().get(i);
                    ForecastResult r = expected.get(before + i);
                    String what = "event " + (before + i) + " of " + e.getKey();
                    assertEquals(r.eventsSeen, s.eventsSeen, what);
                    assertEquals("fc1", s.modelVersion);
                    assertEquals(r.warmingUp, s.warmingUp, what);
                    assertEquals(r.score, s.score, 1e-5 * (1 + Math.abs(r.score)), what);
                    assertEquals(r.likelihood, s.anomalyLikelihood, 1e-3, what);
                }
                KeyState st = ForecasterFixture.stateOf(h, e.getKey());
                assertNotNull(st.forecast);
                assertEquals(expected.size(), st.forecast.events);
            }
        }
    }
}
