package io.flinkmamba.connectors;

import java.util.Locale;

/**
 * The timestamp the sinks give the Kafka records they write ({@code kafka.record-timestamp}).
 *
 * <p>A topic's time-based retention ({@code retention.ms}, 7 days by default) and segment rolling
 * ({@code segment.ms}) go by the record timestamps: a broker deletes a whole segment at its next
 * retention check (every 5 minutes by default) once the newest timestamp in it is older than the
 * retention. Records stamped with their event time therefore vanish within minutes of being written
 * when the events are older than the retention (a backfill, a replay, generated data), even after
 * their transaction was committed. The event time is in the record's value anyway.
 */
public enum RecordTimestamp {
  /** The time the record is written (the producer's clock): retention counts from the write. The default. */
  WRITE_TIME,
  /** The event time of the Flink record: for topics whose retention should follow event time. */
  EVENT_TIME;

  /** The option's value as written in a configuration: {@code write-time} or {@code event-time}. */
  public String value() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  public static RecordTimestamp parse(String value) {
    for (RecordTimestamp t : values()) {
      if (t.value().equals(value.trim().toLowerCase(Locale.ROOT))) {
        return t;
      }
    }
    throw new IllegalArgumentException(
        "unknown record timestamp '" + value + "'; known: " + WRITE_TIME.value() + ", " + EVENT_TIME.value());
  }

  /** The timestamp for a Kafka record of a Flink record whose timestamp is {@code eventTime} (may be null). */
  public Long of(Long eventTime) {
    return this == EVENT_TIME ? eventTime : null;
  }
}
