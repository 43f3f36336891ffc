package io.flinkmamba.kernels.cpu;

import io.flinkmamba.kernels.model.LayerWeights;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import io.flinkmamba.kernels.model.MambaWeights;

/**
 * Recurrent mode: advances one stream by one event, O(1) work and memory, no allocation.
 * Holds scratch buffers, so one instance per thread.
 */
public final class RecurrentStepper {
    private final MambaConfig c;
    private final MambaWeights w;
    private final BlockKernels kernels;
    private final float[] x;
    private final float[] h;
    private final float[] xz;
    private final float[] u;
    private final float[] bc;
    private final float[] dt;
    private final float[] y;
    private final float[] o;

    public RecurrentStepper(MambaModel model) {
        this.c = model.config();
        this.w = model.weights();
        this.kernels = new BlockKernels(c, w);
        int d = c.hiddenSize(), e = c.intermediateSize();
        x = new float[d];
        h = new float[d];
        xz = new float[2 * e];
        u = new float[e];
        bc = new float[c.xProjRows()];
        dt = new float[e];
        y = new float[e];
        o = new float[d];
    }

    public MambaConfig config() {
        return c;
    }

    /** Convenience for a state that starts at offset 0 and vectors of exactly hidden_size floats. */
    public void step(float[] state, float[] input, float[] output) {
        step(state, 0, input, 0, output, 0);
    }

    /**
     * Advances {@code state[stateOff .. +stateFloats)} by one event: reads hidden_size floats of
     * {@code input} at inOff and writes the final-norm output (hidden_size floats) at outOff.
     * Input and output may be the same array range.
     */
    public void step(float[] state, int stateOff, float[] input, int inOff, float[] output, int outOff) {
        int d = c.hiddenSize(), e = c.intermediateSize();
        System.arraycopy(input, inOff, x, 0, d);
        for (int l = 0; l < w.layers.length; l++) {
            LayerWeights lw = w.layers[l];
            VectorMath.rmsNorm(x, 0, d, lw.norm, c.layerNormEpsilon(), h, 0);
            VectorMath.matVec(lw.inProj, 2 * e, d, lw.inProjBias, h, 0, xz, 0);
            kernels.convSilu(lw, xz, 0, 2 * e, 1, state, stateOff + c.convStateOffset(l), u, 0, e);
            VectorMath.matVec(lw.xProj, c.xProjRows(), e, null, u, 0, bc, 0);
            kernels.deltaSoftplus(l, lw, bc, 0, dt, 0);
            FastMath.siluInPlace(xz, e, e); // the gate silu(z), in place of z
            kernels.scan(lw, u, 0, e, dt, 0, e, bc, 0, c.xProjRows(), xz, e, 2 * e, 1,
                    state, stateOff + c.ssmStateOffset(l), y, 0, e);
            VectorMath.matVec(lw.outProj, d, e, lw.outProjBias, y, 0, o, 0);
            VectorMath.addInPlace(x, 0, o, 0, d);
        }
        VectorMath.rmsNorm(x, 0, d, w.normF, c.layerNormEpsilon(), output, outOff);
    }
}
