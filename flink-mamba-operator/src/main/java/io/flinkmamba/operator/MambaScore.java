package io.flinkmamba.operator;

import java.util.Arrays;
import java.util.Objects;

/**
 * One scored event: the key, the event time, the model's output vector (the final-norm hidden state
 * after this event) and which model produced it. A POJO; its type information is built by
 * {@link MambaOperators} with the key's own type.
 */
public class MambaScore<K> {
    public K key;
    public long eventTime;
    public float[] output;
    public String modelVersion;
    public String modelFingerprint;
    /** Events this key has applied, this one included. */
    public long eventsSeen;

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
        return Objects.equals(key, s.key) && eventTime == s.eventTime && Arrays.equals(output, s.output)
                && Objects.equals(modelVersion, s.modelVersion) && Objects.equals(modelFingerprint, s.modelFingerprint)
                && eventsSeen == s.eventsSeen;
    }

    @Override
    public int hashCode() {
        return Objects.hash(key, eventTime, modelVersion, eventsSeen) * 31 + Arrays.hashCode(output);
    }

    @Override
    public String toString() {
        return "MambaScore{key=" + key + ", eventTime=" + eventTime + ", eventsSeen=" + eventsSeen + ", model="
                + modelVersion + ", output=" + Arrays.toString(output) + "}";
    }
}
