package io.flinkmamba.operator;

import java.util.Arrays;
import java.util.Objects;

/**
 * A forecaster model's verdict on one event: the forecast it made for this event before seeing it,
 * how unlikely the event was under that forecast, and that surprise calibrated against the key's own
 * history. A Flink POJO; {@link MambaOperators#anomalyScoreType} gives its type information.
 */
public class AnomalyScore<K> {
    public K key;
    /** The event's time ({@link FeatureExtractor#NO_TIMESTAMP} when it had none). */
    public long eventTime;
    /** The event's features as extracted (raw units). */
    public float[] input;
    /** The forecast of {@link #input}, made before the event (raw units; mean per feature). */
    public float[] forecast;
    /** Standard deviation of the forecast per feature (raw units). */
    public float[] forecastStd;
    /** Negative log-likelihood of the event under the forecast: larger is more surprising. */
    public double score;
    /** In [0, 1]: how unusual the key's recent surprise is against its own long-run distribution. */
    public double anomalyLikelihood;
    /** {@link #anomalyLikelihood} at or above the configured threshold, and the key is past warm-up. */
    public boolean isAnomaly;
    /** The key has seen fewer events than the warm-up count: its likelihood is not yet calibrated. */
    public boolean warmingUp;
    public String modelVersion;
    public String modelFingerprint;
    /** Events this key has had scored, this one included. */
    public long eventsSeen;

    public AnomalyScore() {
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof AnomalyScore)) {
            return false;
        }
        AnomalyScore<?> s = (AnomalyScore<?>) o;
        return eventTime == s.eventTime && eventsSeen == s.eventsSeen && isAnomaly == s.isAnomaly
                && warmingUp == s.warmingUp && Double.compare(score, s.score) == 0
                && Double.compare(anomalyLikelihood, s.anomalyLikelihood) == 0 && Objects.equals(key, s.key)
                && Arrays.equals(input, s.input) && Arrays.equals(forecast, s.forecast)
                && Arrays.equals(forecastStd, s.forecastStd) && Objects.equals(modelVersion, s.modelVersion)
                && Objects.equals(modelFingerprint, s.modelFingerprint);
    }

    @Override
    public int hashCode() {
        return Objects.hash(key, eventTime, eventsSeen, modelVersion, score);
    }

    @Override
    public String toString() {
        return "AnomalyScore{key=" + key + ", eventTime=" + eventTime + ", eventsSeen=" + eventsSeen
                + ", score=" + score + ", likelihood=" + anomalyLikelihood + ", isAnomaly=" + isAnomaly
                + ", warmingUp=" + warmingUp + ", modelVersion=" + modelVersion + "}";
    }
}
