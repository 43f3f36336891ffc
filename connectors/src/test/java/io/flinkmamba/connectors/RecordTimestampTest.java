package io.flinkmamba.connectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flinkmamba.connectors.avro.AnomalyScore;
import io.flinkmamba.connectors.avro.DeadLetter;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.util.Map;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.junit.jupiter.api.Test;

/**
 * The sinks' Kafka record timestamps. With the event time as the record timestamp, a broker deletes
 * committed records within minutes when the events are older than the topic's retention (issue 6:
 * the demo's generated events are from 2023); so the default is the write time.
 */
class RecordTimestampTest {
  private static final long EVENT_TIME = 1_700_000_000_000L; // 2023-11-14: far beyond a 7-day retention

  private static KafkaOptions options(Map<String, String> extra) {
    Map<String, String> settings = new java.util.HashMap<>(Map.of(
        "kafka.bootstrap-servers", "localhost:9092", "kafka.output-topic", "scores", "kafka.dead-letter-topic", "dlq"));
    settings.putAll(extra);
    return KafkaOptions.fromMap(settings, KafkaOptions.DEFAULT_PREFIX);
  }

  @SuppressWarnings("unchecked")
  private static KafkaRecordSerializationSchema<Object> serializerOf(KafkaSink<?> sink) throws Exception {
    Field field = KafkaSink.class.getDeclaredField("recordSerializer");
    field.setAccessible(true);
    return (KafkaRecordSerializationSchema<Object>) field.get(sink);
  }

  private static DeadLetter letter() {
    return DeadLetter.newBuilder().setTopic("readings").setPartition(0).setOffset(7).setTimestamp(EVENT_TIME)
        .setReason("not Avro").setKey(ByteBuffer.wrap(new byte[] {1})).setValue(ByteBuffer.wrap(new byte[] {2})).build();
  }

  @Test
  void byDefaultTheSinksLeaveTheTimestampToTheProducerSoRetentionCountsFromTheWrite() throws Exception {
    KafkaOptions options = options(Map.of());
    assertEquals(RecordTimestamp.WRITE_TIME, options.recordTimestamp());
    KafkaSink<AnomalyScore> scores =
        KafkaConnectors.recordSink(options, AvroRecordCodec.of(AnomalyScore.class), AnomalyScore::getKey, "scores");
    // null: KafkaProducer stamps the record with its own clock when it sends it
    assertNull(serializerOf(scores).serialize(Records.score("s", EVENT_TIME), null, EVENT_TIME).timestamp());
    assertNull(serializerOf(KafkaConnectors.deadLetterSink(options)).serialize(letter(), null, EVENT_TIME).timestamp());
    assertNull(new EncodedRecordSerializer("scores", options.recordTimestamp())
        .serialize(new EncodedRecord(new byte[] {1}, new byte[] {2}), null, EVENT_TIME).timestamp());
  }

  @Test
  void eventTimeStampsWhenAskedFor() throws Exception {
    KafkaOptions options = options(Map.of("kafka.record-timestamp", "event-time"));
    assertEquals(RecordTimestamp.EVENT_TIME, options.recordTimestamp());
    KafkaSink<AnomalyScore> scores =
        KafkaConnectors.recordSink(options, AvroRecordCodec.of(AnomalyScore.class), AnomalyScore::getKey, "scores");
    assertEquals(EVENT_TIME, serializerOf(scores).serialize(Records.score("s", EVENT_TIME), null, EVENT_TIME).timestamp());
    assertEquals(EVENT_TIME, serializerOf(KafkaConnectors.deadLetterSink(options)).serialize(letter(), null, EVENT_TIME).timestamp());
    assertEquals(EVENT_TIME, new EncodedRecordSerializer("scores", options.recordTimestamp())
        .serialize(new EncodedRecord(new byte[] {1}, new byte[] {2}), null, EVENT_TIME).timestamp());
    // a Flink record without a timestamp: the producer's clock
    assertNull(new EncodedRecordSerializer("scores", RecordTimestamp.EVENT_TIME)
        .serialize(new EncodedRecord(new byte[] {1}, new byte[] {2}), null, null).timestamp());
  }

  @Test
  void anUnknownChoiceIsRefusedWithTheKnownOnes() {
    assertEquals(RecordTimestamp.WRITE_TIME, options(Map.of("kafka.record-timestamp", " Write-Time ")).recordTimestamp());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> options(Map.of("kafka.record-timestamp", "log-append")));
    assertTrue(e.getMessage().contains("write-time") && e.getMessage().contains("event-time"), e.getMessage());
  }
}
