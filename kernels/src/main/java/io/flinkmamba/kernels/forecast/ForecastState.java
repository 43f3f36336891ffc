package io.flinkmamba.kernels.forecast;

import java.util.Arrays;

/**
 * Everything one key carries between events: the backbone's recurrent state, the feature
 * normaliser's running statistics, the forecast made at the last event, and the anomaly
 * calibration's score statistics. A plain mutable object: {@link ForecastScorer} advances it in
 * place; {@link ForecastStateSerializer} writes it.
 */
public final class ForecastState {
    /** The backbone's state, {@code MambaConfig.stateFloats()} floats in the core's layout. */
    public float[] backbone;
    /** Events applied to this key (the normaliser's count n). */
    public long events;
    /** Normaliser: exponentially weighted mean and variance per feature (F each). */
    public double[] mean;
    public double[] var;
    /** Forecast of the next event's normalised features, made at the last event (F each; meaningful once events > 0). */
    public float[] mu;
    public float[] logVar;
    /** Calibration: how many scores the long-run statistics have absorbed. */
    public long scores;
    /** Calibration: long-run mean and variance of the recent-window mean score. */
    public double longMean;
    public double longVar;
    /** Calibration: ring of the last scores (recentCount valid, next write at recentNext). */
    public double[] recent;
    public int recentNext;
    public int recentCount;

    public ForecastState(float[] backbone, int numFeatures, int shortWindow) {
        this.backbone = backbone;
        this.mean = new double[numFeatures];
        this.var = new double[numFeatures];
        this.mu = new float[numFeatures];
        this.logVar = new float[numFeatures];
        this.recent = new double[shortWindow];
    }

    public int numFeatures() {
        return mean.length;
    }

    public ForecastState deepCopy() {
        ForecastState c = new ForecastState(backbone == null ? null : backbone.clone(), mean.length, recent.length);
        copyInto(c);
        return c;
    }

    /** Copies everything but the backbone state into {@code c} (same shapes). */
    void copyInto(ForecastState c) {
        c.events = events;
        c.mean = mean.clone();
        c.var = var.clone();
        c.mu = mu.clone();
        c.logVar = logVar.clone();
        c.scores = scores;
        c.longMean = longMean;
        c.longVar = longVar;
        c.recent = recent.clone();
        c.recentNext = recentNext;
        c.recentCount = recentCount;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ForecastState)) {
            return false;
        }
        ForecastState s = (ForecastState) o;
        return events == s.events && scores == s.scores && Double.compare(longMean, s.longMean) == 0
                && Double.compare(longVar, s.longVar) == 0 && recentNext == s.recentNext && recentCount == s.recentCount
                && Arrays.equals(backbone, s.backbone) && Arrays.equals(mean, s.mean) && Arrays.equals(var, s.var)
                && Arrays.equals(mu, s.mu) && Arrays.equals(logVar, s.logVar) && Arrays.equals(recent, s.recent);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(events) * 31 + Arrays.hashCode(mean);
    }

    @Override
    public String toString() {
        return "ForecastState{events=" + events + ", mean=" + Arrays.toString(mean) + ", var=" + Arrays.toString(var)
                + ", mu=" + Arrays.toString(mu) + ", logVar=" + Arrays.toString(logVar) + ", scores=" + scores
                + ", longMean=" + longMean + ", longVar=" + longVar + "}";
    }
}
