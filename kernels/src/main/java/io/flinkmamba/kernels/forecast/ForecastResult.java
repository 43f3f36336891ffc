package io.flinkmamba.kernels.forecast;

import java.util.Arrays;

/** The forecaster's verdict on one event of a key (see {@link ForecastScorer}). */
public final class ForecastResult {
    /** The forecast of this event made at the key's previous event (raw units); NaN for a key's first event. */
    public final float[] forecast;
    /** Its standard deviation (raw units); NaN for a key's first event. */
    public final float[] forecastStd;
    /** Mean Gaussian negative log-likelihood of the event under the forecast (nats); 0 for a key's first event. */
    public final double score;
    /** In [0, 1]: the key's recent scores against its own long-run score distribution; 0.5 until calibrated. */
    public final double likelihood;
    /** likelihood >= threshold and the key is past warm-up. */
    public final boolean anomaly;
    /** The key has seen no more events than the warm-up count (this one included). */
    public final boolean warmingUp;
    /** Events of this key so far, this one included. */
    public final long eventsSeen;

    public ForecastResult(float[] forecast, float[] forecastStd, double score, double likelihood, boolean anomaly,
                          boolean warmingUp, long eventsSeen) {
        this.forecast = forecast;
        this.forecastStd = forecastStd;
        this.score = score;
        this.likelihood = likelihood;
        this.anomaly = anomaly;
        this.warmingUp = warmingUp;
        this.eventsSeen = eventsSeen;
    }

    /** Whether a forecast existed for this event (false only for a key's first event). */
    public boolean hasForecast() {
        return eventsSeen > 1;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ForecastResult)) {
            return false;
        }
        ForecastResult r = (ForecastResult) o;
        return Double.compare(score, r.score) == 0 && Double.compare(likelihood, r.likelihood) == 0
                && anomaly == r.anomaly && warmingUp == r.warmingUp && eventsSeen == r.eventsSeen
                && Arrays.equals(forecast, r.forecast) && Arrays.equals(forecastStd, r.forecastStd);
    }

    @Override
    public int hashCode() {
        return Double.hashCode(score) * 31 + Long.hashCode(eventsSeen);
    }

    @Override
    public String toString() {
        return "ForecastResult{eventsSeen=" + eventsSeen + ", score=" + score + ", likelihood=" + likelihood
                + ", anomaly=" + anomaly + ", warmingUp=" + warmingUp + ", forecast=" + Arrays.toString(forecast)
                + ", forecastStd=" + Arrays.toString(forecastStd) + "}";
    }
}
