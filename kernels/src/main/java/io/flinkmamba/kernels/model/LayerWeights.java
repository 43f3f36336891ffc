package io.flinkmamba.kernels.model;

/**
 * One Mamba block's parameters as float32, row-major like PyTorch's Linear ({@code [out, in]}).
 * Optional biases are {@code null} when the config has none. {@code aNeg} holds A = -exp(A_log),
 * precomputed once because every kernel needs A, never A_log.
 */
public final class LayerWeights {
    public final float[] norm;        // [D]
    public final float[] inProj;      // [2E, D]
    public final float[] inProjBias;  // [2E] or null
    public final float[] convWeight;  // [E, K]
    public final float[] convBias;    // [E] or null
    public final float[] xProj;       // [R + 2N, E]
    public final float[] dtProj;      // [E, R]
    public final float[] dtProjBias;  // [E]
    public final float[] aNeg;        // [E, N]
    public final float[] d;           // [E]
    public final float[] outProj;     // [D, E]
    public final float[] outProjBias; // [D] or null

    public LayerWeights(float[] norm, float[] inProj, float[] inProjBias, float[] convWeight, float[] convBias,
                        float[] xProj, float[] dtProj, float[] dtProjBias, float[] aLog, float[] d,
                        float[] outProj, float[] outProjBias) {
        this.norm = norm;
        this.inProj = inProj;
        this.inProjBias = inProjBias;
        this.convWeight = convWeight;
        this.convBias = convBias;
        this.xProj = xProj;
        this.dtProj = dtProj;
        this.dtProjBias = dtProjBias;
        this.aNeg = new float[aLog.length];
        for (int i = 0; i < aLog.length; i++) {
            aNeg[i] = (float) -Math.exp(aLog[i]);
        }
        this.d = d;
        this.outProj = outProj;
        this.outProjBias = outProjBias;
    }
}
