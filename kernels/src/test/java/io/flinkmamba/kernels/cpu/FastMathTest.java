package io.flinkmamba.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The vectorised exp / log1p / SiLU / softplus against Java's double-precision functions. */
class FastMathTest {
    private static final int L = FastMath.S.length();

    /** Max error in units of the float result's ulp over a dense sweep of [lo, hi]. */
    private static double maxUlp(UnaryOperator<FloatVector> f, DoubleUnaryOperator ref, float lo, float hi, int points) {
        float[] in = new float[L], out = new float[L];
        double worst = 0;
        for (int i = 0; i < points; i += L) {
            for (int j = 0; j < L; j++) {
                in[j] = lo + (hi - lo) * (float) ((double) (i + j) / points);
            }
            f.apply(FloatVector.fromArray(FastMath.S, in, 0)).intoArray(out, 0);
            for (int j = 0; j < L; j++) {
                double expected = ref.applyAsDouble(in[j]);
                double err = Math.abs(out[j] - expected) / Math.ulp((float) expected);
                if (!(err <= worst)) {
                    worst = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err;
                }
            }
        }
        return worst;
    }

    @Test
    void expIsWithinTwoUlpOverTheNormalRange() {
        assertTrue(maxUlp(FastMath::exp, Math::exp, -87f, 88f, 2_000_000) <= 2.0);
        assertTrue(maxUlp(FastMath::exp, Math::exp, -1f, 1f, 200_000) <= 2.0);
    }

    @Test
    void expEdges() {
        float[] in = new float[L], out = new float[L];
        float[] probes = {0f, -0f, -100f, -1e30f, Float.NEGATIVE_INFINITY, 1e-30f, -1e-30f, 88f, Float.NaN};
        for (float p : probes) {
            java.util.Arrays.fill(in, p);
            FastMath.exp(FloatVector.fromArray(FastMath.S, in, 0)).intoArray(out, 0);
            if (Float.isNaN(p)) {
                assertTrue(Float.isNaN(out[0]), "exp(NaN)");
            } else if (p < -87.3f) {
                assertEquals(0f, out[0], "exp(" + p + ")");
            } else {
                assertEquals((float) Math.exp(p), out[0], 2 * Math.ulp((float) Math.exp(p)), "exp(" + p + ")");
            }
        }
    }

    @Test
    void log1pIsWithinThreeUlp() {
        assertTrue(maxUlp(FastMath::log1pNonNegative, Math::log1p, 0f, 1f, 1_000_000) <= 3.0);
        assertTrue(maxUlp(FastMath::log1pNonNegative, Math::log1p, 0f, 1e-4f, 200_000) <= 3.0);
        assertTrue(maxUlp(FastMath::log1pNonNegative, Math::log1p, 1f, 1e30f, 1_000_000) <= 3.0);
    }

    @Test
    void siluAndSoftplusMatchTheirDefinitions() {
        DoubleUnaryOperator silu = v -> v / (1 + Math.exp(-v));
        DoubleUnaryOperator softplus = v -> v > 20 ? v : Math.log1p(Math.exp(v));
        assertTrue(maxUlp(FastMath::silu, silu, -80f, 80f, 1_000_000) <= 4.0);
        assertTrue(maxUlp(FastMath::softplus, softplus, -80f, 40f, 1_000_000) <= 4.0);
    }

    @Test
    void arrayFormsCoverTheScalarTail() {
        int n = 3 * L + 3;
        float[] a = new float[n + 2], b = new float[n + 2];
        for (int i = 0; i < a.length; i++) {
            a[i] = b[i] = (i - n / 2f) * 2.1f;
        }
        FastMath.siluInPlace(a, 1, n);
        float[] sp = new float[n + 2];
        FastMath.softplus(b, 1, sp, 1, n);
        assertEquals(-(n / 2f) * 2.1f, a[0], "before the range untouched");
        for (int i = 1; i <= n; i++) {
            float v = (i - n / 2f) * 2.1f;
            assertEquals(v / (1 + Math.exp(-v)), a[i], 1e-6 * Math.max(1, Math.abs(v)), "silu at " + i);
            assertEquals(v > 20 ? v : Math.log1p(Math.exp(v)), sp[i], 1e-6 * Math.max(1, Math.abs(v)), "softplus at " + i);
        }
        assertEquals((n + 1 - n / 2f) * 2.1f, a[n + 1], "after the range untouched");
    }
}
