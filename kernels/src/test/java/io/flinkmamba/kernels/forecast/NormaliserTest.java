package io.flinkmamba.kernels.forecast;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class NormaliserTest {
    static final ForecasterConfig C = new ForecasterConfig(2, List.of("a", "b"), "t", 0.05, 1e-3, 10, -9, 6);

    /**
     * The recursion weighs every past event: at each step old weights shrink by (1 - a) and the new
     * event gets a. Mean and variance must equal the weighted mean and weighted population variance
     * computed directly from those weights.
     */
    @Test
    void statisticsEqualTheDirectlyWeightedMeanAndVariance() {
        Random rnd = new Random(1);
        long n = 0;
        double[] m = new double[2], v = new double[2];
        List<float[]> xs = new ArrayList<>();
        List<Double> w = new ArrayList<>();
        for (int t = 0; t < 300; t++) {
            float[] x = {(float) (5 + 2 * rnd.nextGaussian()), (float) (-100 + 0.1 * rnd.nextGaussian())};
            double a = Math.max(C.alpha(), 1.0 / (t + 1));
            for (int i = 0; i < w.size(); i++) {
                w.set(i, w.get(i) * (1 - a));
            }
            w.add(a);
            xs.add(x);
            n = Normaliser.update(C, n, m, v, x);
            for (int f = 0; f < 2; f++) {
                double mean = 0;
                for (int i = 0; i < xs.size(); i++) {
                    mean += w.get(i) * xs.get(i)[f];
                }
                double var = 0;
                for (int i = 0; i < xs.size(); i++) {
                    double d = xs.get(i)[f] - mean;
                    var += w.get(i) * d * d;
                }
                assertEquals(mean, m[f], 1e-9 * (1 + Math.abs(mean)), "mean at " + t);
                assertEquals(var, v[f], 1e-9 * (1 + var), "var at " + t);
            }
        }
        assertEquals(300, n);
    }

    @Test
    void firstEventsAreThePlainMeanAndPopulationVariance() {
        double[] m = new double[2], v = new double[2];
        float[][] xs = {{1, 10}, {2, 10}, {6, 10}};
        long n = 0;
        for (float[] x : xs) {
            n = Normaliser.update(C, n, m, v, x);
        }
        assertEquals(3.0, m[0], 1e-12);
        assertEquals((4 + 1 + 9) / 3.0, v[0], 1e-12);
        assertEquals(10.0, m[1], 1e-12);
        assertEquals(0.0, v[1], 1e-12);
    }

    @Test
    void zUsesTheScaleFloorAndIsZeroForTheFirstEvent() {
        double[] z = new double[2], s = new double[2];
        Normaliser.normalise(C, 0, new double[2], new double[2], new float[] {7, 8}, z, s, 0);
        assertEquals(0.0, z[0]);
        assertEquals(0.0, z[1]);
        // constant second feature: variance 0, the floor min_scale_rel * (1 + |m|) applies
        Normaliser.normalise(C, 3, new double[] {3, 10}, new double[] {4, 0}, new float[] {7, 10.5f}, z, s, 0);
        assertEquals(2.0, s[0], 1e-12);
        assertEquals(2.0, z[0], 1e-12);
        assertEquals(1e-3 * 11, s[1], 1e-12);
        assertEquals(0.5 / (1e-3 * 11), z[1], 1e-6);
    }

    @Test
    void nllIsTheMeanGaussianNegativeLogLikelihood() {
        double[] z = {1.5, -2};
        float[] mu = {0.5f, 0f};
        float[] lv = {0f, (float) Math.log(4)};
        double f0 = 0.5 * Math.log(2 * Math.PI) + 0.5 * 1.0;
        double f1 = 0.5 * Math.log(2 * Math.PI * 4) + 0.5 * 4 / 4;
        assertEquals((f0 + f1) / 2, Normaliser.nll(z, 0, mu, lv), 1e-6);
    }
}
