package io.flinkmamba.operator;

/** The order in which a key's events advance its state. */
public enum Ordering {
    /** As they arrive (per key, Flink keeps the order of one input channel). */
    ARRIVAL,
    /** By event time: held until the watermark passes event time + allowed lateness. */
    EVENT_TIME
}
