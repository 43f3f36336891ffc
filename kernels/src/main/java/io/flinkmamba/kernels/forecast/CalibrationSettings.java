package io.flinkmamba.kernels.forecast;

import java.io.Serializable;

/**
 * How the per-key anomaly likelihood is calibrated: the short window of recent scores, the long-run
 * adaptation rate, the warm-up count and the threshold for {@code isAnomaly}. Immutable.
 */
public final class CalibrationSettings implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final int DEFAULT_SHORT_WINDOW = 3;
    public static final double DEFAULT_LONG_ALPHA = 0.002;
    public static final int DEFAULT_WARMUP_EVENTS = 100;
    public static final double DEFAULT_THRESHOLD = 0.999;

    public static final CalibrationSettings DEFAULT = new CalibrationSettings(DEFAULT_SHORT_WINDOW, DEFAULT_LONG_ALPHA,
            DEFAULT_WARMUP_EVENTS, DEFAULT_THRESHOLD);

    private final int shortWindow;
    private final double longAlpha;
    private final int warmupEvents;
    private final double threshold;

    public CalibrationSettings(int shortWindow, double longAlpha, int warmupEvents, double threshold) {
        if (shortWindow < 1 || shortWindow > 1024) {
            throw new IllegalArgumentException("short window must be in [1, 1024], got " + shortWindow);
        }
        if (!(longAlpha > 0 && longAlpha < 1)) {
            throw new IllegalArgumentException("long-run alpha must be in (0, 1), got " + longAlpha);
        }
        if (warmupEvents < 0) {
            throw new IllegalArgumentException("warm-up events must be >= 0, got " + warmupEvents);
        }
        if (!(threshold > 0 && threshold < 1)) {
            throw new IllegalArgumentException("anomaly threshold must be in (0, 1), got " + threshold);
        }
        this.shortWindow = shortWindow;
        this.longAlpha = longAlpha;
        this.warmupEvents = warmupEvents;
        this.threshold = threshold;
    }

    public CalibrationSettings withThreshold(double t) {
        return new CalibrationSettings(shortWindow, longAlpha, warmupEvents, t);
    }

    public CalibrationSettings withWarmupEvents(int n) {
        return new CalibrationSettings(shortWindow, longAlpha, n, threshold);
    }

    public CalibrationSettings withShortWindow(int w) {
        return new CalibrationSettings(w, longAlpha, warmupEvents, threshold);
    }

    public int shortWindow() { return shortWindow; }
    public double longAlpha() { return longAlpha; }
    public int warmupEvents() { return warmupEvents; }
    public double threshold() { return threshold; }

    @Override
    public String toString() {
        return "shortWindow=" + shortWindow + ", longAlpha=" + longAlpha + ", warmupEvents=" + warmupEvents
                + ", threshold=" + threshold;
    }
}
