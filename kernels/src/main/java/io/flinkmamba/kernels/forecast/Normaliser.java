package io.flinkmamba.kernels.forecast;

/**
 * The per-key online feature normaliser (steps 1 and 3 of the forecaster's per-event math), in
 * float64. Stateless: the statistics live in the key's {@link ForecastState} or a caller's arrays.
 */
public final class Normaliser {
    private Normaliser() {
    }

    /**
     * Step 1: scale {@code s = max(sqrt(v), min_scale_rel * (1 + |m|))} and {@code z = (x - m) / s} per
     * feature, with the statistics before this event; {@code z = 0} for a key's first event (n == 0).
     * Writes F values each at {@code off} of z and scale.
     */
    public static void normalise(ForecasterConfig c, long n, double[] m, double[] v, float[] x,
                                 double[] z, double[] scale, int off) {
        for (int f = 0; f < m.length; f++) {
            double s = Math.max(Math.sqrt(v[f]), c.minScaleRel() * (1 + Math.abs(m[f])));
            scale[off + f] = s;
            z[off + f] = n == 0 ? 0.0 : (x[f] - m[f]) / s;
        }
    }

    /** Step 3: {@code a = max(alpha, 1/(n+1)); d = x - m; m += a d; v = (1-a)(v + a d^2)}; returns n + 1. */
    public static long update(ForecasterConfig c, long n, double[] m, double[] v, float[] x) {
        double a = Math.max(c.alpha(), 1.0 / (n + 1));
        for (int f = 0; f < m.length; f++) {
            double d = x[f] - m[f];
            m[f] += a * d;
            v[f] = (1 - a) * (v[f] + a * d * d);
        }
        return n + 1;
    }

    /**
     * Step 2: mean over features of the Gaussian negative log-likelihood of z under (mu, logVar),
     * {@code 0.5 (log 2 pi + logvar + (z - mu)^2 / exp(logvar))}, on the unclipped z.
     */
    public static double nll(double[] z, int zOff, float[] mu, float[] logVar) {
        double sum = 0;
        for (int f = 0; f < mu.length; f++) {
            double d = z[zOff + f] - mu[f];
            sum += 0.5 * (LOG_2PI + logVar[f] + d * d / Math.exp(logVar[f]));
        }
        return sum / mu.length;
    }

    static final double LOG_2PI = Math.log(2 * Math.PI);
}
