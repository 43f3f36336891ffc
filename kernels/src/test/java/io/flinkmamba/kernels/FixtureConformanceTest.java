package io.flinkmamba.kernels;

import io.flinkmamba.kernels.cpu.CpuParallelForward;
import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.io.Npy;
import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;

import static io.flinkmamba.kernels.testing.Assertions2.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The project's own Hugging Face fixtures (scripts/fixtures/make_fixtures.py): each checkpoint's
 * float64 last_hidden_state against both modes in float32, from a zero state.
 */
class FixtureConformanceTest {
    static final double TOL = 1e-5;

    static Path fixture(String name) throws URISyntaxException {
        var url = FixtureConformanceTest.class.getResource("/fixtures/" + name + "/config.json");
        assertNotNull(url, "fixture " + name + " is missing from the test resources");
        return Path.of(url.toURI()).getParent();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"conv-nobias", "proj-bias", "deep", "long", "bf16", "f16", "backbone-prefix", "time-step-auto"})
    void bothModesMatchHuggingFace(String name) throws Exception {
        Path dir = fixture(name);
        MambaModel m = MambaModel.load(dir);
        Npy.FloatArray in = Npy.read(dir.resolve("inputs_embeds.npy"));
        double[] expected = Npy.readDoubles(dir.resolve("last_hidden_state.npy"));
        assertArrayEquals(in.shape, Npy.shape(dir.resolve("last_hidden_state.npy")));
        int b = (int) in.shape[0], len = (int) in.shape[1], d = (int) in.shape[2];

        RecurrentStepper st = m.newStepper();
        float[] rec = new float[b * len * d];
        MambaBatch batch = new MambaBatch(m.config());
        for (int i = 0; i < b; i++) {
            float[] s = m.newState();
            for (int t = 0; t < len; t++) {
                st.step(s, 0, in.data, (i * len + t) * d, rec, (i * len + t) * d);
            }
            batch.addSequence(m.newState(), 0, len);
        }
        System.arraycopy(in.data, 0, batch.inputs(), 0, in.data.length);
        new CpuParallelForward(m).forward(batch);
        for (int i = 0; i < b; i++) {
            int off = i * len * d;
            assertClose(rec, off, expected, off, len * d, TOL, name + " recurrent, sequence " + i);
            assertClose(batch.outputs(), off, expected, off, len * d, TOL, name + " parallel, sequence " + i);
        }
        float[] sRec = m.newState();
        for (int t = 0; t < len; t++) {
            st.step(sRec, 0, in.data, t * d, new float[d], 0);
        }
        float[] sPar = new float[m.config().stateFloats()];
        batch.getState(0, sPar, 0);
        assertClose(sPar, sRec, TOL, name + " final state, parallel vs recurrent: " + Arrays.toString(in.shape));
    }
}
