package io.flinkmamba.operator;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastResult;
import io.flinkmamba.kernels.forecast.ForecastScorer;
import io.flinkmamba.kernels.forecast.ForecastState;
import io.flinkmamba.kernels.forecast.Forecaster;
import io.flinkmamba.kernels.io.SafetensorsFile;
import io.flinkmamba.kernels.io.SafetensorsWriter;
import io.flinkmamba.kernels.model.MambaConfig;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A random forecaster directory (F = 2) on disk, labelled-ish streams, harnesses and the kernels' reference loop. */
final class ForecasterFixture {
    static final MambaConfig CONFIG = MambaConfig.of(16, 8, 2);
    static final int F = 2;

    final Path modelDir;
    final Forecaster forecaster;

    ForecasterFixture(Path tmp) throws IOException {
        this.modelDir = write(tmp.resolve("forecaster"), CONFIG, F, 21);
        this.forecaster = Forecaster.load(modelDir);
    }

    /** A plain checkpoint (RandomCheckpoint) plus an embedding, the four forecaster tensors and a flink_mamba block. */
    static Path write(Path dir, MambaConfig c, int features, long seed) throws IOException {
        RandomCheckpoint.write(dir, c, seed);
        Path weights = dir.resolve("model.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        int h = c.hiddenSize();
        w.add("backbone.embeddings.weight", new float[h], 1, h);
        try (SafetensorsFile st = SafetensorsFile.open(weights)) {
            for (SafetensorsFile.TensorInfo t : st.tensors().values()) {
                w.add(t.name, st.readFloats(t.name, t.shape), t.shape);
            }
        }
        Random rnd = new Random(seed);
        w.add("input_proj.weight", uniform(rnd, h * features, 1f), h, features);
        w.add("input_proj.bias", uniform(rnd, h, 0.1f), h);
        w.add("head.weight", uniform(rnd, 2 * features * h, (float) (0.5 / Math.sqrt(h))), 2L * features, h);
        w.add("head.bias", new float[2 * features], 2L * features);
        w.write(weights);
        String config = Files.readString(dir.resolve("config.json")).trim();
        StringBuilder names = new StringBuilder("[");
        for (int i = 0; i < features; i++) {
            names.append(i == 0 ? "" : ",").append("\"f").append(i).append('"');
        }
        String fm = "\"flink_mamba\":{\"kind\":\"forecaster\",\"format_version\":1,\"num_features\":" + features
                + ",\"feature_names\":" + names + "],\"version\":\"test\",\"normaliser\":{\"alpha\":0.01,"
                + "\"min_scale_rel\":0.001,\"clip\":10.0},\"log_var_min\":-9.0,\"log_var_max\":6.0}";
        Files.writeString(dir.resolve("config.json"), config.substring(0, config.length() - 1) + ", \"vocab_size\": 1, " + fm + "}");
        return dir;
    }

    private static float[] uniform(Random rnd, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (rnd.nextFloat() * 2 - 1) * scale;
        }
        return a;
    }

    MambaSpec.Builder<TestEvent> spec() {
        return MambaSpec.builder(modelDir.toString(), "fc1", new TestEvent.Extractor()).anomalyWarmupEvents(20);
    }

    /** Keys with seasonal two-channel signals, 10 ms apart, with a few spikes. */
    static List<TestEvent> events(int keys, int count, long seed) {
        Random rnd = new Random(seed);
        int[] seen = new int[keys];
        List<TestEvent> events = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int k = rnd.nextInt(keys);
            int t = seen[k]++;
            float[] f = new float[F];
            for (int j = 0; j < F; j++) {
                f[j] = (float) (10 * k + 50 * j + 5 * Math.sin(t / 6.0 + k) + 0.3 * rnd.nextGaussian());
            }
            if (t > 40 && rnd.nextInt(60) == 0) {
                f[0] += 40;
            }
            events.add(new TestEvent("k" + k, 1000L + 10L * i, f));
        }
        return events;
    }

    static KeyedOneInputStreamOperatorTestHarness<String, TestEvent, AnomalyScore<String>> harness(
            MambaSpec<TestEvent> spec, StateBackend backend) throws Exception {
        AnomalyScoringOperator<String, TestEvent> op = new AnomalyScoringOperator<>(spec, spec.resolve(new Configuration()));
        KeyedOneInputStreamOperatorTestHarness<String, TestEvent, AnomalyScore<String>> h =
                new KeyedOneInputStreamOperatorTestHarness<>(op, (KeySelector<TestEvent, String>) e -> e.key, Types.STRING,
                        128, 1, 0);
        if (backend != null) {
            h.setStateBackend(backend);
        }
        return h;
    }

    @SuppressWarnings("unchecked")
    static KeyState stateOf(KeyedOneInputStreamOperatorTestHarness<String, TestEvent, AnomalyScore<String>> h, String key)
            throws Exception {
        return ((AnomalyScoringOperator<String, TestEvent>) h.getOperator()).stateOf(key);
    }

    /** The kernels' per-event loop, key by key: what both operator modes must give. */
    Map<String, List<ForecastResult>> reference(List<TestEvent> events, CalibrationSettings cal) {
        ForecastScorer scorer = new ForecastScorer(forecaster, cal);
        Map<String, ForecastState> states = new HashMap<>();
        Map<String, List<ForecastResult>> out = new LinkedHashMap<>();
        for (TestEvent e : events) {
            ForecastState s = states.computeIfAbsent(e.key, k -> scorer.newState());
            out.computeIfAbsent(e.key, k -> new ArrayList<>()).add(scorer.score(s, e.features));
        }
        return out;
    }

    static Map<String, List<AnomalyScore<String>>> byKey(Collection<AnomalyScore<String>> scores) {
        Map<String, List<AnomalyScore<String>>> m = new LinkedHashMap<>();
        for (AnomalyScore<String> s : scores) {
            m.computeIfAbsent(s.key, k -> new ArrayList<>()).add(s);
        }
        return m;
    }

    /**
     * Every key's outputs equal the reference's in order: scores to {@code tol} relative, likelihoods to
     * 1e-3, flags equal unless the likelihood sits within 1e-3 of the threshold (where float32 rounding
     * of the backbone's two forms may tip it).
     */
    void assertMatches(Map<String, List<ForecastResult>> ref, Collection<AnomalyScore<String>> scores, double tol,
                       double threshold) {
        Map<String, List<AnomalyScore<String>>> actual = byKey(scores);
        assertEquals(ref.keySet(), actual.keySet(), "keys with outputs");
        for (Map.Entry<String, List<ForecastResult>> e : ref.entrySet()) {
            List<AnomalyScore<String>> got = actual.get(e.getKey());
            assertEquals(e.getValue().size(), got.size(), "outputs of key " + e.getKey());
            for (int i = 0; i < got.size(); i++) {
                ForecastResult r = e.getValue().get(i);
                AnomalyScore<String> s = got.get(i);
                String what = "event " + i + " of key " + e.getKey();
                assertEquals(i + 1, s.eventsSeen, what);
                assertEquals(r.eventsSeen, s.eventsSeen, what);
                assertEquals("fc1", s.modelVersion);
                assertEquals(forecaster.fingerprint(), s.modelFingerprint);
                assertEquals(r.warmingUp, s.warmingUp, what);
                assertEquals(r.score, s.score, tol * (1 + Math.abs(r.score)), what + " score");
                assertEquals(r.likelihood, s.anomalyLikelihood, 1e-3, what + " likelihood");
                if (Math.abs(r.likelihood - threshold) > 1e-3) {
                    assertEquals(r.anomaly, s.isAnomaly, what + " isAnomaly");
                }
                for (int f = 0; f < F; f++) {
                    if (i == 0) {
                        assertTrue(Float.isNaN(s.forecast[f]), what);
                    } else {
                        assertEquals(r.forecast[f], s.forecast[f], tol * (1 + Math.abs(r.forecast[f])), what + " forecast");
                        assertEquals(r.forecastStd[f], s.forecastStd[f], tol * (1 + Math.abs(r.forecastStd[f])), what + " std");
                    }
                }
            }
        }
    }
}
