package io.flinkmamba.connectors;

import io.flinkmamba.connectors.avro.DeadLetter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes dead letters to the dead-letter topic: the value is the {@link DeadLetter} record (Avro
 * single-object encoding, original bytes inside), the key is the original key, and headers repeat
 * the reason and origin so a console consumer shows them without decoding Avro. Stamped as {@link
 * RecordTimestamp} says.
 */
public final class DeadLetterSerializer implements KafkaRecordSerializationSchema<DeadLetter> {
  private static final long serialVersionUID = 1L;
  public static final String REASON_HEADER = "dlq.reason";
  public static final String ORIGIN_HEADER = "dlq.origin";

  private final String topic;
  private final AvroRecordCodec<DeadLetter> codec = AvroRecordCodec.of(DeadLetter.class);
  private final RecordTimestamp timestamps;

  public DeadLetterSerializer(String topic, RecordTimestamp timestamps) {
    this.topic = topic;
    this.timestamps = timestamps;
  }

  @Override
  public ProducerRecord<byte[], byte[]> serialize(DeadLetter letter, KafkaSinkContext context, Long timestamp) {
    ProducerRecord<byte[], byte[]> record =
        new ProducerRecord<>(topic, null, timestamps.of(timestamp), bytesOf(letter.getKey()), codec.encode(letter));
    record.headers().add(REASON_HEADER, letter.getReason().getBytes(StandardCharsets.UTF_8));
    String origin = letter.getTopic() + "-" + letter.getPartition() + "@" + letter.getOffset();
    record.headers().add(ORIGIN_HEADER, origin.getBytes(StandardCharsets.UTF_8));
    return record;
  }

  private static byte[] bytesOf(ByteBuffer buffer) {
    if (buffer == null) {
      return null;
    }
    ByteBuffer view = buffer.duplicate();
    byte[] bytes = new byte[view.remaining()];
    view.get(bytes);
    return bytes;
  }

  public String topic() {
    return topic;
  }
}
