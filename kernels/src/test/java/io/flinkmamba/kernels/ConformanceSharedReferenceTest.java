package io.flinkmamba.kernels;

import io.flinkmamba.kernels.cpu.CpuParallelForward;
import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.io.Npy;
import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaModel;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The reference checkpoint in ../shared, when the checkout has it beside it. */
class ConformanceSharedReferenceTest {
    @Test
    void bothModesMatchHuggingFace() {
        Path dir = Path.of("../../shared/reference/hf-mamba-tiny");
        assumeTrue(Files.isDirectory(dir), "no ../shared beside the checkout");
        MambaModel m = MambaModel.load(dir);
        Npy.FloatArray in = Npy.read(dir.resolve("inputs_embeds.npy"));
        double[] expected = Npy.readDoubles(dir.resolve("last_hidden_state.npy"));
        int b = (int) in.shape[0], len = (int) in.shape[1], d = (int) in.shape[2];
        float[] rec = new float[b * len * d];
        RecurrentStepper st = m.newStepper();
        for (int i = 0; i < b; i++) {
            float[] s = m.newState();
            for (int t = 0; t < len; t++) {
                st.step(s, 0, in.data, (i * len + t) * d, rec, (i * len + t) * d);
            }
        }
        MambaBatch batch = new MambaBatch(m.config());
        for (int i = 0; i < b; i++) {
            batch.addSequence(m.newState(), len);
        }
        System.arraycopy(in.data, 0, batch.inputs(), 0, in.data.length);
        new CpuParallelForward(m).forward(batch);
        double eRec = relL2(rec, expected), ePar = relL2(batch.outputs(), expected);
        System.out.println("recurrent " + eRec + " parallel " + ePar);
        assertTrue(eRec < 1e-5, "recurrent rel L2 " + eRec);
        assertTrue(ePar < 1e-5, "parallel rel L2 " + ePar);
    }

    static double relL2(float[] got, double[] exp) {
        double num = 0, den = 0;
        for (int i = 0; i < exp.length; i++) {
            double diff = got[i] - exp[i];
            num += diff * diff;
            den += exp[i] * exp[i];
        }
        return Math.sqrt(num / den);
    }
}
