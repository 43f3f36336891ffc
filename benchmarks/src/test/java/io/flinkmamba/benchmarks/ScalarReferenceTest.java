package io.flinkmamba.benchmarks;

import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The benchmarks' scalar peer computes what the core computes: outputs and states within 1e-5 relative L2. */
class ScalarReferenceTest {

    @Test
    void agreesWithTheCoreOnBothBenchmarkSizes() {
        check(BenchModels.model("h64"), 40);
        check(BenchModels.model("h256"), 20);
    }

    @Test
    void agreesWithTheCoreWithBiasesOddShapesAndOtherConvKernels() {
        // in/out-proj biases, no conv bias, time_step_rank 3, state 5 (no vector species divides it), K 2 and 3
        check(BenchModels.random(new MambaConfig(20, 5, 44, 3, 3, 3, true, false, 1e-5f), 3), 30);
        check(BenchModels.random(new MambaConfig(16, 8, 32, 2, 1, 2, true, true, 1e-6f), 4), 30);
    }

    private static void check(MambaModel model, int steps) {
        MambaConfig c = model.config();
        RecurrentStepper core = model.newStepper();
        ScalarReference ref = new ScalarReference(model);
        float[] sCore = model.newState(), sRef = model.newState();
        float[] in = BenchModels.inputs(c, steps, 5);
        float[] oCore = new float[c.hiddenSize()], oRef = new float[c.hiddenSize()];
        for (int t = 0; t < steps; t++) {
            core.step(sCore, 0, in, t * c.hiddenSize(), oCore, 0);
            ref.step(sRef, in, t * c.hiddenSize(), oRef, 0);
            assertClose(oRef, oCore, "output at step " + t + " of " + c);
        }
        assertClose(sRef, sCore, "final state of " + c);
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = (double) actual[i] - expected[i];
            num += d * d;
            den += (double) expected[i] * expected[i];
        }
        double rel = Math.sqrt(num / Math.max(den, 1e-30));
        assertTrue(den > 0, what + ": reference is all zeros, the comparison would prove nothing");
        assertTrue(rel <= 1e-5, what + ": relative L2 " + rel + " > 1e-5");
    }
}
