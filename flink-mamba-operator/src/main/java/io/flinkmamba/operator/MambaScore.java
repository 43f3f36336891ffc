package io.flinkmamba.operator;

import java.util.Arrays;
import java.util.Objects;

/**
 * The model's output for one event: the final-norm output vector after the key's state advanced by
 * this event. A Flink POJO; {@link MambaOperators#scoreType} gives its type information for a key type.
 */
public class MambaScore<K> {
    public K key;
    /** The event's time ({@link FeatureExtractor#NO_TIMESTAMP} when it had none). */
    public long eventTime;
    /** hidden_size floats. */
    public float[] output;
    public String modelVersion;
    public String modelFingerprint;
    /** Events that advanced this key's state, this one included (restarts at a reset; replayed events count). */
    public long eventsSeen;
    /** The key's state has advanced through at most {@code mamba.score.warmup-events} events (0: never set). */
    public boolean warmingUp;

    public MambaScore() {
    }

    public MambaScore(K key, long eventTime, float[] output, String modelVersion, String modelFingerprint, long eventsSeen) {
        this.key = key;
        this.eventTime = eventTime;
        this.output = output;
        this.modelVersion = modelVersion;
        this.modelFingerprint = modelFingerprint;
        this.eventsSeen = eventsSeen;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof MambaScore)) {
            return false;
        }
        MambaScore<?> s = (MambaScore<?>) o;
        return eventTime == s.eventTime && eventsSeen == s.eventsSeen && warmingUp == s.warmingUp && Objects.equals(key, s.key)
                && Arrays.equals(output, s.output) && Objects.equals(modelVersion, s.modelVersion)
                && Objects.equals(modelFingerprint, s.modelFingerprint);
    }

    @Override
    public int hashCode() {
        return Objects.hash(key, eventTime, eventsSeen, modelVersion) * 31 + Arrays.hashCode(output);
    }

    @Override
    public String toString() {
        return "MambaScore{key=" + key + ", eventTime=" + eventTime + ", eventsSeen=" + eventsSeen
                + ", modelVersion=" + modelVersion + ", warmingUp=" + warmingUp + ", output[" + (output == null ? 0 : output.length) + "]}";
    }
}
