package io.flinkmamba.kernels.testing;

import io.flinkmamba.kernels.model.LayerWeights;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;

/**
 * A direct float64 transcription of the block's math (shared/design/mamba-block.md), written
 * independently of the kernels and as plainly as possible: the oracle for shapes that the Hugging
 * Face fixtures do not cover. State layout as in {@link MambaConfig}.
 */
public final class Float64Reference {
    private final MambaConfig c;
    private final MambaModel m;

    public Float64Reference(MambaModel m) {
        this.m = m;
        this.c = m.config();
    }

    /** One event: state (float64, same layout as the float32 state) advanced in place. */
    public double[] step(double[] state, float[] input) {
        int d = c.hiddenSize(), e = c.intermediateSize(), n = c.stateSize(), r = c.timeStepRank(), k = c.convKernel();
        double[] x = new double[d];
        for (int i = 0; i < d; i++) {
            x[i] = input[i];
        }
        for (int l = 0; l < c.numLayers(); l++) {
            LayerWeights w = m.weights().layers[l];
            double[] h = rms(x, w.norm);
            double[] xz = new double[2 * e];
            for (int o = 0; o < 2 * e; o++) {
                double s = w.inProjBias == null ? 0 : w.inProjBias[o];
                for (int i = 0; i < d; i++) {
                    s += w.inProj[o * d + i] * h[i];
                }
                xz[o] = s;
            }
            int cw = c.convStateOffset(l);
            double[] u = new double[e];
            for (int ch = 0; ch < e; ch++) {
                double s = w.convBias == null ? 0 : w.convBias[ch];
                for (int kk = 0; kk < k - 1; kk++) {
                    s += w.convWeight[ch * k + kk] * state[cw + ch * (k - 1) + kk];
                }
                s += w.convWeight[ch * k + k - 1] * xz[ch];
                for (int kk = 0; kk < k - 2; kk++) {
                    state[cw + ch * (k - 1) + kk] = state[cw + ch * (k - 1) + kk + 1];
                }
                if (k > 1) {
                    state[cw + ch * (k - 1) + k - 2] = xz[ch];
                }
                u[ch] = silu(s);
            }
            double[] dbc = new double[r + 2 * n];
            for (int o = 0; o < r + 2 * n; o++) {
                double s = 0;
                for (int i = 0; i < e; i++) {
                    s += w.xProj[o * e + i] * u[i];
                }
                dbc[o] = s;
            }
            int ss = c.ssmStateOffset(l);
            double[] y = new double[e];
            for (int ch = 0; ch < e; ch++) {
                double dt = w.dtProjBias[ch];
                for (int i = 0; i < r; i++) {
                    dt += w.dtProj[ch * r + i] * dbc[i];
                }
                dt = dt > 20 ? dt : Math.log1p(Math.exp(dt));
                double acc = 0;
                for (int j = 0; j < n; j++) {
                    double a = w.aNeg[ch * n + j];
                    double s = Math.exp(dt * a) * state[ss + ch * n + j] + dt * dbc[r + j] * u[ch];
                    state[ss + ch * n + j] = s;
                    acc += s * dbc[r + n + j];
                }
                y[ch] = (acc + w.d[ch] * u[ch]) * silu(xz[e + ch]);
            }
            for (int o = 0; o < d; o++) {
                double s = w.outProjBias == null ? 0 : w.outProjBias[o];
                for (int i = 0; i < e; i++) {
                    s += w.outProj[o * e + i] * y[i];
                }
                x[o] += s;
            }
        }
        return rms(x, m.weights().normF);
    }

    private double[] rms(double[] x, float[] w) {
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double inv = 1 / Math.sqrt(ss / x.length + c.layerNormEpsilon());
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inv * w[i];
        }
        return out;
    }

    private static double silu(double v) {
        return v / (1 + Math.exp(-v));
    }
}
