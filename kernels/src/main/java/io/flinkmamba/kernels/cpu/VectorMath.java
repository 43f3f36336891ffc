package io.flinkmamba.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The dense primitives of the block, written once with the Vector API and used by both modes.
 * All matrices are row-major with the reduction dimension contiguous (PyTorch's Linear layout),
 * so every inner loop is a unit-stride dot product.
 */
public final class VectorMath {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int LANES = S.length();

    private VectorMath() {
    }

    /**
     * y[yOff + r] = Σ_c w[r, c] · x[xOff + c] (+ bias[r]) for r in [0, rows). Blocks of eight rows share
     * each x load and keep eight independent FMA chains in flight (enough to hide FMA latency on two
     * pipes); the remaining rows go four, then one at a time.
     */
    public static void matVec(float[] w, int rows, int cols, float[] bias, float[] x, int xOff, float[] y, int yOff) {
        int bound = S.loopBound(cols);
        int r = 0;
        if (bound == cols) {
            for (; r + 7 < rows; r += 8) {
                matVec8(w, r, cols, bias, x, xOff, y, yOff);
            }
        }
        for (; r + 3 < rows; r += 4) {
            int w0 = r * cols, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            int c = 0;
            for (; c < bound; c += LANES) {
                FloatVector xv = FloatVector.fromArray(S, x, xOff + c);
                a0 = FloatVector.fromArray(S, w, w0 + c).fma(xv, a0);
                a1 = FloatVector.fromArray(S, w, w1 + c).fma(xv, a1);
                a2 = FloatVector.fromArray(S, w, w2 + c).fma(xv, a2);
                a3 = FloatVector.fromArray(S, w, w3 + c).fma(xv, a3);
            }
            float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
            float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
            for (; c < cols; c++) {
                float xc = x[xOff + c];
                s0 += w[w0 + c] * xc;
                s1 += w[w1 + c] * xc;
                s2 += w[w2 + c] * xc;
                s3 += w[w3 + c] * xc;
            }
            if (bias != null) {
                s0 += bias[r];
                s1 += bias[r + 1];
                s2 += bias[r + 2];
                s3 += bias[r + 3];
            }
            y[yOff + r] = s0;
            y[yOff + r + 1] = s1;
            y[yOff + r + 2] = s2;
            y[yOff + r + 3] = s3;
        }
        for (; r < rows; r++) {
            float s = dot(w, r * cols, x, xOff, cols);
            y[yOff + r] = bias != null ? s + bias[r] : s;
        }
    }

    /** Rows [r, r+8) of {@link #matVec}, for cols a multiple of the lane count. */
    private static void matVec8(float[] w, int r, int cols, float[] bias, float[] x, int xOff, float[] y, int yOff) {
        int w0 = r * cols;
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int c = 0; c < cols; c += LANES) {
            FloatVector xv = FloatVector.fromArray(S, x, xOff + c);
            int o = w0 + c;
            a0 = FloatVector.fromArray(S, w, o).fma(xv, a0);
            a1 = FloatVector.fromArray(S, w, o + cols).fma(xv, a1);
            a2 = FloatVector.fromArray(S, w, o + 2 * cols).fma(xv, a2);
            a3 = FloatVector.fromArray(S, w, o + 3 * cols).fma(xv, a3);
            a4 = FloatVector.fromArray(S, w, o + 4 * cols).fma(xv, a4);
            a5 = FloatVector.fromArray(S, w, o + 5 * cols).fma(xv, a5);
            a6 = FloatVector.fromArray(S, w, o + 6 * cols).fma(xv, a6);
            a7 = FloatVector.fromArray(S, w, o + 7 * cols).fma(xv, a7);
        }
        int i = yOff + r;
        y[i] = a0.reduceLanes(VectorOperators.ADD);
        y[i + 1] = a1.reduceLanes(VectorOperators.ADD);
        y[i + 2] = a2.reduceLanes(VectorOperators.ADD);
        y[i + 3] = a3.reduceLanes(VectorOperators.ADD);
        y[i + 4] = a4.reduceLanes(VectorOperators.ADD);
        y[i + 5] = a5.reduceLanes(VectorOperators.ADD);
        y[i + 6] = a6.reduceLanes(VectorOperators.ADD);
        y[i + 7] = a7.reduceLanes(VectorOperators.ADD);
        if (bias != null) {
            for (int k = 0; k < 8; k++) {
                y[i + k] += bias[r + k];
            }
        }
    }

    /**
     * y[yOff + o] = Σ_i wT[i, o] · x[xOff + i] (+ bias[o]) for o in [0, out), with the weight stored
     * transposed ({@code wT} is [in, out]): for short reductions (dt_proj's R), a broadcast-FMA across
     * outputs beats one short dot product and one lane reduction per output.
     */
    public static void matVecT(float[] wT, int out, int in, float[] bias, float[] x, int xOff, float[] y, int yOff) {
        int bound = S.loopBound(out);
        int o = 0;
        for (; o + 2 * LANES <= bound; o += 2 * LANES) {
            FloatVector a0 = bias != null ? FloatVector.fromArray(S, bias, o) : FloatVector.zero(S);
            FloatVector a1 = bias != null ? FloatVector.fromArray(S, bias, o + LANES) : FloatVector.zero(S);
            for (int i = 0; i < in; i++) {
                FloatVector xi = FloatVector.broadcast(S, x[xOff + i]);
                a0 = FloatVector.fromArray(S, wT, i * out + o).fma(xi, a0);
                a1 = FloatVector.fromArray(S, wT, i * out + o + LANES).fma(xi, a1);
            }
            a0.intoArray(y, yOff + o);
            a1.intoArray(y, yOff + o + LANES);
        }
        for (; o < bound; o += LANES) {
            FloatVector a0 = bias != null ? FloatVector.fromArray(S, bias, o) : FloatVector.zero(S);
            for (int i = 0; i < in; i++) {
                a0 = FloatVector.fromArray(S, wT, i * out + o).fma(FloatVector.broadcast(S, x[xOff + i]), a0);
            }
            a0.intoArray(y, yOff + o);
        }
        for (; o < out; o++) {
            float s = bias != null ? bias[o] : 0f;
            for (int i = 0; i < in; i++) {
                s += wT[i * out + o] * x[xOff + i];
            }
            y[yOff + o] = s;
        }
    }

    /** The [cols, rows] transpose of a row-major [rows, cols] matrix. */
    static float[] transpose(float[] w, int rows, int cols) {
        float[] t = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = w[r * cols + c];
            }
        }
        return t;
    }

    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int bound = S.loopBound(n);
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i < bound; i += LANES) {
            acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    /**
     * Y[t, o] = Σ_i X[t, i] · W[o, i] (+ bias[o]) for {@code tokens} rows of X (row stride {@code xStride})
     * into Y (row stride {@code yStride}). Tiles of 4 tokens x 4 outputs keep 16 accumulators in registers,
     * so each weight row is read once per 4 tokens instead of once per token.
     */
    public static void gemm(float[] x, int xOff, int xStride, int tokens, int in,
                            float[] w, int out, float[] bias, float[] y, int yOff, int yStride) {
        int t = 0;
        for (; t + 3 < tokens; t += 4) {
            int x0 = xOff + t * xStride, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
            int y0 = yOff + t * yStride;
            int o = 0;
            for (; o + 3 < out; o += 4) {
                gemmTile4x4(x, x0, x1, x2, x3, in, w, o, bias, y, y0, yStride);
            }
            for (; o < out; o++) {
                float b = bias != null ? bias[o] : 0f;
                y[y0 + o] = dot(w, o * in, x, x0, in) + b;
                y[y0 + yStride + o] = dot(w, o * in, x, x1, in) + b;
                y[y0 + 2 * yStride + o] = dot(w, o * in, x, x2, in) + b;
                y[y0 + 3 * yStride + o] = dot(w, o * in, x, x3, in) + b;
            }
        }
        for (; t < tokens; t++) {
            matVec(w, out, in, bias, x, xOff + t * xStride, y, yOff + t * yStride);
        }
    }

    private static void gemmTile4x4(float[] x, int x0, int x1, int x2, int x3, int in,
                                    float[] w, int o, float[] bias, float[] y, int y0, int yStride) {
        int w0 = o * in, w1 = w0 + in, w2 = w1 + in, w3 = w2 + in;
        FloatVector z = FloatVector.zero(S);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        FloatVector a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
        int bound = S.loopBound(in);
        int i = 0;
        for (; i < bound; i += LANES) {
            FloatVector v0 = FloatVector.fromArray(S, w, w0 + i);
            FloatVector v1 = FloatVector.fromArray(S, w, w1 + i);
            FloatVector v2 = FloatVector.fromArray(S, w, w2 + i);
            FloatVector v3 = FloatVector.fromArray(S, w, w3 + i);
            FloatVector u = FloatVector.fromArray(S, x, x0 + i);
            a00 = v0.fma(u, a00); a01 = v1.fma(u, a01); a02 = v2.fma(u, a02); a03 = v3.fma(u, a03);
            u = FloatVector.fromArray(S, x, x1 + i);
            a10 = v0.fma(u, a10); a11 = v1.fma(u, a11); a12 = v2.fma(u, a12); a13 = v3.fma(u, a13);
            u = FloatVector.fromArray(S, x, x2 + i);
            a20 = v0.fma(u, a20); a21 = v1.fma(u, a21); a22 = v2.fma(u, a22); a23 = v3.fma(u, a23);
            u = FloatVector.fromArray(S, x, x3 + i);
            a30 = v0.fma(u, a30); a31 = v1.fma(u, a31); a32 = v2.fma(u, a32); a33 = v3.fma(u, a33);
        }
        float[] acc = {
                a00.reduceLanes(VectorOperators.ADD), a01.reduceLanes(VectorOperators.ADD),
                a02.reduceLanes(VectorOperators.ADD), a03.reduceLanes(VectorOperators.ADD),
                a10.reduceLanes(VectorOperators.ADD), a11.reduceLanes(VectorOperators.ADD),
                a12.reduceLanes(VectorOperators.ADD), a13.reduceLanes(VectorOperators.ADD),
                a20.reduceLanes(VectorOperators.ADD), a21.reduceLanes(VectorOperators.ADD),
                a22.reduceLanes(VectorOperators.ADD), a23.reduceLanes(VectorOperators.ADD),
                a30.reduceLanes(VectorOperators.ADD), a31.reduceLanes(VectorOperators.ADD),
                a32.reduceLanes(VectorOperators.ADD), a33.reduceLanes(VectorOperators.ADD)};
        int[] xs = {x0, x1, x2, x3};
        for (int ti = 0; ti < 4; ti++) {
            for (int oi = 0; oi < 4; oi++) {
                float s = acc[ti * 4 + oi];
                for (int k = i; k < in; k++) {
                    s += x[xs[ti] + k] * w[(o + oi) * in + k];
                }
                if (bias != null) {
                    s += bias[o + oi];
                }
                y[y0 + ti * yStride + o + oi] = s;
            }
        }
    }

    /** out[outOff..+n) = x / sqrt(mean(x²) + eps) * w, with the mean in float like HF's float32 path. */
    public static void rmsNorm(float[] x, int xOff, int n, float[] w, float eps, float[] out, int outOff) {
        float ss = dot(x, xOff, x, xOff, n);
        float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
        int bound = S.loopBound(n);
        int i = 0;
        FloatVector iv = FloatVector.broadcast(S, inv);
        for (; i < bound; i += LANES) {
            FloatVector.fromArray(S, x, xOff + i).mul(iv).mul(FloatVector.fromArray(S, w, i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[xOff + i] * inv * w[i];
        }
    }

    /** a[off..+n) += b[bOff..+n). */
    public static void addInPlace(float[] a, int off, float[] b, int bOff, int n) {
        int bound = S.loopBound(n);
        int i = 0;
        for (; i < bound; i += LANES) {
            FloatVector.fromArray(S, a, off + i).add(FloatVector.fromArray(S, b, bOff + i)).intoArray(a, off + i);
        }
        for (; i < n; i++) {
            a[off + i] += b[bOff + i];
        }
    }

    public static float silu(float v) {
        return v / (1f + (float) Math.exp(-v));
    }

    /** torch.nn.functional.softplus with its default threshold of 20. */
    public static float softplus(float v) {
        return v > 20f ? v : (float) Math.log1p(Math.exp(v));
    }
}
