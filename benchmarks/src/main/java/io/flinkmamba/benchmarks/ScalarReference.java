package io.flinkmamba.benchmarks;

import io.flinkmamba.kernels.model.LayerWeights;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;

/**
 * The recurrent step as the plain scalar Java loop anyone would write first: no Vector API, no
 * blocking, one accumulator per dot product, {@code Math.exp} everywhere. The peer the
 * benchmarks compare {@code RecurrentStepper} against; same state layout, same math (tested to
 * agree with the core within 1e-5).
 */
public final class ScalarReference {
    private final MambaConfig c;
    private final MambaModel model;
    private final float[] x, h, xz, u, bc, dt, y, o;

    public ScalarReference(MambaModel model) {
        this.model = model;
        this.c = model.config();
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

    public void step(float[] state, float[] input, int inOff, float[] output, int outOff) {
        int d = c.hiddenSize(), e = c.intermediateSize(), n = c.stateSize(), r = c.timeStepRank();
        int k = c.convKernel(), win = k - 1, xr = c.xProjRows();
        System.arraycopy(input, inOff, x, 0, d);
        for (int l = 0; l < c.numLayers(); l++) {
            LayerWeights w = model.weights().layers[l];
            rmsNorm(x, w.norm, h, 0);
            matVec(w.inProj, w.inProjBias, h, 2 * e, d, xz);
            int conv = c.convStateOffset(l);
            for (int ch = 0; ch < e; ch++) {
                int s = conv + ch * win;
                float acc = w.convBias != null ? w.convBias[ch] : 0f;
                for (int j = 0; j < win; j++) {
                    acc += w.convWeight[ch * k + j] * state[s + j];
                }
                acc += w.convWeight[ch * k + win] * xz[ch];
                for (int j = 0; j + 1 < win; j++) {
                    state[s + j] = state[s + j + 1];
                }
                if (win > 0) {
                    state[s + win - 1] = xz[ch];
                }
                u[ch] = silu(acc);
            }
            matVec(w.xProj, null, u, xr, e, bc);
            for (int ch = 0; ch < e; ch++) {
                float v = w.dtProjBias[ch];
                for (int j = 0; j < r; j++) {
                    v += w.dtProj[ch * r + j] * bc[j];
                }
                dt[ch] = v > 20f ? v : (float) Math.log1p(Math.exp(v));
            }
            int ssm = c.ssmStateOffset(l);
            for (int ch = 0; ch < e; ch++) {
                float delta = dt[ch], du = delta * u[ch], acc = 0f;
                for (int i = 0; i < n; i++) {
                    int si = ssm + ch * n + i;
                    float s = (float) Math.exp(delta * w.aNeg[ch * n + i]) * state[si] + du * bc[r + i];
                    state[si] = s;
                    acc += s * bc[r + n + i];
                }
                y[ch] = (acc + w.d[ch] * u[ch]) * silu(xz[e + ch]);
            }
            matVec(w.outProj, w.outProjBias, y, d, e, o);
            for (int i = 0; i < d; i++) {
                x[i] += o[i];
            }
        }
        rmsNorm(x, model.weights().normF, output, outOff);
    }

    private void rmsNorm(float[] v, float[] w, float[] out, int outOff) {
        int d = c.hiddenSize();
        float ss = 0f;
        for (int i = 0; i < d; i++) {
            ss += v[i] * v[i];
        }
        float inv = (float) (1.0 / Math.sqrt(ss / d + c.layerNormEpsilon()));
        for (int i = 0; i < d; i++) {
            out[outOff + i] = v[i] * inv * w[i];
        }
    }

    private static void matVec(float[] w, float[] bias, float[] v, int rows, int cols, float[] out) {
        for (int row = 0; row < rows; row++) {
            float s = bias != null ? bias[row] : 0f;
            for (int col = 0; col < cols; col++) {
                s += w[row * cols + col] * v[col];
            }
            out[row] = s;
        }
    }

    private static float silu(float v) {
        return v / (1f + (float) Math.exp(-v));
    }
}
