package io.flinkmamba.connectors;

import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Writes already-encoded records to one topic, stamped as {@link RecordTimestamp} says. */
public final class EncodedRecordSerializer implements KafkaRecordSerializationSchema<EncodedRecord> {
  private static final long serialVersionUID = 1L;

  private final String topic;
  private final RecordTimestamp timestamps;

  public EncodedRecordSerializer(String topic, RecordTimestamp timestamps) {
    this.topic = topic;
    this.timestamps = timestamps;
  }

  @Override
  public ProducerRecord<byte[], byte[]> serialize(EncodedRecord record, KafkaSinkContext context, Long timestamp) {
    return new ProducerRecord<>(topic, null, timestamps.of(timestamp), record.key, record.value);
  }
}
