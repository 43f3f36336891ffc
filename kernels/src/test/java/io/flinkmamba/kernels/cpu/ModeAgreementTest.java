package io.flinkmamba.kernels.cpu;

import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import io.flinkmamba.kernels.testing.Float64Reference;
import io.flinkmamba.kernels.testing.RandomModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;
import java.util.stream.Stream;

import static io.flinkmamba.kernels.testing.Assertions2.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Recurrent and parallel modes against an independent float64 transcription of the math, on shapes
 * that exercise every code path: scalar and vector scan widths, conv kernels 1..4, with and
 * without biases, ranks other than hidden/16, non-zero initial states, ragged and empty sequences,
 * and windows split at arbitrary points.
 */
class ModeAgreementTest {
    static final double TOL = 1e-5;

    static Stream<Arguments> configs() {
        return Stream.of(
                Arguments.of("tiny N=8", new MambaConfig(16, 8, 32, 4, 1, 2, false, true, 1e-5f)),
                Arguments.of("N=16 biases", new MambaConfig(32, 16, 64, 4, 2, 2, true, true, 1e-5f)),
                Arguments.of("N=3 scalar scan, K=2", new MambaConfig(12, 3, 20, 2, 5, 1, false, false, 1e-6f)),
                Arguments.of("N=32, K=3, odd E", new MambaConfig(20, 32, 37, 3, 3, 2, true, false, 1e-5f)),
                Arguments.of("K=1 (no window)", new MambaConfig(8, 4, 16, 1, 1, 3, false, true, 1e-5f)),
                Arguments.of("N=4 deep", new MambaConfig(16, 4, 32, 4, 1, 5, false, true, 1e-5f)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void stepMatchesFloat64Reference(String name, MambaConfig c) {
        MambaModel m = RandomModels.model(c, 42);
        Random rnd = new Random(1);
        int d = c.hiddenSize(), len = 200;
        float[] state = randomState(c, rnd);
        double[] ref = toDouble(state);
        Float64Reference oracle = new Float64Reference(m);
        RecurrentStepper st = m.newStepper();
        float[] out = new float[d];
        for (int t = 0; t < len; t++) {
            float[] in = RandomModels.gaussian(rnd, d);
            double[] want = oracle.step(ref, in);
            st.step(state, in, out);
            assertClose(out, 0, want, 0, d, TOL, name + " output at t=" + t);
        }
        assertClose(state, 0, ref, 0, state.length, TOL, name + " final state");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void parallelEqualsSteppingForRaggedBatchesAndSplits(String name, MambaConfig c) {
        MambaModel m = RandomModels.model(c, 7);
        Random rnd = new Random(2);
        int d = c.hiddenSize();
        int[] lengths = {0, 1, 5, 130, 3, 0, 600, 17};
        float[][] inputs = new float[lengths.length][];
        float[][] init = new float[lengths.length][];
        for (int i = 0; i < lengths.length; i++) {
            inputs[i] = RandomModels.gaussian(rnd, lengths[i] * d);
            init[i] = randomState(c, rnd);
        }
        // reference: step by step
        float[][] stepOut = new float[lengths.length][];
        float[][] stepState = new float[lengths.length][];
        RecurrentStepper st = m.newStepper();
        for (int i = 0; i < lengths.length; i++) {
            stepState[i] = init[i].clone();
            stepOut[i] = new float[lengths[i] * d];
            for (int t = 0; t < lengths[i]; t++) {
                st.step(stepState[i], 0, inputs[i], t * d, stepOut[i], t * d);
            }
        }
        // one parallel call over the whole ragged batch
        CpuParallelForward par = m.newCpuParallel();
        MambaBatch batch = new MambaBatch(c);
        for (int i = 0; i < lengths.length; i++) {
            int s = batch.addSequence(init[i], 0, lengths[i]);
            System.arraycopy(inputs[i], 0, batch.inputs(), batch.tokenOffset(s) * d, lengths[i] * d);
        }
        par.forward(batch);
        for (int i = 0; i < lengths.length; i++) {
            float[] got = new float[lengths[i] * d];
            System.arraycopy(batch.outputs(), batch.tokenOffset(i) * d, got, 0, got.length);
            assertClose(got, stepOut[i], TOL, name + " seq " + i + " outputs");
            float[] fin = new float[c.stateFloats()];
            batch.getState(i, fin, 0);
            assertClose(fin, stepState[i], TOL, name + " seq " + i + " final state");
            if (lengths[i] == 0) {
                assertArrayEquals(init[i], fin, "an empty sequence passes its state through");
            }
        }
        // the longest sequence in parallel pieces split at arbitrary points, carrying the state
        int longest = 6;
        int[] cuts = {0, 1, 2, 66, 67, 300, 599, 600};
        float[] carried = init[longest].clone();
        for (int p = 0; p + 1 < cuts.length; p++) {
            int from = cuts[p], len = cuts[p + 1] - from;
            batch.clear();
            batch.addSequence(carried, 0, len);
            System.arraycopy(inputs[longest], from * d, batch.inputs(), 0, len * d);
            par.forward(batch);
            float[] got = new float[len * d];
            System.arraycopy(batch.outputs(), 0, got, 0, got.length);
            float[] want = new float[len * d];
            System.arraycopy(stepOut[longest], from * d, want, 0, want.length);
            assertClose(got, want, TOL, name + " piece [" + from + ", " + cuts[p + 1] + ")");
            batch.getState(0, carried, 0);
        }
        assertClose(carried, stepState[longest], TOL, name + " state after split windows");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void stateHasTheDocumentedSize(String name, MambaConfig c) {
        MambaModel m = RandomModels.model(c, 3);
        int perLayer = c.intermediateSize() * (c.convKernel() - 1) + c.intermediateSize() * c.stateSize();
        assertEquals(c.numLayers() * perLayer, m.newState().length);
        assertEquals(4L * c.numLayers() * perLayer, m.stateBytes());
    }

    static float[] randomState(MambaConfig c, Random rnd) {
        float[] s = new float[c.stateFloats()];
        for (int i = 0; i < s.length; i++) {
            s[i] = 0.5f * (float) rnd.nextGaussian();
        }
        return s;
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }
}
