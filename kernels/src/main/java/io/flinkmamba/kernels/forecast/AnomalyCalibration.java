package io.flinkmamba.kernels.forecast;

/**
 * Turns a key's per-event scores (negative log-likelihoods) into an anomaly likelihood in [0, 1], in
 * the spirit of Numenta's anomaly likelihood: the mean of the key's last few scores (the short
 * window) is compared with the long-run distribution of that same windowed mean, kept per key as an
 * exponentially weighted mean and variance. The likelihood is the Gaussian CDF of the standardised
 * difference: 0.5 for a typical window, near 1 when recent surprise is far above what this key usually
 * shows. What counts as usual is learnt per key, so a noisy stream and a quiet one are judged each
 * against itself.
 *
 * <p>The long-run statistics absorb each windowed mean after it was judged, winsorised at
 * {@value #CLIP_SIGMAS} standard deviations above the long-run mean once {@value #MIN_SCORES_TO_CLIP}
 * scores were seen, so that one burst of anomalies does not teach the key that anomalies are normal.
 */
public final class AnomalyCalibration {
    /** Windowed means above longMean + CLIP_SIGMAS sd enter the long-run statistics at that bound. */
    static final double CLIP_SIGMAS = 4.0;
    static final long MIN_SCORES_TO_CLIP = 10;
    /**
     * Scores of a key's first events are not calibrated: its normaliser has seen too little, so they
     * are huge and say nothing about the stream. Their likelihood is 0.5.
     */
    public static final long SETTLE_EVENTS = 10;
    /** Floor of the long-run standard deviation (nats): a perfectly predictable stream is not infinitely sensitive. */
    static final double MIN_SD = 0.01;

    private AnomalyCalibration() {
    }

    /**
     * Adds the score of the key's event number {@code eventIndex} (0-based) to its calibration state and
     * returns the likelihood of the recent window.
     */
    public static double observe(CalibrationSettings c, ForecastState s, long eventIndex, double score) {
        if (eventIndex < SETTLE_EVENTS) {
            return 0.5;
        }
        return observe(c, s, score);
    }

    /** Adds one score to the key's calibration state and returns the likelihood of the recent window. */
    public static double observe(CalibrationSettings c, ForecastState s, double score) {
        if (s.recent.length != c.shortWindow()) {
            // the window was reconfigured since this state was written: restart the window, keep the long run
            s.recent = new double[c.shortWindow()];
            s.recentNext = 0;
            s.recentCount = 0;
        }
        s.recent[s.recentNext] = score;
        s.recentNext = (s.recentNext + 1) % s.recent.length;
        s.recentCount = Math.min(s.recentCount + 1, s.recent.length);
        double sum = 0;
        for (int i = 0; i < s.recentCount; i++) {
            sum += s.recent[i];
        }
        double windowMean = sum / s.recentCount;

        double sd = Math.max(Math.sqrt(s.longVar), MIN_SD);
        double likelihood = s.scores < 2 ? 0.5 : normalCdf((windowMean - s.longMean) / sd);

        double a = Math.max(c.longAlpha(), 1.0 / (s.scores + 1));
        double absorbed = s.scores >= MIN_SCORES_TO_CLIP ? Math.min(windowMean, s.longMean + CLIP_SIGMAS * sd) : windowMean;
        double d = absorbed - s.longMean;
        s.longMean += a * d;
        s.longVar = (1 - a) * (s.longVar + a * d * d);
        s.scores++;
        return likelihood;
    }

    /** Standard normal CDF, accurate in the upper tail (where thresholds live) through erfc. */
    public static double normalCdf(double x) {
        if (Double.isNaN(x)) {
            return 0.5;
        }
        return 1.0 - 0.5 * erfc(x / Math.sqrt(2));
    }

    /** Complementary error function, fractional error below 1.2e-7 everywhere (Chebyshev fit, Numerical Recipes). */
    static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2.0 - r;
    }
}
