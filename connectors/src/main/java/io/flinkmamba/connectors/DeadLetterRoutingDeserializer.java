package io.flinkmamba.connectors;

import io.flinkmamba.connectors.avro.DeadLetter;
import java.nio.ByteBuffer;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Kafka source deserializer that never fails on bad bytes: each record becomes either the decoded
 * value (Right) or a {@link DeadLetter} (Left) carrying the topic, partition, offset, timestamp, the
 * reason and the original key and value bytes. {@link DeadLetterSplitter} separates the two.
 */
public final class DeadLetterRoutingDeserializer<T extends SpecificRecordBase>
    implements KafkaRecordDeserializationSchema<Either<DeadLetter, T>> {
  private static final long serialVersionUID = 1L;

  private final AvroRecordCodec<T> codec;

  public DeadLetterRoutingDeserializer(AvroRecordCodec<T> codec) {
    this.codec = codec;
  }

  @Override
  public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<Either<DeadLetter, T>> out) {
    out.collect(decode(record));
  }

  /** Decoded value or dead letter of one Kafka record. */
  public Either<DeadLetter, T> decode(ConsumerRecord<byte[], byte[]> record) {
    try {
      return Either.Right(codec.decode(record.value()));
    } catch (DecodingException e) {
      return Either.Left(deadLetter(record, e.getMessage()));
    }
  }

  static DeadLetter deadLetter(ConsumerRecord<byte[], byte[]> record, String reason) {
    return DeadLetter.newBuilder()
        .setTopic(record.topic())
        .setPartition(record.partition())
        .setOffset(record.offset())
        .setTimestamp(record.timestamp())
        .setReason(reason)
        .setKey(record.key() == null ? null : ByteBuffer.wrap(record.key()))
        .setValue(record.value() == null ? null : ByteBuffer.wrap(record.value()))
        .build();
  }

  @Override
  public TypeInformation<Either<DeadLetter, T>> getProducedType() {
    return new EitherTypeInfo<>(new AvroTypeInfo<>(DeadLetter.class), new AvroTypeInfo<>(codec.recordClass()));
  }
}
