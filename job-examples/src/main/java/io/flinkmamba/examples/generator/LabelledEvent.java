package io.flinkmamba.examples.generator;

import java.util.Arrays;

/** One generated event: its stream, time, values and the ground truth about it. */
public final class LabelledEvent {
    public final String key;
    public final long timestamp;
    public final float[] values;
    /** The anomaly active at this event, or null when normal. */
    public final AnomalyKind anomaly;

    public LabelledEvent(String key, long timestamp, float[] values, AnomalyKind anomaly) {
        this.key = key;
        this.timestamp = timestamp;
        this.values = values;
        this.anomaly = anomaly;
    }

    public boolean isAnomaly() {
        return anomaly != null;
    }

    @Override
    public String toString() {
        return key + "@" + timestamp + Arrays.toString(values) + (anomaly == null ? "" : " " + anomaly);
    }
}
