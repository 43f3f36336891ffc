package io.flinkmamba.connectors;

import java.nio.charset.StandardCharsets;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes records to one topic in Avro single-object encoding, keyed by the stream key (UTF-8), so all
 * of a key's records land in one partition and keep their order there; stamped as {@link
 * RecordTimestamp} says.
 */
public final class AvroRecordSerializer<T extends SpecificRecordBase> implements KafkaRecordSerializationSchema<T> {
  private static final long serialVersionUID = 1L;

  private final String topic;
  private final AvroRecordCodec<T> codec;
  private final SerializableFunction<T, String> keyOf;
  private final RecordTimestamp timestamps;

  public AvroRecordSerializer(
      String topic, AvroRecordCodec<T> codec, SerializableFunction<T, String> keyOf, RecordTimestamp timestamps) {
    this.topic = topic;
    this.codec = codec;
    this.keyOf = keyOf;
    this.timestamps = timestamps;
  }

  @Override
  public ProducerRecord<byte[], byte[]> serialize(T element, KafkaSinkContext context, Long timestamp) {
    String key = keyOf.apply(element);
    return new ProducerRecord<>(
        topic, null, timestamps.of(timestamp), key == null ? null : key.getBytes(StandardCharsets.UTF_8), codec.encode(element));
  }

  public String topic() {
    return topic;
  }
}
