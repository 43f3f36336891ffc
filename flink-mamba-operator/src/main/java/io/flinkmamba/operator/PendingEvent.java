package io.flinkmamba.operator;

/** A validated event waiting in keyed state (micro-batch buffer or event-time ordering buffer). */
public final class PendingEvent {
    public final long eventTime;
    /** The model input: hidden_size finite floats. */
    public final float[] input;

    public PendingEvent(long eventTime, float[] input) {
        this.eventTime = eventTime;
        this.input = input;
    }
}
