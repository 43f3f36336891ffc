package io.flinkmamba.operator;

/** In which order each key's events advance its state. */
public enum EventOrdering {
    /** As they arrive (per key, Flink keeps the order of one upstream channel). */
    ARRIVAL,
    /** Buffered until the watermark passes them, then applied in event-time order. */
    EVENT_TIME
}
