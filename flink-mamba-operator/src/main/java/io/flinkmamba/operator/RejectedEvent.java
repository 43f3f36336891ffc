package io.flinkmamba.operator;

/** An event the operator did not apply, with the reason; the key's state did not advance. A POJO. */
public class RejectedEvent<IN> {
    public String key;
    public long eventTime;
    public String reason;
    public IN event;

    public RejectedEvent() {
    }

    public RejectedEvent(String key, long eventTime, String reason, IN event) {
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
