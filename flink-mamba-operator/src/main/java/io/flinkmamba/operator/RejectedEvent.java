package io.flinkmamba.operator;

/** An event the operator did not score, with the reason; the key's state did not advance. */
public class RejectedEvent {
    /** The key's string form. */
    public String key;
    public long eventTime;
    public String reason;
    /** The event's string form ({@code String.valueOf}). */
    public String event;

    public RejectedEvent() {
    }

    public RejectedEvent(String key, long eventTime, String reason, String event) {
        this.key = key;
        this.eventTime = eventTime;
        this.reason = reason;
        this.event = event;
    }

    @Override
    public String toString() {
        return "RejectedEvent{key=" + key + ", eventTime=" + eventTime + ", reason=" + reason + ", event=" + event + "}";
    }
}
