package io.flinkmamba.kernels.cpu;

import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.LayerWeights;
import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import io.flinkmamba.kernels.model.MambaWeights;

/**
 * Parallel mode on the CPU. Sequences are processed in groups of about {@link #GROUP_TOKENS} tokens;
 * for each group every layer runs its token-wise parts (norm, projections) as a GEMM over all the
 * group's tokens, so each weight row is read once per tile of tokens instead of once per token, and
 * its time-wise parts (conv, scan) per sequence in time chunks with the state kept in place.
 * The scratch memory is bounded by the group size, whatever the batch size.
 */
public final class CpuParallelForward implements BatchForward {
    static final int GROUP_TOKENS = 512;

    private final MambaConfig c;
    private final MambaWeights w;
    private final BlockKernels kernels;
    /** Per layer, the projections packed in column panels for {@link VectorMath#gemmPacked}. */
    private final float[][] inProjT;
    private final float[][] xProjT;
    private final float[][] outProjT;
    private int capacity;
    private float[] x;
    private float[] h;
    private float[] xz;
    private float[] u;
    private float[] bc;
    private float[] dt;
    private float[] y;

    public CpuParallelForward(MambaModel model) {
        this.c = model.config();
        this.w = model.weights();
        this.kernels = new BlockKernels(c, w);
        int layers = w.layers.length, d = c.hiddenSize(), e = c.intermediateSize();
        inProjT = new float[layers][];
        xProjT = new float[layers][];
        outProjT = new float[layers][];
        for (int l = 0; l < layers; l++) {
            inProjT[l] = VectorMath.pack(w.layers[l].inProj, 2 * e, d);
            xProjT[l] = VectorMath.pack(w.layers[l].xProj, c.xProjRows(), e);
            outProjT[l] = VectorMath.pack(w.layers[l].outProj, d, e);
        }
        ensureCapacity(GROUP_TOKENS);
    }

    private void ensureCapacity(int tokens) {
        if (tokens <= capacity) {
            return;
        }
        int d = c.hiddenSize(), e = c.intermediateSize();
        capacity = tokens;
        x = new float[tokens * d];
        h = new float[tokens * d];
        xz = new float[tokens * 2 * e];
        u = new float[tokens * e];
        bc = new float[tokens * c.xProjRows()];
        dt = new float[tokens * e];
        y = new float[tokens * e];
    }

    @Override
    public String device() {
        return "cpu";
    }

    @Override
    public boolean sharesStates() {
        return true;
    }

    @Override
    public void forward(MambaBatch batch) {
        if (batch.hiddenSize() != c.hiddenSize() || batch.stateFloats() != c.stateFloats()) {
            throw new IllegalArgumentException("batch was built for another model shape");
        }
        int first = 0;
        int n = batch.size();
        while (first < n) {
            int last = first + 1;
            int start = batch.tokenOffset(first);
            // grow the group while it fits; a sequence longer than the group goes alone
            while (last < n && batch.tokenOffset(last) + batch.length(last) - start <= GROUP_TOKENS) {
                last++;
            }
            forwardGroup(batch, first, last);
            first = last;
        }
    }

    /** Sequences [first, last) of the batch: all layers. */
    private void forwardGroup(MambaBatch b, int first, int last) {
        int d = c.hiddenSize(), e = c.intermediateSize(), xr = c.xProjRows();
        int tok0 = b.tokenOffset(first);
        int tokens = b.tokenOffset(last - 1) + b.length(last - 1) - tok0;
        if (tokens == 0) {
            return; // only empty sequences: states pass through
        }
        ensureCapacity(tokens);
        System.arraycopy(b.inputs(), tok0 * d, x, 0, tokens * d);
        for (int l = 0; l < w.layers.length; l++) {
            LayerWeights lw = w.layers[l];
            for (int t = 0; t < tokens; t++) {
                VectorMath.rmsNorm(x, t * d, d, lw.norm, c.layerNormEpsilon(), h, t * d);
            }
            VectorMath.gemmPacked(h, 0, d, tokens, d, inProjT[l], 2 * e, lw.inProjBias, xz, 0, 2 * e);
            for (int s = first; s < last; s++) {
                int off = b.tokenOffset(s) - tok0;
                kernels.convSilu(lw, xz, off * 2 * e, 2 * e, b.length(s),
                        b.stateArray(s), b.stateOffset(s) + c.convStateOffset(l), u, off * e, e);
            }
            VectorMath.gemmPacked(u, 0, e, tokens, e, xProjT[l], xr, null, bc, 0, xr);
            for (int t = 0; t < tokens; t++) {
                kernels.deltaSoftplus(l, lw, bc, t * xr, dt, t * e);
                FastMath.siluInPlace(xz, t * 2 * e + e, e); // the gate silu(z), in place of z
            }
            for (int s = first; s < last; s++) {
                int off = b.tokenOffset(s) - tok0;
                kernels.scan(lw, u, off * e, e, dt, off * e, e, bc, off * xr, xr, xz, off * 2 * e + e, 2 * e,
                        b.length(s), b.stateArray(s), b.stateOffset(s) + c.ssmStateOffset(l), y, off * e, e);
            }
            // out_proj into h (free now), then the residual
            VectorMath.gemmPacked(y, 0, e, tokens, e, outProjT[l], d, lw.outProjBias, h, 0, d);
            VectorMath.addInPlace(x, 0, h, 0, tokens * d);
        }
        float[] out = b.outputs();
        for (int t = 0; t < tokens; t++) {
            VectorMath.rmsNorm(x, t * d, d, w.normF, c.layerNormEpsilon(), out, (tok0 + t) * d);
        }
    }
}
