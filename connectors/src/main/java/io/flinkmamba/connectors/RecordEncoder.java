package io.flinkmamba.connectors;

import io.flinkmamba.connectors.avro.DeadLetter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.function.SerializableFunction;

/**
 * Encodes records for the output topic before the sink. A record that cannot be encoded (a required
 * field left null) would fail the sink on every restart, a crash loop: it becomes a dead letter
 * instead ({@link DeadLetterSplitter#DEAD_LETTERS}), with the reason and the record's text.
 */
public final class RecordEncoder<T extends SpecificRecordBase> extends ProcessFunction<T, EncodedRecord> {
  private static final long serialVersionUID = 1L;

  private final AvroRecordCodec<T> codec;
  private final SerializableFunction<T, String> keyOf;
  private final String topic;

  public RecordEncoder(AvroRecordCodec<T> codec, SerializableFunction<T, String> keyOf, String topic) {
    this.codec = codec;
    this.keyOf = keyOf;
    this.topic = topic;
  }

  @Override
  public void processElement(T record, Context ctx, Collector<EncodedRecord> out) {
    byte[] key = null;
    try {
      String k = keyOf.apply(record);
      key = k == null ? null : k.getBytes(StandardCharsets.UTF_8);
      out.collect(new EncodedRecord(key, codec.encode(record)));
    } catch (RuntimeException e) {
      Long time = ctx.timestamp();
      ctx.output(
          DeadLetterSplitter.DEAD_LETTERS,
          DeadLetter.newBuilder()
              .setTopic(topic)
              .setPartition(-1)
              .setOffset(-1)
              .setTimestamp(time == null ? System.currentTimeMillis() : time)
              .setReason("cannot encode " + codec.recordClass().getSimpleName() + " for " + topic + ": " + e)
              .setKey(key == null ? null : ByteBuffer.wrap(key))
              .setValue(ByteBuffer.wrap(String.valueOf(record).getBytes(StandardCharsets.UTF_8)))
              .build());
    }
  }
}
