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

    /**
     * Y[t, o] = Σ_i X[t, i] · W[o, i] (+ bias[o]) for {@code tokens} rows of X (row stride
     * {@code xStride}) into Y (row stride {@code yStride}), with the weight packed by {@link #pack}:
     * column panels of 2 vectors (then 1 vector, then the last few columns), each panel [in, width]
     * contiguous. Outer-product tiles of 6 tokens x 2 vectors of outputs: per input column, 2 weight
     * loads and 6 broadcasts feed 12 independent FMAs; no lane reductions, and 12 accumulators + 3
     * operands fit the 16 registers of AVX2 (then tiles of 4 tokens, then single tokens).
     *
     * <p>Tokens go in blocks of {@link #TOKEN_BLOCK}; inside a block each panel passes over all the
     * block's tokens while it sits in L1 (a panel is in x 2 vectors: 16 KB at in = 256 on AVX2, read
     * as one contiguous stream, not one page per input column), so the whole weight is read from
     * L2/L3 once per block instead of once per 4 tokens. This is what decides at large hidden sizes,
     * where the weights do not fit in L2 and the per-event step streams them from L3 for every event.
     */
    public static void gemmPacked(float[] x, int xOff, int xStride, int tokens, int in,
                                  float[] packed, int out, float[] bias, float[] y, int yOff, int yStride) {
        for (int tb = 0; tb < tokens; tb += TOKEN_BLOCK) {
            int tEnd = Math.min(tokens, tb + TOKEN_BLOCK);
            int o = 0;
            for (; o + 2 * LANES <= out; o += 2 * LANES) {
                int t = tb;
                for (; t + 6 <= tEnd; t += 6) {
                    tile6x2(x, xOff + t * xStride, xStride, in, packed, o * in, o, bias, y, yOff + t * yStride, yStride);
                }
                for (; t + 4 <= tEnd; t += 4) {
                    tile4x2(x, xOff + t * xStride, xStride, in, packed, o * in, o, bias, y, yOff + t * yStride, yStride);
                }
                for (; t < tEnd; t++) {
                    tile1x2(x, xOff + t * xStride, in, packed, o * in, o, bias, y, yOff + t * yStride);
                }
            }
            for (; o + LANES <= out; o += LANES) {
                int t = tb;
                for (; t + 4 <= tEnd; t += 4) {
                    tile4x1(x, xOff + t * xStride, xStride, in, packed, o * in, o, bias, y, yOff + t * yStride, yStride);
                }
                for (; t < tEnd; t++) {
                    tile1x1(x, xOff + t * xStride, in, packed, o * in, o, bias, y, yOff + t * yStride);
                }
            }
            int rem = out - o;
            for (int t = tb; t < tEnd && rem > 0; t++) {
                int xr = xOff + t * xStride;
                for (int j = 0; j < rem; j++) {
                    float sum = bias != null ? bias[o + j] : 0f;
                    int p = o * in + j;
                    for (int i = 0; i < in; i++) {
                        sum += x[xr + i] * packed[p + i * rem];
                    }
                    y[yOff + t * yStride + o + j] = sum;
                }
            }
        }
    }

    /** Tokens per block in {@link #gemmPacked}: the block's rows of X (up to 64 x 512 floats, 128 KB) stay in L2. */
    static final int TOKEN_BLOCK = 64;

    /**
     * The row-major [out, in] weight (PyTorch's Linear layout) packed for {@link #gemmPacked}: the
     * panel of columns [o, o + width) starts at o · in and holds [in, width], width 2 vectors while
     * they fit, then 1 vector, then what is left.
     */
    public static float[] pack(float[] w, int out, int in) {
        float[] p = new float[out * in];
        int o = 0;
        while (o < out) {
            int width = o + 2 * LANES <= out ? 2 * LANES : o + LANES <= out ? LANES : out - o;
            int base = o * in;
            for (int i = 0; i < in; i++) {
                for (int j = 0; j < width; j++) {
                    p[base + i * width + j] = w[(o + j) * in + i];
                }
            }
            o += width;
        }
        return p;
    }

    /** Inputs per partial sum in the GEMM tiles: blocked summation keeps float rounding close to the mat-vec's. */
    private static final int SUM_BLOCK = 32;

    private static void tile4x2(float[] x, int x0, int xs, int in, float[] pk, int p0, int o, float[] bias,
                                float[] y, int y0, int ys) {
        // the tile starts at the bias (or 0); each block of inputs adds its partial sums to it
        for (int k = 0; k < 4; k++) {
            int r = y0 + k * ys + o;
            for (int j = 0; j < 2 * LANES; j++) {
                y[r + j] = bias != null ? bias[o + j] : 0f;
            }
        }
        int x1 = x0 + xs, x2 = x1 + xs, x3 = x2 + xs;
        int r0 = y0 + o, r1 = r0 + ys, r2 = r1 + ys, r3 = r2 + ys;
        for (int i0 = 0; i0 < in; i0 += SUM_BLOCK) {
            int end = Math.min(in, i0 + SUM_BLOCK);
            FloatVector a00 = FloatVector.zero(S), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            for (int i = i0; i < end; i++) {
                int wi = p0 + i * 2 * LANES;
                FloatVector w0 = FloatVector.fromArray(S, pk, wi);
                FloatVector w1 = FloatVector.fromArray(S, pk, wi + LANES);
                FloatVector v = FloatVector.broadcast(S, x[x0 + i]);
                a00 = w0.fma(v, a00);
                a01 = w1.fma(v, a01);
                v = FloatVector.broadcast(S, x[x1 + i]);
                a10 = w0.fma(v, a10);
                a11 = w1.fma(v, a11);
                v = FloatVector.broadcast(S, x[x2 + i]);
                a20 = w0.fma(v, a20);
                a21 = w1.fma(v, a21);
                v = FloatVector.broadcast(S, x[x3 + i]);
                a30 = w0.fma(v, a30);
                a31 = w1.fma(v, a31);
            }
            // no branch on the vectors: a vector merging from two branches may be boxed in Java 17
            FloatVector.fromArray(S, y, r0).add(a00).intoArray(y, r0);
            FloatVector.fromArray(S, y, r0 + LANES).add(a01).intoArray(y, r0 + LANES);
            FloatVector.fromArray(S, y, r1).add(a10).intoArray(y, r1);
            FloatVector.fromArray(S, y, r1 + LANES).add(a11).intoArray(y, r1 + LANES);
            FloatVector.fromArray(S, y, r2).add(a20).intoArray(y, r2);
            FloatVector.fromArray(S, y, r2 + LANES).add(a21).intoArray(y, r2 + LANES);
            FloatVector.fromArray(S, y, r3).add(a30).intoArray(y, r3);
            FloatVector.fromArray(S, y, r3 + LANES).add(a31).intoArray(y, r3 + LANES);
        }
    }

    private static void tile6x2(float[] x, int x0, int xs, int in, float[] pk, int p0, int o, float[] bias,
                                float[] y, int y0, int ys) {
        for (int k = 0; k < 6; k++) {
            int r = y0 + k * ys + o;
            for (int j = 0; j < 2 * LANES; j++) {
                y[r + j] = bias != null ? bias[o + j] : 0f;
            }
        }
        int x1 = x0 + xs, x2 = x1 + xs, x3 = x2 + xs, x4 = x3 + xs, x5 = x4 + xs;
        int r0 = y0 + o, r1 = r0 + ys, r2 = r1 + ys, r3 = r2 + ys, r4 = r3 + ys, r5 = r4 + ys;
        for (int i0 = 0; i0 < in; i0 += SUM_BLOCK) {
            int end = Math.min(in, i0 + SUM_BLOCK);
            FloatVector a00 = FloatVector.zero(S), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            FloatVector a40 = a00, a41 = a00, a50 = a00, a51 = a00;
            for (int i = i0; i < end; i++) {
                int wi = p0 + i * 2 * LANES;
                FloatVector w0 = FloatVector.fromArray(S, pk, wi);
                FloatVector w1 = FloatVector.fromArray(S, pk, wi + LANES);
                FloatVector v = FloatVector.broadcast(S, x[x0 + i]);
                a00 = w0.fma(v, a00);
                a01 = w1.fma(v, a01);
                v = FloatVector.broadcast(S, x[x1 + i]);
                a10 = w0.fma(v, a10);
                a11 = w1.fma(v, a11);
                v = FloatVector.broadcast(S, x[x2 + i]);
                a20 = w0.fma(v, a20);
                a21 = w1.fma(v, a21);
                v = FloatVector.broadcast(S, x[x3 + i]);
                a30 = w0.fma(v, a30);
                a31 = w1.fma(v, a31);
                v = FloatVector.broadcast(S, x[x4 + i]);
                a40 = w0.fma(v, a40);
                a41 = w1.fma(v, a41);
                v = FloatVector.broadcast(S, x[x5 + i]);
                a50 = w0.fma(v, a50);
                a51 = w1.fma(v, a51);
            }
            FloatVector.fromArray(S, y, r0).add(a00).intoArray(y, r0);
            FloatVector.fromArray(S, y, r0 + LANES).add(a01).intoArray(y, r0 + LANES);
            FloatVector.fromArray(S, y, r1).add(a10).intoArray(y, r1);
            FloatVector.fromArray(S, y, r1 + LANES).add(a11).intoArray(y, r1 + LANES);
            FloatVector.fromArray(S, y, r2).add(a20).intoArray(y, r2);
            FloatVector.fromArray(S, y, r2 + LANES).add(a21).intoArray(y, r2 + LANES);
            FloatVector.fromArray(S, y, r3).add(a30).intoArray(y, r3);
            FloatVector.fromArray(S, y, r3 + LANES).add(a31).intoArray(y, r3 + LANES);
            FloatVector.fromArray(S, y, r4).add(a40).intoArray(y, r4);
            FloatVector.fromArray(S, y, r4 + LANES).add(a41).intoArray(y, r4 + LANES);
            FloatVector.fromArray(S, y, r5).add(a50).intoArray(y, r5);
            FloatVector.fromArray(S, y, r5 + LANES).add(a51).intoArray(y, r5 + LANES);
        }
    }

    private static void tile4x1(float[] x, int x0, int xs, int in, float[] pk, int p0, int o, float[] bias,
                                float[] y, int y0, int ys) {
        FloatVector b0 = bias != null ? FloatVector.fromArray(S, bias, o) : FloatVector.zero(S);
        FloatVector a0 = b0, a1 = b0, a2 = b0, a3 = b0;
        int x1 = x0 + xs, x2 = x1 + xs, x3 = x2 + xs;
        for (int i = 0; i < in; i++) {
            FloatVector w0 = FloatVector.fromArray(S, pk, p0 + i * LANES);
            a0 = w0.fma(FloatVector.broadcast(S, x[x0 + i]), a0);
            a1 = w0.fma(FloatVector.broadcast(S, x[x1 + i]), a1);
            a2 = w0.fma(FloatVector.broadcast(S, x[x2 + i]), a2);
            a3 = w0.fma(FloatVector.broadcast(S, x[x3 + i]), a3);
        }
        a0.intoArray(y, y0 + o);
        a1.intoArray(y, y0 + ys + o);
        a2.intoArray(y, y0 + 2 * ys + o);
        a3.intoArray(y, y0 + 3 * ys + o);
    }

    /** One token of a 2-vector panel (the tokens left after the 4-token tiles). */
    private static void tile1x2(float[] x, int x0, int in, float[] pk, int p0, int o, float[] bias, float[] y, int y0) {
        FloatVector a0 = bias != null ? FloatVector.fromArray(S, bias, o) : FloatVector.zero(S);
        FloatVector a1 = bias != null ? FloatVector.fromArray(S, bias, o + LANES) : FloatVector.zero(S);
        for (int i = 0; i < in; i++) {
            int wi = p0 + i * 2 * LANES;
            FloatVector v = FloatVector.broadcast(S, x[x0 + i]);
            a0 = FloatVector.fromArray(S, pk, wi).fma(v, a0);
            a1 = FloatVector.fromArray(S, pk, wi + LANES).fma(v, a1);
        }
        a0.intoArray(y, y0 + o);
        a1.intoArray(y, y0 + o + LANES);
    }

    private static void tile1x1(float[] x, int x0, int in, float[] pk, int p0, int o, float[] bias, float[] y, int y0) {
        FloatVector a0 = bias != null ? FloatVector.fromArray(S, bias, o) : FloatVector.zero(S);
        for (int i = 0; i < in; i++) {
            a0 = FloatVector.fromArray(S, pk, p0 + i * LANES).fma(FloatVector.broadcast(S, x[x0 + i]), a0);
        }
        a0.intoArray(y, y0 + o);
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
