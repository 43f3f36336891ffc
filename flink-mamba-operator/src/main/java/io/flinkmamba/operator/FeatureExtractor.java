package io.flinkmamba.operator;

import java.io.Serializable;

/**
 * Turns an event into the features the model consumes and tells its event time.
 *
 * <p>Returning {@code null} (missing features) or throwing routes the event to the rejected side
 * output with the reason; the key's state does not advance.
 */
@FunctionalInterface
public interface FeatureExtractor<IN> extends Serializable {
    /** Sentinel of Flink's {@code StreamRecord}s without a timestamp. */
    long NO_TIMESTAMP = Long.MIN_VALUE;

    float[] features(IN event);

    /**
     * The event's time; by default the timestamp Flink attached to the record
     * ({@link #NO_TIMESTAMP} when none). Override to read it from the event itself.
     */
    default long eventTime(IN event, long recordTimestamp) {
        return recordTimestamp;
    }
}
