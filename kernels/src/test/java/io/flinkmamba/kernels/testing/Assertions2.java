package io.flinkmamba.kernels.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Relative L2 error checks used across the numeric tests. */
public final class Assertions2 {
    private Assertions2() {
    }

    public static double relL2(float[] got, int gotOff, double[] exp, int expOff, int n) {
        double num = 0, den = 0;
        for (int i = 0; i < n; i++) {
            double diff = got[gotOff + i] - exp[expOff + i];
            num += diff * diff;
            den += exp[expOff + i] * exp[expOff + i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    public static double relL2(float[] got, float[] exp) {
        double[] e = new double[exp.length];
        for (int i = 0; i < e.length; i++) {
            e[i] = exp[i];
        }
        return relL2(got, 0, e, 0, exp.length);
    }

    public static void assertClose(float[] got, float[] exp, double tol, String what) {
        assertTrue(got.length >= exp.length, what + ": length " + got.length + " < " + exp.length);
        double err = relL2(got, exp);
        assertTrue(err <= tol, what + ": relative L2 error " + err + " > " + tol);
    }

    public static void assertClose(float[] got, int gotOff, double[] exp, int expOff, int n, double tol, String what) {
        double err = relL2(got, gotOff, exp, expOff, n);
        assertTrue(err <= tol, what + ": relative L2 error " + err + " > " + tol);
    }
}
