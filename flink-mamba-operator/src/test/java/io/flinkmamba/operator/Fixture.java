package io.flinkmamba.operator;

import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A random model on disk, event streams, harnesses and the plain-loop reference the operator must match. */
final class Fixture {
    /**
     * Asserts that {@code call} fails without restarts (a SuppressRestartsException, so Flink does not
     * restart the job in a loop) caused by an IllegalStateException, and returns that cause.
     */
    static IllegalStateException assertUnrecoverable(org.junit.jupiter.api.function.Executable call) {
        org.apache.flink.runtime.execution.SuppressRestartsException x =
                org.junit.jupiter.api.Assertions.assertThrows(org.apache.flink.runtime.execution.SuppressRestartsException.class, call);
        return org.junit.jupiter.api.Assertions.assertInstanceOf(IllegalStateException.class, x.getCause());
    }

    static final MambaConfig CONFIG = MambaConfig.of(16, 8, 2);
    static final int D = CONFIG.hiddenSize();
    /**
     * Same computation, same order, yet not always the same bits: the Vector API's interpreted and
     * JIT-compiled forms of a reduction may round differently, so runs in other threads or at other
     * compilation tiers are compared to 1e-6 (relative L2), not bit for bit.
     */
    static final double STEP_TOL = 1e-6;

    final Path modelDir;
    final MambaModel model;

    Fixture(Path tmp) throws IOException {
        this.modelDir = RandomCheckpoint.write(tmp.resolve("model"), CONFIG, 7);
        this.model = MambaModel.load(modelDir);
    }

    MambaSpec.Builder<TestEvent> spec() {
        return MambaSpec.builder(modelDir.toString(), "v1", new TestEvent.Extractor());
    }

    /** Events of {@code keys} keys in random interleaving, times 10 ms apart, features ~ N(0, 1). */
    static List<TestEvent> events(int keys, int count, long seed) {
        Random rnd = new Random(seed);
        List<TestEvent> events = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            float[] f = new float[D];
            for (int j = 0; j < D; j++) {
                f[j] = (float) rnd.nextGaussian();
            }
            events.add(new TestEvent("k" + rnd.nextInt(keys), 1000L + 10L * i, f));
        }
        return events;
    }

    static KeyedOneInputStreamOperatorTestHarness<String, TestEvent, MambaScore<String>> harness(
            MambaSpec<TestEvent> spec, int maxParallelism, int parallelism, int subtask, StateBackend backend) throws Exception {
        MambaScoringOperator<String, TestEvent> op = new MambaScoringOperator<>(spec, spec.resolve(new Configuration()));
        KeyedOneInputStreamOperatorTestHarness<String, TestEvent, MambaScore<String>> h =
                new KeyedOneInputStreamOperatorTestHarness<>(op, (KeySelector<TestEvent, String>) e -> e.key, Types.STRING,
                        maxParallelism, parallelism, subtask);
        if (backend != null) {
            h.setStateBackend(backend);
        }
        return h;
    }

    static KeyedOneInputStreamOperatorTestHarness<String, TestEvent, MambaScore<String>> harness(
            MambaSpec<TestEvent> spec, StateBackend backend) throws Exception {
        return harness(spec, 128, 1, 0, backend);
    }

    @SuppressWarnings("unchecked")
    static KeyState stateOf(KeyedOneInputStreamOperatorTestHarness<String, TestEvent, MambaScore<String>> h, String key)
            throws Exception {
        return ((MambaScoringOperator<String, TestEvent>) h.getOperator()).stateOf(key);
    }

    /** What a plain loop over the core's step gives per key: outputs in order and the final state. */
    static final class Reference {
        final Map<String, List<float[]>> outputs = new LinkedHashMap<>();
        final Map<String, float[]> states = new HashMap<>();
    }

    Reference reference(List<TestEvent> events) {
        RecurrentStepper stepper = model.newStepper();
        Reference ref = new Reference();
        for (TestEvent e : events) {
            float[] state = ref.states.computeIfAbsent(e.key, k -> model.newState());
            float[] out = new float[D];
            stepper.step(state, e.features, out);
            ref.outputs.computeIfAbsent(e.key, k -> new ArrayList<>()).add(out);
        }
        return ref;
    }

    static Map<String, List<MambaScore<String>>> byKey(Collection<MambaScore<String>> scores) {
        Map<String, List<MambaScore<String>>> m = new LinkedHashMap<>();
        for (MambaScore<String> s : scores) {
            m.computeIfAbsent(s.key, k -> new ArrayList<>()).add(s);
        }
        return m;
    }

    /**
     * Every key's outputs equal the reference's, in order, with eventsSeen counting 1, 2, ...;
     * {@code tol} 0 demands bit equality, else relative L2 error per vector at most tol.
     */
    void assertOutputsMatch(Reference ref, Collection<MambaScore<String>> scores, double tol) {
        Map<String, List<MambaScore<String>>> actual = byKey(scores);
        assertEquals(ref.outputs.keySet(), actual.keySet(), "keys with outputs");
        for (Map.Entry<String, List<float[]>> e : ref.outputs.entrySet()) {
            List<MambaScore<String>> got = actual.get(e.getKey());
            assertEquals(e.getValue().size(), got.size(), "outputs of key " + e.getKey());
            for (int i = 0; i < got.size(); i++) {
                MambaScore<String> s = got.get(i);
                assertEquals(i + 1, s.eventsSeen, "eventsSeen of key " + e.getKey());
                assertEquals("v1", s.modelVersion);
                assertEquals(model.fingerprint(), s.modelFingerprint);
                assertClose(e.getValue().get(i), s.output, tol, "output " + i + " of key " + e.getKey());
            }
        }
    }

    void assertStatesMatch(Reference ref, StateLookup lookup, double tol) throws Exception {
        for (Map.Entry<String, float[]> e : ref.states.entrySet()) {
            KeyState s = lookup.stateOf(e.getKey());
            assertNotNull(s, "state of key " + e.getKey());
            assertEquals(ref.outputs.get(e.getKey()).size(), s.eventsSeen, "eventsSeen in the state of " + e.getKey());
            assertEquals(model.fingerprint(), s.modelFingerprint);
            assertClose(e.getValue(), s.state, tol, "state of key " + e.getKey());
        }
    }

    @FunctionalInterface
    interface StateLookup {
        KeyState stateOf(String key) throws Exception;
    }

    static void assertClose(float[] expected, float[] actual, double tol, String what) {
        if (tol == 0) {
            assertArrayEquals(expected, actual, what);
            return;
        }
        assertEquals(expected.length, actual.length, what + ": length");
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            double diff = (double) expected[i] - actual[i];
            num += diff * diff;
            den += (double) expected[i] * expected[i];
        }
        double rel = Math.sqrt(num / Math.max(den, 1e-30));
        assertTrue(rel <= tol, what + ": relative L2 error " + rel + " > " + tol);
    }
}
