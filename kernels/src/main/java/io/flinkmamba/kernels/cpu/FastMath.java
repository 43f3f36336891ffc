package io.flinkmamba.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised exp and log1p good to float accuracy (a few ulp, see FastMathTest), and the
 * activations built on them. Java 17's lanewise EXP/LOG1P may fall back to scalar calls per lane;
 * these are plain polynomial code the JIT turns into a handful of SIMD instructions.
 *
 * <p>exp: Cody-Waite reduction x = k·ln2 + r, |r| ≤ ln2/2, Cephes' degree-6 expf polynomial, 2^k
 * built in the exponent bits. Inputs below -87.3 give 0 (true results there are subnormal), inputs
 * above 88 give exp(88) (only reached by SiLU/softplus of huge inputs, where it makes no difference).
 * log: frexp through the bits, Cephes' logf polynomial; log1p(x) = log(u)·x/(u-1) with u = 1+x
 * (Goldberg's trick, exact when u rounds to 1).
 */
public final class FastMath {
    static final VectorSpecies<Float> S = VectorMath.S;
    private static final int LANES = S.length();

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND_MAGIC = 12582912f; // 1.5 * 2^23: adding it rounds to an integer
    private static final int MAGIC_BITS = 0x4B400000;
    private static final float EXP_HI = 88f;
    private static final float EXP_LO = -87.3f;
    private static final float SQRT_HALF = 0.707106781186547524f;

    private FastMath() {
    }

    public static FloatVector exp(FloatVector x) {
        VectorMask<Float> under = x.lt(EXP_LO);
        x = x.min(EXP_HI).max(EXP_LO);
        FloatVector t = x.fma(x.broadcast(LOG2E), x.broadcast(ROUND_MAGIC));
        FloatVector k = t.sub(ROUND_MAGIC);
        FloatVector r = k.fma(x.broadcast(-LN2_HI), x);
        r = k.fma(x.broadcast(-LN2_LO), r);
        FloatVector p = r.fma(x.broadcast(1.9875691500E-4f), x.broadcast(1.3981999507E-3f));
        p = p.fma(r, x.broadcast(8.3334519073E-3f));
        p = p.fma(r, x.broadcast(4.1665795894E-2f));
        p = p.fma(r, x.broadcast(1.6666665459E-1f));
        p = p.fma(r, x.broadcast(5.0000001201E-1f));
        FloatVector e = p.fma(r.mul(r), r).add(1f);
        IntVector ki = (IntVector) t.reinterpretAsInts();
        FloatVector scale = (FloatVector) ki.sub(MAGIC_BITS - 127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return e.mul(scale).blend(0f, under);
    }

    /** log of positive normal floats (the only inputs log1p feeds it: u = 1 + x with x ≥ 0 here). */
    static FloatVector logPositive(FloatVector v) {
        IntVector bits = (IntVector) v.reinterpretAsInts();
        IntVector expo = bits.lanewise(VectorOperators.LSHR, 23).sub(126);
        // mantissa in [0.5, 1)
        FloatVector m = (FloatVector) bits.and(0x807fffff).or(0x3f000000).reinterpretAsFloats();
        FloatVector e = (FloatVector) expo.convert(VectorOperators.I2F, 0);
        VectorMask<Float> small = m.lt(SQRT_HALF);
        e = e.sub(v.broadcast(1f), small);
        FloatVector x = m.add(m.blend(0f, small.not())).sub(1f); // m < sqrt(1/2): 2m - 1, else m - 1
        FloatVector z = x.mul(x);
        FloatVector y = x.fma(x.broadcast(7.0376836292E-2f), x.broadcast(-1.1514610310E-1f));
        y = y.fma(x, x.broadcast(1.1676998740E-1f));
        y = y.fma(x, x.broadcast(-1.2420140846E-1f));
        y = y.fma(x, x.broadcast(1.4249322787E-1f));
        y = y.fma(x, x.broadcast(-1.6668057665E-1f));
        y = y.fma(x, x.broadcast(2.0000714765E-1f));
        y = y.fma(x, x.broadcast(-2.4999993993E-1f));
        y = y.fma(x, x.broadcast(3.3333331174E-1f));
        y = y.mul(x).mul(z);
        y = e.fma(x.broadcast(LN2_LO), y);
        y = z.fma(x.broadcast(-0.5f), y);
        return e.fma(x.broadcast(LN2_HI), x.add(y));
    }

    /** log(1 + x) for x ≥ 0 (finite). */
    public static FloatVector log1pNonNegative(FloatVector x) {
        FloatVector u = x.add(1f);
        VectorMask<Float> exact = u.eq(1f);
        FloatVector d = u.sub(1f).blend(1f, exact);
        return logPositive(u).mul(x).div(d).blend(x, exact);
    }

    /** SiLU: v · sigmoid(v). */
    public static FloatVector silu(FloatVector v) {
        return v.div(exp(v.neg()).add(1f));
    }

    /** torch's softplus (threshold 20): v > 20 ? v : log1p(exp(v)). */
    public static FloatVector softplus(FloatVector v) {
        FloatVector sp = log1pNonNegative(exp(v.min(20f)));
        return sp.blend(v, v.compare(VectorOperators.GT, 20f));
    }

    /** a[off..+n) = silu(a[off..+n)). */
    public static void siluInPlace(float[] a, int off, int n) {
        silu(a, off, a, off, n);
    }

    /** out[outOff..+n) = silu(a[off..+n)). */
    public static void silu(float[] a, int off, float[] out, int outOff, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += LANES) {
            silu(FloatVector.fromArray(S, a, off + i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = VectorMath.silu(a[off + i]);
        }
    }

    /**
     * out[outOff..+n) = softplus(in[inOff..+n)); in and out must not overlap. Two passes (exp, then
     * log1p), so that each loop inlines one polynomial: a loop that inlines both exceeds C2's inlining
     * budget and then every vector becomes a heap object.
     */
    public static void softplus(float[] in, int inOff, float[] out, int outOff, int n) {
        int bound = S.loopBound(n);
        int i = 0;
        for (; i < bound; i += LANES) {
            exp(FloatVector.fromArray(S, in, inOff + i).min(20f)).intoArray(out, outOff + i);
        }
        for (i = 0; i < bound; i += LANES) {
            FloatVector v = FloatVector.fromArray(S, in, inOff + i);
            log1pNonNegative(FloatVector.fromArray(S, out, outOff + i))
                    .blend(v, v.compare(VectorOperators.GT, 20f)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = VectorMath.softplus(in[inOff + i]);
        }
    }
}
