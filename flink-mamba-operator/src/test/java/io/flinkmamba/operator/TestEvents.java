package io.flinkmamba.operator;

import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import io.flinkmamba.kernels.testing.RandomModels;
import io.flinkmamba.kernels.testing.RawSafetensors;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.api.java.typeutils.TupleTypeInfo;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Events (key, event time, features), random models on disk, and the plain-loop reference. */
final class TestEvents {
    static final MambaConfig CONFIG = new MambaConfig(8, 4, 16, 4, 1, 2, false, true, 1e-5f);

    static final TypeInformation<Tuple3<String, Long, float[]>> TYPE =
            new TupleTypeInfo<>(Types.STRING, Types.LONG, Types.PRIMITIVE_ARRAY(Types.FLOAT));

    private TestEvents() {
    }

    static final class Extract implements FeatureExtractor<Tuple3<String, Long, float[]>> {
        @Override
        public float[] features(Tuple3<String, Long, float[]> e) {
            return e.f2;
        }

        @Override
        public long eventTime(Tuple3<String, Long, float[]> e) {
            return e.f1;
        }
    }

    static Path writeModel(Path dir, long seed) throws IOException {
        RawSafetensors.writeCheckpoint(dir, RandomModels.tensors(CONFIG, seed), RawSafetensors.configJson(CONFIG));
        return dir;
    }

    /** Interleaved events over {@code keys} keys, increasing event time per key. */
    static List<Tuple3<String, Long, float[]>> stream(int keys, int events, long seed) {
        Random rnd = new Random(seed);
        List<Tuple3<String, Long, float[]>> l = new ArrayList<>();
        for (int i = 0; i < events; i++) {
            String key = "k" + rnd.nextInt(keys);
            l.add(Tuple3.of(key, 1000L + i * 10L, RandomModels.gaussian(rnd, CONFIG.hiddenSize())));
        }
        return l;
    }

    /** What stepping each key's events in order through the core gives: key → outputs in order. */
    static Map<String, List<float[]>> reference(MambaModel m, List<Tuple3<String, Long, float[]>> events) {
        Map<String, float[]> states = new HashMap<>();
        Map<String, List<float[]>> out = new HashMap<>();
        RecurrentStepper st = m.newStepper();
        for (Tuple3<String, Long, float[]> e : events) {
            float[] s = states.computeIfAbsent(e.f0, k -> m.newState());
            float[] y = new float[m.config().hiddenSize()];
            st.step(s, e.f2, y);
            out.computeIfAbsent(e.f0, k -> new ArrayList<>()).add(y);
        }
        return out;
    }

    static Map<String, List<float[]>> byKey(List<MambaScore<String>> scores) {
        Map<String, List<float[]>> m = new HashMap<>();
        for (MambaScore<String> s : scores) {
            m.computeIfAbsent(s.key, k -> new ArrayList<>()).add(s.output);
        }
        return m;
    }

    /** Largest relative L2 error over all keys' output sequences; fails on a missing or extra output. */
    static double maxError(Map<String, List<float[]>> got, Map<String, List<float[]>> want) {
        if (!got.keySet().equals(want.keySet())) {
            throw new AssertionError("keys differ: " + got.keySet() + " vs " + want.keySet());
        }
        double worst = 0;
        for (String k : want.keySet()) {
            List<float[]> g = got.get(k), w = want.get(k);
            if (g.size() != w.size()) {
                throw new AssertionError("key " + k + ": " + g.size() + " outputs, expected " + w.size());
            }
            for (int i = 0; i < w.size(); i++) {
                double num = 0, den = 0;
                for (int j = 0; j < w.get(i).length; j++) {
                    double d = g.get(i)[j] - w.get(i)[j];
                    num += d * d;
                    den += (double) w.get(i)[j] * w.get(i)[j];
                }
                worst = Math.max(worst, Math.sqrt(num / den));
            }
        }
        return worst;
    }
}
