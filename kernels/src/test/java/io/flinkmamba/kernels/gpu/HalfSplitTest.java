package io.flinkmamba.kernels.gpu;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HalfSplitTest {
    @Test
    void toHalfRoundsToNearestEvenAcrossTheRange() {
        assertEquals(0x3c00, HalfSplit.toHalf(1.0f) & 0xffff);
        assertEquals(0xc000, HalfSplit.toHalf(-2.0f) & 0xffff);
        assertEquals(0x7bff, HalfSplit.toHalf(65504f) & 0xffff);
        assertEquals(0x7c00, HalfSplit.toHalf(65520f) & 0xffff);          // halfway to the next: ties to even = infinity
        assertEquals(0x7bff, HalfSplit.toHalf(65519.99f) & 0xffff);
        assertEquals(0x0001, HalfSplit.toHalf(0x1p-24f) & 0xffff);        // smallest subnormal
        assertEquals(0x0000, HalfSplit.toHalf(0x1p-25f) & 0xffff);        // a tie: to even (zero)
        assertEquals(0x0001, HalfSplit.toHalf(0x1.8p-25f) & 0xffff);
        assertEquals(0x0400, HalfSplit.toHalf(0x1p-14f) & 0xffff);        // smallest normal
        assertEquals(0x3c00, HalfSplit.toHalf(1.0f + 0x1p-11f) & 0xffff); // tie between 1 and 1 + 2^-10: even
        assertEquals(0x3c02, HalfSplit.toHalf(1.0f + 3 * 0x1p-11f) & 0xffff);
        assertTrue(Float.isNaN(HalfSplit.halfToFloat(HalfSplit.toHalf(Float.NaN))));
    }

    @Test
    void everyHalfRoundTripsAndEveryFloatRoundsToANearestHalf() {
        for (int h = 0; h < 0x10000; h++) {
            float f = HalfSplit.halfToFloat((short) h);
            if (!Float.isNaN(f)) {
                assertEquals(h, HalfSplit.toHalf(f) & 0xffff, "half " + Integer.toHexString(h));
            }
        }
        Random rnd = new Random(3);
        for (int i = 0; i < 200_000; i++) {
            float f = Math.scalb((float) rnd.nextGaussian(), rnd.nextInt(50) - 30);
            float r = HalfSplit.halfToFloat(HalfSplit.toHalf(f));
            if (Float.isInfinite(r)) {
                assertTrue(Math.abs(f) >= 65504f);
                continue;
            }
            // no half lies strictly between f and r
            float other = HalfSplit.halfToFloat((short) (HalfSplit.toHalf(f) + (Math.abs(r) < Math.abs(f) ? 1 : -1)
                    * (r == 0 ? 0 : 1)));
            assertTrue(Math.abs(f - r) <= Math.abs(f - other), f + " -> " + r + ", " + other + " is nearer");
        }
    }

    @Test
    void headPlusTailCarriesEachValueToTwoToTheMinus22OfItsRowsLargest() {
        Random rnd = new Random(5);
        int out = 7, in = 37;
        float[] w = new float[out * in];
        for (int i = 0; i < w.length; i++) {
            w[i] = Math.scalb((float) rnd.nextGaussian(), (i / in) * 9 - 30 + rnd.nextInt(12)); // rows from 2^-30 to 2^30
        }
        w[3 * in + 5] = 0;
        HalfSplit s = HalfSplit.of(w, out, in);
        int pin = HalfSplit.paddedIn(in);
        assertEquals(64, pin);
        for (int n = 0; n < out; n++) {
            float m = 0;
            for (int k = 0; k < in; k++) {
                m = Math.max(m, Math.abs(w[n * in + k]));
            }
            for (int p = 0; p < pin; p++) {
                int k = p / 16 * 16 + HalfSplit.sourceK(p % 16);
                double v = HalfSplit.halfToFloat(s.halves[n * pin + p]) + (double) HalfSplit.halfToFloat(s.halves[out * pin + n * pin + p]);
                double back = v * s.columnScale[n];
                double want = k < in ? w[n * in + k] : 0.0;
                assertTrue(Math.abs(back - want) <= m * 0x1p-22, "row " + n + " k " + k + ": " + back + " vs " + want);
            }
        }
    }

    /**
     * The kernel's arithmetic emulated on the host: an activation row scaled by row_scales' power of two and split into
     * FP16 head and tail, W from {@link HalfSplit#of} read through its permutation, the three products (tail·head,
     * head·tail, head·head) summed exactly, then the one factor 2^-c / sa. Against the float64 product of rows spanning
     * 2^-60 to 2^60 (FP16 alone holds 2^-24 to 65504), every output is within 2^-20 of the row's largest product scale.
     */
    @Test
    void theThreeHalfProductsCarryADotProductToFloat32AccuracyAtAnyScale() {
        Random rnd = new Random(9);
        int out = 5, in = 70;
        float[] w = new float[out * in];
        for (int i = 0; i < w.length; i++) {
            w[i] = Math.scalb((float) rnd.nextGaussian(), (i / in) * 7 - 14);
        }
        HalfSplit s = HalfSplit.of(w, out, in);
        int pin = HalfSplit.paddedIn(in);
        for (int row = 0; row < 25; row++) {
            float[] a = new float[in];
            float amax = 0;
            for (int k = 0; k < in; k++) {
                a[k] = Math.scalb((float) rnd.nextGaussian(), row * 5 - 60 + rnd.nextInt(8));
                amax = Math.max(amax, Math.abs(a[k]));
            }
            int c = HalfSplit.scaleExponent(amax);   // row_scales' rule
            float sa = Math.scalb(1.0f, c);
            for (int n = 0; n < out; n++) {
                double acc = 0, exact = 0, bound = 0;
                for (int p = 0; p < pin; p++) {
                    int k = p / 16 * 16 + HalfSplit.sourceK(p % 16);
                    float v = k < in ? a[k] * sa : 0f;
                    short ah = HalfSplit.toHalf(v);
                    double aHead = HalfSplit.halfToFloat(ah), aTail = HalfSplit.halfToFloat(HalfSplit.toHalf(v - (float) aHead));
                    double wHead = HalfSplit.halfToFloat(s.halves[n * pin + p]);
                    double wTail = HalfSplit.halfToFloat(s.halves[out * pin + n * pin + p]);
                    acc += aTail * wHead + aHead * wTail + aHead * wHead;
                    if (k < in) {
                        exact += (double) a[k] * w[n * in + k];
                        bound += Math.abs((double) a[k] * w[n * in + k]);
                    }
                }
                double got = (float) (acc * (s.columnScale[n] / sa));
                assertTrue(Math.abs(got - exact) <= 0x1p-20 * bound,
                        "row " + row + " output " + n + ": " + got + " vs " + exact + " (sum of |products| " + bound + ")");
            }
        }
    }

    @Test
    void thePermutationTakesEachOf16ValuesOnce() {
        boolean[] seen = new boolean[16];
        for (int p = 0; p < 16; p++) {
            seen[HalfSplit.sourceK(p)] = true;
        }
        for (boolean b : seen) {
            assertTrue(b);
        }
        assertEquals(4, HalfSplit.sourceK(2));
        assertEquals(2, HalfSplit.sourceK(8));
        assertEquals(15, HalfSplit.sourceK(15));
    }

    @Test
    void scaleExponentPutsTheLargestIn2To14Through2To15() {
        for (float m : new float[] {1f, 3.7f, 1e-20f, 1e20f, 65504f, 0x1p-130f, Float.MAX_VALUE}) {
            int c = HalfSplit.scaleExponent(m);
            double scaled = Math.scalb((double) m, c);
            assertTrue(c == 126 || (scaled >= 0x1p14 && scaled < 0x1p15), m + " -> " + c);
        }
        assertEquals(0, HalfSplit.scaleExponent(0f));
        assertEquals(0, HalfSplit.scaleExponent(Float.POSITIVE_INFINITY));
        assertEquals(0, HalfSplit.scaleExponent(Float.NaN));
    }
}
