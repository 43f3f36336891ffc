package io.flinkmamba.kernels.cpu;

import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import io.flinkmamba.kernels.testing.RandomModels;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static io.flinkmamba.kernels.testing.Assertions2.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sequences that share their caller's state array: advanced in place, same results as copied ones and as stepping. */
class SharedStateBatchTest {

    @Test
    void sharedAndCopiedSequencesInOneBatchMatchStepping() {
        MambaConfig c = new MambaConfig(32, 16, 64, 4, 2, 2, true, true, 1e-5f);
        MambaModel m = RandomModels.model(c, 11);
        Random rnd = new Random(5);
        int d = c.hiddenSize(), sf = c.stateFloats();
        int[] lengths = {1, 0, 3, 1, 70, 1, 2};
        boolean[] share = {true, true, false, true, true, false, true};
        // shared states live at an offset inside one larger array, as a caller's pool might keep them
        float[] pool = new float[lengths.length * sf + 7];
        float[][] init = new float[lengths.length][];
        float[][] inputs = new float[lengths.length][];
        for (int i = 0; i < lengths.length; i++) {
            init[i] = ModeAgreementTest.randomState(c, rnd);
            System.arraycopy(init[i], 0, pool, 7 + i * sf, sf);
            inputs[i] = RandomModels.gaussian(rnd, lengths[i] * d);
        }
        RecurrentStepper st = m.newStepper();
        float[][] want = new float[lengths.length][];
        float[][] wantOut = new float[lengths.length][];
        for (int i = 0; i < lengths.length; i++) {
            want[i] = init[i].clone();
            wantOut[i] = new float[lengths[i] * d];
            for (int t = 0; t < lengths[i]; t++) {
                st.step(want[i], 0, inputs[i], t * d, wantOut[i], t * d);
            }
        }
        CpuParallelForward par = m.newCpuParallel();
        assertTrue(par.sharesStates());
        MambaBatch batch = new MambaBatch(c);
        float[][] callerCopies = new float[lengths.length][];
        for (int i = 0; i < lengths.length; i++) {
            int s;
            if (share[i]) {
                s = batch.addSequenceSharingState(pool, 7 + i * sf, lengths[i]);
                assertSame(pool, batch.stateArray(s));
            } else {
                callerCopies[i] = init[i].clone();
                s = batch.addSequence(callerCopies[i], 0, lengths[i]);
            }
            System.arraycopy(inputs[i], 0, batch.inputs(), batch.tokenOffset(s) * d, lengths[i] * d);
        }
        assertTrue(batch.hasSharedStates());
        par.forward(batch);
        for (int i = 0; i < lengths.length; i++) {
            float[] got = new float[lengths[i] * d];
            System.arraycopy(batch.outputs(), batch.tokenOffset(i) * d, got, 0, got.length);
            assertClose(got, wantOut[i], 1e-5, "outputs of seq " + i);
            float[] fin = new float[sf];
            batch.getState(i, fin, 0);
            assertClose(fin, want[i], 1e-5, "final state of seq " + i);
            float[] inPool = java.util.Arrays.copyOfRange(pool, 7 + i * sf, 7 + (i + 1) * sf);
            if (share[i]) {
                assertArrayEquals(fin, inPool, "a shared state is advanced in the caller's array");
            } else {
                assertArrayEquals(init[i], inPool, "a copied sequence leaves the caller's array alone");
                assertArrayEquals(init[i], callerCopies[i], "a copied sequence leaves the caller's array alone");
            }
        }
        assertEquals(0f, pool[0], "before the first slice untouched");
        batch.clear();
        assertFalse(batch.hasSharedStates(), "clear() forgets shared arrays");
        int s = batch.addSequence(init[0], 0, 0);
        assertSame(batch.states(), batch.stateArray(s));
        assertEquals(0, batch.stateOffset(s));
    }

    @Test
    void aSliceOutsideTheArrayIsRefused() {
        MambaConfig c = new MambaConfig(8, 4, 16, 4, 1, 1, false, true, 1e-5f);
        MambaBatch batch = new MambaBatch(c);
        assertThrows(IndexOutOfBoundsException.class, () -> batch.addSequenceSharingState(new float[c.stateFloats()], 1, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> batch.addSequenceSharingState(new float[c.stateFloats()], -1, 1));
    }
}
