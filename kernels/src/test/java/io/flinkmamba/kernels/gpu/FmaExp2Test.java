package io.flinkmamba.kernels.gpu;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * mamba.cu's exp2_fma (2^x on the FMA pipe, for the scan variants scan_*_px*) step for step in float32: the rounding
 * trick, the degree-5 polynomial's coefficients and the exponent add. Runs everywhere (no device).
 */
class FmaExp2Test {
    /** The kernel's steps: fmaxf, two rounded adds, Horner by fmaf, the integer add into the exponent bits. */
    static float exp2Fma(float x) {
        x = Math.max(x, -125.0f);
        float t = x + 12582912.0f;
        float f = x - (t - 12582912.0f);
        float p = Math.fma(f, 1.3276471e-3f, 9.6755410e-3f);
        p = Math.fma(p, f, 5.5507131e-2f);
        p = Math.fma(p, f, 0.24022120f);
        p = Math.fma(p, f, 0.69314694f);
        p = Math.fma(p, f, 1.0000001f);
        return Float.intBitsToFloat(Float.floatToRawIntBits(p) + (Float.floatToRawIntBits(t) << 23));
    }

    @Test
    void relativeErrorStaysAtEx2ApproxsOrderOverTheDecaysRange() {
        double worst = 0;
        for (int i = 0; i <= 2_000_000; i++) { // [-125, 0] every 2^-14 or so, and the integers and half-integers exactly
            float x = -125.0f * i / 2_000_000;
            worst = Math.max(worst, Math.abs(exp2Fma(x) / Math.pow(2, x) - 1));
        }
        Random rnd = new Random(7);
        for (int i = 0; i < 1_000_000; i++) {
            float x = -rnd.nextFloat() * (rnd.nextBoolean() ? 1f : 125f);
            worst = Math.max(worst, Math.abs(exp2Fma(x) / Math.pow(2, x) - 1));
        }
        for (int j = 0; j >= -125; j--) {
            for (float d : new float[] {0f, 0.5f, -0.5f, 0.25f, -0.25f}) {
                float x = Math.min(0f, Math.max(-125f, j + d));
                worst = Math.max(worst, Math.abs(exp2Fma(x) / Math.pow(2, x) - 1));
            }
        }
        assertTrue(worst <= 2.2e-7, "largest relative error " + worst);
        assertEquals(1.0f, exp2Fma(0f), 2e-7f);
        assertEquals(0.5f, exp2Fma(-1f), 1e-7f);
    }

    @Test
    void belowTheRangeItGivesANormalFloatOfAtMostTwoToTheMinus125() {
        for (float x : new float[] {-125.4f, -126f, -150f, -1e6f, Float.NEGATIVE_INFINITY, -Float.MAX_VALUE}) {
            float v = exp2Fma(x);
            assertTrue(v > 0 && v >= Float.MIN_NORMAL && v <= Math.scalb(1.0f, -125) * 1.0000003f, x + " -> " + v);
        }
    }
}
