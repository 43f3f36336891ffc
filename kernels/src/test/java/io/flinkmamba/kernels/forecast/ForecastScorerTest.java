package io.flinkmamba.kernels.forecast;

import io.flinkmamba.kernels.cpu.CpuParallelForward;
import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.testing.RandomForecasters;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ForecastScorerTest {
    static final MambaConfig CFG = MambaConfig.of(16, 8, 2);
    static Forecaster forecaster;
    static Forecaster bivariate;

    @BeforeAll
    static void load(@TempDir Path tmp) throws IOException {
        forecaster = Forecaster.load(RandomForecasters.write(tmp.resolve("uni"), CFG, 1, 5));
        bivariate = Forecaster.load(RandomForecasters.write(tmp.resolve("bi"), CFG, 2, 6));
    }

    static List<float[]> stream(int f, int n, long seed) {
        Random rnd = new Random(seed);
        List<float[]> xs = new ArrayList<>();
        for (int t = 0; t < n; t++) {
            float[] x = new float[f];
            for (int j = 0; j < f; j++) {
                x[j] = (float) (100 * j + 20 * Math.sin(t / 7.0 + j) + rnd.nextGaussian());
            }
            xs.add(x);
        }
        return xs;
    }

    /** Per-event scoring, and runs split at arbitrary points whose backbone outputs come from stepping the prepared inputs. */
    @Test
    void perEventAndPreparedRunsAreIdenticalGivenTheSameBackboneOutputs() {
        for (Forecaster f : new Forecaster[] {forecaster, bivariate}) {
            List<float[]> xs = stream(f.numFeatures(), 400, 9);
            CalibrationSettings cal = CalibrationSettings.DEFAULT.withWarmupEvents(20);
            ForecastScorer perEvent = new ForecastScorer(f, cal);
            ForecastState a = perEvent.newState();
            List<ForecastResult> expected = new ArrayList<>();
            for (float[] x : xs) {
                expected.add(perEvent.score(a, x));
            }
            ForecastScorer batched = new ForecastScorer(f, cal);
            RecurrentStepper stepper = f.backbone().newStepper();
            ForecastState b = batched.newState();
            Random cuts = new Random(3);
            List<ForecastResult> got = new ArrayList<>();
            int i = 0;
            while (i < xs.size()) {
                int len = Math.min(xs.size() - i, 1 + cuts.nextInt(40));
                PreparedRun run = batched.prepare(b, xs.subList(i, i + len));
                float[] state = b.backbone.clone();
                float[] out = new float[len * f.hiddenSize()];
                for (int t = 0; t < len; t++) {
                    stepper.step(state, 0, run.inputs(), t * f.hiddenSize(), out, t * f.hiddenSize());
                }
                got.addAll(List.of(batched.finish(b, run, out, 0, state, 0)));
                i += len;
            }
            assertEquals(expected, got);
            assertEquals(a, b);
        }
    }

    @Test
    void cpuParallelRunsAgreeWithPerEventScoring() {
        List<float[]> xs = stream(2, 300, 4);
        ForecastScorer perEvent = new ForecastScorer(bivariate, CalibrationSettings.DEFAULT);
        ForecastState a = perEvent.newState();
        List<ForecastResult> expected = new ArrayList<>();
        for (float[] x : xs) {
            expected.add(perEvent.score(a, x));
        }
        ForecastScorer batched = new ForecastScorer(bivariate, CalibrationSettings.DEFAULT);
        ForecastState b = batched.newState();
        List<ForecastResult> got = new ArrayList<>();
        try (CpuParallelForward cpu = new CpuParallelForward(bivariate.backbone())) {
            for (int i = 0; i < xs.size(); i += 64) {
                got.addAll(List.of(batched.scoreRun(b, xs.subList(i, Math.min(xs.size(), i + 64)), cpu)));
            }
        }
        for (int t = 0; t < xs.size(); t++) {
            ForecastResult e = expected.get(t), g = got.get(t);
            assertEquals(e.score, g.score, 1e-4 * (1 + Math.abs(e.score)), "score at " + t);
            assertEquals(e.likelihood, g.likelihood, 1e-3, "likelihood at " + t);
            assertEquals(e.eventsSeen, g.eventsSeen);
        }
    }

    @Test
    void firstEventHasNoForecastAndWarmUpIsFlagged() {
        ForecastScorer s = new ForecastScorer(forecaster, CalibrationSettings.DEFAULT.withWarmupEvents(10));
        ForecastState st = s.newState();
        ForecastResult first = s.score(st, new float[] {5});
        assertFalse(first.hasForecast());
        assertTrue(Float.isNaN(first.forecast[0]));
        assertEquals(0.0, first.score);
        assertEquals(0.5, first.likelihood);
        assertTrue(first.warmingUp);
        ForecastResult r = null;
        for (int t = 2; t <= 11; t++) {
            r = s.score(st, new float[] {5 + t % 3});
            assertEquals(t <= 10, r.warmingUp, "event " + t);
            assertTrue(r.hasForecast());
            assertTrue(Float.isFinite(r.forecast[0]) && r.forecastStd[0] > 0);
        }
        assertEquals(11, r.eventsSeen);
    }

    @Test
    void forecastInRawUnitsUsesTheStatisticsBeforeTheEvent() {
        ForecastScorer s = new ForecastScorer(forecaster, CalibrationSettings.DEFAULT);
        ForecastState st = s.newState();
        for (float[] x : stream(1, 50, 2)) {
            s.score(st, x);
        }
        double m = st.mean[0];
        double sc = Math.max(Math.sqrt(st.var[0]), 1e-3 * (1 + Math.abs(m)));
        float mu = st.mu[0], lv = st.logVar[0];
        float x = 3f;
        ForecastResult r = s.score(st, new float[] {x});
        assertEquals((float) (m + sc * mu), r.forecast[0], 1e-5 * (1 + Math.abs(m)));
        assertEquals((float) (sc * Math.exp(lv / 2)), r.forecastStd[0], 1e-5 * sc);
        double z = (x - m) / sc;
        assertEquals(0.5 * (Math.log(2 * Math.PI) + lv + (z - mu) * (z - mu) / Math.exp(lv)), r.score, 1e-9);
    }

    @Test
    void quietStreamStaysCalmASpikeIsFlagged() {
        ForecastScorer s = new ForecastScorer(forecaster, CalibrationSettings.DEFAULT);
        ForecastState st = s.newState();
        List<float[]> xs = stream(1, 2000, 11);
        int flagged = 0;
        double maxQuiet = 0;
        for (int t = 0; t < xs.size(); t++) {
            ForecastResult r = s.score(st, xs.get(t));
            if (t > 200) {
                flagged += r.anomaly ? 1 : 0;
                maxQuiet = Math.max(maxQuiet, r.likelihood);
            }
        }
        assertTrue(flagged < 1800 * 0.01, "quiet stream flagged " + flagged + " of 1800 events");
        ForecastResult spike = s.score(st, new float[] {xs.get(xs.size() - 1)[0] + 200});
        assertTrue(spike.likelihood > 0.9999, "spike likelihood " + spike + " state " + st);
        assertTrue(spike.anomaly);
        assertTrue(spike.score > 20, "spike score " + spike.score);
    }

    @Test
    void sustainedScoreShiftRaisesTheLikelihoodThenTheKeyAdapts() {
        CalibrationSettings c = CalibrationSettings.DEFAULT;
        ForecastState st = new ForecastState(null, 1, c.shortWindow());
        Random rnd = new Random(2);
        for (int t = 0; t < 3000; t++) {
            AnomalyCalibration.observe(c, st, 1 + 0.2 * rnd.nextGaussian());
        }
        double quiet = AnomalyCalibration.observe(c, st, 1.0);
        assertTrue(quiet < 0.9, "typical score: " + quiet);
        double shifted = 0;
        for (int t = 0; t < 5; t++) {
            shifted = AnomalyCalibration.observe(c, st, 4 + 0.2 * rnd.nextGaussian());
        }
        assertTrue(shifted > 0.9999, "shifted: " + shifted);
        for (int t = 0; t < 20000; t++) {
            AnomalyCalibration.observe(c, st, 4 + 0.2 * rnd.nextGaussian());
        }
        double adapted = AnomalyCalibration.observe(c, st, 4.0);
        assertTrue(adapted < 0.9, "after the shift became the norm: " + adapted);
    }

    @Test
    void warmUpSuppressesFlagsButNotTheLikelihood() {
        ForecastScorer s = new ForecastScorer(forecaster, CalibrationSettings.DEFAULT.withWarmupEvents(1000));
        ForecastState st = s.newState();
        List<float[]> xs = stream(1, 300, 12);
        for (float[] x : xs) {
            s.score(st, x);
        }
        ForecastResult spike = s.score(st, new float[] {1e4f});
        assertTrue(spike.warmingUp);
        assertFalse(spike.anomaly);
        assertTrue(spike.likelihood > 0.9999);
    }

    @Test
    void normalCdfIsAccurateInTheTail() {
        assertEquals(0.5, AnomalyCalibration.normalCdf(0), 1e-7);
        assertEquals(0.8413447460685429, AnomalyCalibration.normalCdf(1), 1e-7);
        assertEquals(0.022750131948179195, AnomalyCalibration.normalCdf(-2), 1e-8);
        assertEquals(3.167124183311998e-05, 1 - AnomalyCalibration.normalCdf(4), 1e-10);
    }

    @Test
    void invalidFeaturesAreRefusedWithTheReason() {
        ForecastScorer s = new ForecastScorer(bivariate, CalibrationSettings.DEFAULT);
        assertNull(s.invalidReason(new float[] {1, 2}));
        assertTrue(s.invalidReason(new float[] {1}).contains("expected 2 features"));
        assertTrue(s.invalidReason(new float[] {1, Float.NaN}).contains("feature 1 (f1) is NaN"));
        assertTrue(s.invalidReason(null).contains("missing"));
        ForecastState st = s.newState();
        assertThrows(IllegalArgumentException.class, () -> s.score(st, new float[] {Float.POSITIVE_INFINITY, 0}));
        assertEquals(0, st.events, "a refused event leaves the state alone");
    }

    @Test
    void serializedStateContinuesIdentically() throws IOException {
        List<float[]> xs = stream(2, 200, 13);
        ForecastScorer s = new ForecastScorer(bivariate, CalibrationSettings.DEFAULT);
        ForecastState st = s.newState();
        for (float[] x : xs.subList(0, 120)) {
            s.score(st, x);
        }
        for (boolean withBackbone : new boolean[] {true, false}) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            ForecastStateSerializer.write(st, new DataOutputStream(bytes), withBackbone);
            ForecastState back = ForecastStateSerializer.read(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())),
                    withBackbone ? null : st.backbone.clone());
            assertEquals(st, back);
            ForecastState orig = st.deepCopy();
            for (float[] x : xs.subList(120, 200)) {
                assertEquals(s.score(orig, x), s.score(back, x));
            }
        }
    }

    @Test
    void corruptStateBytesFailClearly() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ForecastStateSerializer.write(new ForecastScorer(forecaster, CalibrationSettings.DEFAULT).newState(),
                new DataOutputStream(bytes), true);
        byte[] b = bytes.toByteArray();
        byte[] wrongFormat = b.clone();
        wrongFormat[3] = 9;
        IOException e = assertThrows(IOException.class,
                () -> ForecastStateSerializer.read(new DataInputStream(new ByteArrayInputStream(wrongFormat)), null));
        assertTrue(e.getMessage().contains("format 9"), e.getMessage());
        byte[] hugeFeatures = b.clone();
        hugeFeatures[12] = 0x7f; // feature count's high byte
        e = assertThrows(IOException.class,
                () -> ForecastStateSerializer.read(new DataInputStream(new ByteArrayInputStream(hugeFeatures)), null));
        assertTrue(e.getMessage().contains("feature count"), e.getMessage());
        assertNotNull(ForecastStateSerializer.read(new DataInputStream(new ByteArrayInputStream(b)), null));
    }

    @Test
    void restoredStateOfAnotherShapeIsDetected() {
        ForecastScorer s = new ForecastScorer(bivariate, CalibrationSettings.DEFAULT);
        assertTrue(s.fits(s.newState()));
        assertFalse(s.fits(new ForecastScorer(forecaster, CalibrationSettings.DEFAULT).newState()));
        assertArrayEquals(new float[CFG.stateFloats()], s.newState().backbone);
    }
}
