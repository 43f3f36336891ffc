package io.flinkmamba.operator;

import java.io.Serializable;

/** Turns an event into the model's input features and (optionally) its event time. */
@FunctionalInterface
public interface FeatureExtractor<IN> extends Serializable {
    /** Returned by {@link #eventTime} when the event carries none: the record's timestamp is used. */
    long NO_TIMESTAMP = Long.MIN_VALUE;

    /** The features of the event; null or the wrong length sends the event to the rejected output. */
    float[] features(IN event);

    default long eventTime(IN event) {
        return NO_TIMESTAMP;
    }
}
