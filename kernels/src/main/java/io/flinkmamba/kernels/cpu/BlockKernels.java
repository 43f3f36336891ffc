package io.flinkmamba.kernels.cpu;

import io.flinkmamba.kernels.model.LayerWeights;
import io.flinkmamba.kernels.model.MambaConfig;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The two time-dependent parts of a Mamba block, over a run of consecutive tokens of ONE stream:
 * the causal depthwise conv (carrying its window) and the selective scan (carrying the SSM state).
 * The recurrent mode calls them with one token, the parallel mode with a whole window.
 */
final class BlockKernels {
    private final MambaConfig c;
    /** Lanes over the state dimension N: the largest species whose length divides N, or null (scalar). */
    private final VectorSpecies<Float> sn;

    BlockKernels(MambaConfig c) {
        this.c = c;
        this.sn = speciesFor(c.stateSize());
    }

    static VectorSpecies<Float> speciesFor(int n) {
        VectorSpecies<Float>[] candidates = new VectorSpecies[] {
                FloatVector.SPECIES_512, FloatVector.SPECIES_256, FloatVector.SPECIES_128};
        for (VectorSpecies<Float> s : candidates) {
            if (s.length() <= VectorMath.LANES && n % s.length() == 0) {
                return s;
            }
        }
        return null;
    }

    /**
     * u[t, e] = silu(conv(e, t)) for {@code tokens} tokens whose pre-conv values are xz[t, e] (first E
     * columns of the in_proj output), then the window [E, K-1] in {@code conv} holds the last K-1
     * pre-conv values, oldest first.
     */
    void convSilu(LayerWeights w, float[] xz, int xzOff, int xzStride, int tokens,
                  float[] conv, int convOff, float[] u, int uOff, int uStride) {
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
                u[uOff + t * uStride + ch] = VectorMath.silu(acc);
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
    }

    /**
     * The selective scan with its gate, for {@code tokens} tokens:
     * s = exp(Δ·A) ⊙ s + Δ·u·B,  y = (s·C + D·u) · silu(z).
     *
     * @param dt   Δ after softplus, [tokens, E] with stride dtStride
     * @param bc   x_proj output rows; B at column R, C at column R+N, stride bcStride
     * @param ssm  the state [E, N] at ssmOff, updated in place
     */
    void scan(LayerWeights w, float[] u, int uOff, int uStride, float[] dt, int dtOff, int dtStride,
              float[] bc, int bcOff, int bcStride, float[] xz, int zOff, int xzStride, int tokens,
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
                float acc;
                if (sn != null) {
                    FloatVector accV = FloatVector.zero(sn);
                    for (int i = 0; i < n; i += sn.length()) {
                        FloatVector a = FloatVector.fromArray(sn, w.aNeg, aBase + i);
                        FloatVector decay = a.mul(delta).lanewise(VectorOperators.EXP);
                        FloatVector s = FloatVector.fromArray(sn, ssm, sBase + i);
                        s = s.fma(decay, FloatVector.fromArray(sn, bc, bRow + i).mul(du));
                        s.intoArray(ssm, sBase + i);
                        accV = s.fma(FloatVector.fromArray(sn, bc, cRow + i), accV);
                    }
                    acc = accV.reduceLanes(VectorOperators.ADD);
                } else {
                    acc = 0f;
                    for (int i = 0; i < n; i++) {
                        float s = (float) Math.exp(delta * w.aNeg[aBase + i]) * ssm[sBase + i] + du * bc[bRow + i];
                        ssm[sBase + i] = s;
                        acc += s * bc[cRow + i];
                    }
                }
                float zv = xz[zOff + t * xzStride + ch];
                y[yOff + t * yStride + ch] = (acc + dSkip * uv) * VectorMath.silu(zv);
            }
        }
    }

    /** Δ = softplus(Δ) in place over a [tokens, E] block. */
    void softplusInPlace(float[] dt, int off, int tokens, int stride) {
        int e = c.intermediateSize();
        for (int t = 0; t < tokens; t++) {
            int row = off + t * stride;
            for (int ch = 0; ch < e; ch++) {
                dt[row + ch] = VectorMath.softplus(dt[row + ch]);
            }
        }
    }
}
