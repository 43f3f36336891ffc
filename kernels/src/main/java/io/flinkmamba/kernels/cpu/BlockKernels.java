package io.flinkmamba.kernels.cpu;

import io.flinkmamba.kernels.model.LayerWeights;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaWeights;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The time-dependent parts of a Mamba block over a run of consecutive tokens of ONE stream (the
 * causal depthwise conv carrying its window, the selective scan carrying the SSM state), and the
 * per-token Δ projection. The recurrent mode calls them with one token, the parallel mode with a
 * whole window. Holds a packed copy of dt_proj (transposed, so Δ is computed across channels
 * with broadcasts instead of one short dot product per channel).
 */
final class BlockKernels {
    private final MambaConfig c;
    // Species must be static constants for C2 to keep vectors in registers (a species held in an
    // instance field makes every vector a heap object).
    private static final VectorSpecies<Float> S = VectorMath.S;
    /** Per layer: dt_proj transposed to [R, E]. */
    private final float[][] dtProjT;
    /** Δ before softplus, one token. */
    private final float[] dtRaw;

    BlockKernels(MambaConfig c, MambaWeights w) {
        this.c = c;
        this.dtRaw = new float[c.intermediateSize()];
        this.dtProjT = new float[w.layers.length][];
        for (int l = 0; l < dtProjT.length; l++) {
            dtProjT[l] = VectorMath.transpose(w.layers[l].dtProj, c.intermediateSize(), c.timeStepRank());
        }
    }

    /**
     * u[t, e] = silu(conv(e, t)) for {@code tokens} tokens whose pre-conv values are xz[t, e] (first E
     * columns of the in_proj output), then the window [E, K-1] in {@code conv} holds the last K-1
     * pre-conv values, oldest first.
     */
    void convSilu(LayerWeights w, float[] xz, int xzOff, int xzStride, int tokens,
                  float[] conv, int convOff, float[] u, int uOff, int uStride) {
        if (tokens == 1) {
            convSiluOneToken(w, xz, xzOff, conv, convOff, u, uOff);
            return;
        }
        int e = c.intermediateSize(), k = c.convKernel(), win = k - 1;
        for (int ch = 0; ch < e; ch++) {
            int wOff = ch * k;
            int sOff = convOff + ch * win;
            float bias = w.convBias != null ? w.convBias[ch] : 0f;
            for (int t = 0; t < tokens; t++) {
                // input at relative time j in [t-K+1, t]: from the window when j < 0, from xz otherwise
                float acc = bias;
                for (int kk = 0; kk < k; kk++) {
                    int j = t - win + kk;
                    float v = j < 0 ? conv[sOff + win + j] : xz[xzOff + j * xzStride + ch];
                    acc += w.convWeight[wOff + kk] * v;
                }
                u[uOff + t * uStride + ch] = acc;
            }
            // roll the window forward by `tokens` values
            if (tokens >= win) {
                for (int i = 0; i < win; i++) {
                    conv[sOff + i] = xz[xzOff + (tokens - win + i) * xzStride + ch];
                }
            } else {
                for (int i = 0; i < win - tokens; i++) {
                    conv[sOff + i] = conv[sOff + i + tokens];
                }
                for (int i = 0; i < tokens; i++) {
                    conv[sOff + win - tokens + i] = xz[xzOff + i * xzStride + ch];
                }
            }
        }
        // SiLU across channels, vectorised, token by token
        for (int t = 0; t < tokens; t++) {
            FastMath.siluInPlace(u, uOff + t * uStride, e);
        }
    }

    /**
     * {@link #convSilu} for one token (every per-event step, and a micro-batch flush's keys with one
     * event): the general loop's per-tap branch and window roll cost more than the arithmetic there.
     * Same sums in the same order, so the same bits.
     */
    private void convSiluOneToken(LayerWeights w, float[] xz, int xzOff, float[] conv, int convOff, float[] u, int uOff) {
        int e = c.intermediateSize(), k = c.convKernel(), win = k - 1;
        float[] cw = w.convWeight, cb = w.convBias;
        for (int ch = 0; ch < e; ch++) {
            int wOff = ch * k, sOff = convOff + ch * win;
            float v = xz[xzOff + ch];
            float acc = cb != null ? cb[ch] : 0f;
            for (int i = 0; i < win; i++) {
                acc += cw[wOff + i] * conv[sOff + i];
            }
            acc += cw[wOff + win] * v;
            for (int i = 0; i + 1 < win; i++) {
                conv[sOff + i] = conv[sOff + i + 1];
            }
            if (win > 0) {
                conv[sOff + win - 1] = v;
            }
            u[uOff + ch] = acc;
        }
        FastMath.siluInPlace(u, uOff, e);
    }

    /** Δ[t, :] = softplus(dt_proj · bc[t, 0..R) + dt_bias) for one token of layer {@code layer}. */
    void deltaSoftplus(int layer, LayerWeights w, float[] bc, int bcOff, float[] dt, int dtOff) {
        int e = c.intermediateSize();
        VectorMath.matVecT(dtProjT[layer], e, c.timeStepRank(), w.dtProjBias, bc, bcOff, dtRaw, 0);
        FastMath.softplus(dtRaw, 0, dt, dtOff, e);
    }

    /**
     * The selective scan with its gate, for {@code tokens} tokens:
     * s = exp(Δ·A) ⊙ s + Δ·u·B,  y = (s·C + D·u) · g, where g = silu(z) is given.
     * Channel by channel; when N spans one or two vectors the channel's state and A stay in
     * registers across all its tokens.
     *
     * @param dt   Δ after softplus, [tokens, E] with stride dtStride
     * @param bc   x_proj output rows; B at column R, C at column R+N, stride bcStride
     * @param gate silu(z), [tokens, E] at gOff with stride gStride
     * @param ssm  the state [E, N] at ssmOff, updated in place
     */
    void scan(LayerWeights w, float[] u, int uOff, int uStride, float[] dt, int dtOff, int dtStride,
              float[] bc, int bcOff, int bcStride, float[] gate, int gOff, int gStride, int tokens,
              float[] ssm, int ssmOff, float[] y, int yOff, int yStride) {
        int n = c.stateSize();
        if (n == 2 * S.length()) {
            scanTwoVectors(w, u, uOff, uStride, dt, dtOff, dtStride, bc, bcOff, bcStride, gate, gOff, gStride,
                    tokens, ssm, ssmOff, y, yOff, yStride);
        } else if (n % S.length() == 0) {
            scanVectors(w, u, uOff, uStride, dt, dtOff, dtStride, bc, bcOff, bcStride, gate, gOff, gStride,
                    tokens, ssm, ssmOff, y, yOff, yStride);
        } else {
            scanScalar(w, u, uOff, uStride, dt, dtOff, dtStride, bc, bcOff, bcStride, gate, gOff, gStride,
                    tokens, ssm, ssmOff, y, yOff, yStride);
        }
    }

    private void scanTwoVectors(LayerWeights w, float[] u, int uOff, int uStride, float[] dt, int dtOff, int dtStride,
                                float[] bc, int bcOff, int bcStride, float[] gate, int gOff, int gStride, int tokens,
                                float[] ssm, int ssmOff, float[] y, int yOff, int yStride) {
        VectorSpecies<Float> vs = S;
        int e = c.intermediateSize(), n = c.stateSize(), r = c.timeStepRank(), l = vs.length();
        int bCol = bcOff + r, cCol = bcOff + r + n;
        for (int ch = 0; ch < e; ch++) {
            int sBase = ssmOff + ch * n;
            FloatVector a0 = FloatVector.fromArray(vs, w.aNeg, ch * n);
            FloatVector a1 = FloatVector.fromArray(vs, w.aNeg, ch * n + l);
            FloatVector s0 = FloatVector.fromArray(vs, ssm, sBase);
            FloatVector s1 = FloatVector.fromArray(vs, ssm, sBase + l);
            float dSkip = w.d[ch];
            for (int t = 0; t < tokens; t++) {
                float delta = dt[dtOff + t * dtStride + ch];
                float uv = u[uOff + t * uStride + ch];
                float du = delta * uv;
                int bRow = bCol + t * bcStride, cRow = cCol + t * bcStride;
                s0 = s0.fma(FastMath.exp(a0.mul(delta)), FloatVector.fromArray(vs, bc, bRow).mul(du));
                s1 = s1.fma(FastMath.exp(a1.mul(delta)), FloatVector.fromArray(vs, bc, bRow + l).mul(du));
                FloatVector acc = s1.mul(FloatVector.fromArray(vs, bc, cRow + l));
                acc = s0.fma(FloatVector.fromArray(vs, bc, cRow), acc);
                y[yOff + t * yStride + ch] = (acc.reduceLanes(VectorOperators.ADD) + dSkip * uv)
                        * gate[gOff + t * gStride + ch];
            }
            s0.intoArray(ssm, sBase);
            s1.intoArray(ssm, sBase + l);
        }
    }

    private void scanVectors(LayerWeights w, float[] u, int uOff, int uStride, float[] dt, int dtOff, int dtStride,
                             float[] bc, int bcOff, int bcStride, float[] gate, int gOff, int gStride, int tokens,
                             float[] ssm, int ssmOff, float[] y, int yOff, int yStride) {
        VectorSpecies<Float> vs = S;
        int e = c.intermediateSize(), n = c.stateSize(), r = c.timeStepRank();
        int bCol = bcOff + r, cCol = bcOff + r + n;
        for (int ch = 0; ch < e; ch++) {
            int sBase = ssmOff + ch * n;
            int aBase = ch * n;
            float dSkip = w.d[ch];
            for (int t = 0; t < tokens; t++) {
                float delta = dt[dtOff + t * dtStride + ch];
                float uv = u[uOff + t * uStride + ch];
                float du = delta * uv;
                int bRow = bCol + t * bcStride, cRow = cCol + t * bcStride;
                FloatVector accV = FloatVector.zero(vs);
                for (int i = 0; i < n; i += vs.length()) {
                    FloatVector decay = FastMath.exp(FloatVector.fromArray(vs, w.aNeg, aBase + i).mul(delta));
                    FloatVector s = FloatVector.fromArray(vs, ssm, sBase + i);
                    s = s.fma(decay, FloatVector.fromArray(vs, bc, bRow + i).mul(du));
                    s.intoArray(ssm, sBase + i);
                    accV = s.fma(FloatVector.fromArray(vs, bc, cRow + i), accV);
                }
                y[yOff + t * yStride + ch] = (accV.reduceLanes(VectorOperators.ADD) + dSkip * uv)
                        * gate[gOff + t * gStride + ch];
            }
        }
    }

    private void scanScalar(LayerWeights w, float[] u, int uOff, int uStride, float[] dt, int dtOff, int dtStride,
                            float[] bc, int bcOff, int bcStride, float[] gate, int gOff, int gStride, int tokens,
                            float[] ssm, int ssmOff, float[] y, int yOff, int yStride) {
        int e = c.intermediateSize(), n = c.stateSize(), r = c.timeStepRank();
        int bCol = bcOff + r, cCol = bcOff + r + n;
        for (int ch = 0; ch < e; ch++) {
            int sBase = ssmOff + ch * n;
            int aBase = ch * n;
            float dSkip = w.d[ch];
            for (int t = 0; t < tokens; t++) {
                float delta = dt[dtOff + t * dtStride + ch];
                float uv = u[uOff + t * uStride + ch];
                float du = delta * uv;
                int bRow = bCol + t * bcStride, cRow = cCol + t * bcStride;
                float acc = 0f;
                for (int i = 0; i < n; i++) {
                    float s = (float) Math.exp(delta * w.aNeg[aBase + i]) * ssm[sBase + i] + du * bc[bRow + i];
                    ssm[sBase + i] = s;
                    acc += s * bc[cRow + i];
                }
                y[yOff + t * yStride + ch] = (acc + dSkip * uv) * gate[gOff + t * gStride + ch];
            }
        }
    }
}
