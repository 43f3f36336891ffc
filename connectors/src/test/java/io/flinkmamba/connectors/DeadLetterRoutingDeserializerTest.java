package io.flinkmamba.connectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flinkmamba.connectors.avro.DeadLetter;
import io.flinkmamba.connectors.avro.SensorReading;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

class DeadLetterRoutingDeserializerTest {
  private final AvroRecordCodec<SensorReading> codec = AvroRecordCodec.of(SensorReading.class);
  private final DeadLetterRoutingDeserializer<SensorReading> deserializer = new DeadLetterRoutingDeserializer<>(codec);
  private final byte[] good = codec.encode(Records.reading("pump-1", 1000L, 1.0, 2.0, 3.0));

  private static ConsumerRecord<byte[], byte[]> record(byte[] key, byte[] value) {
    return new ConsumerRecord<>(
        "readings", 4, 1234L, 1_700_000_000_000L, TimestampType.CREATE_TIME,
        key == null ? -1 : key.length, value == null ? -1 : value.length, key, value,
        new RecordHeaders(), Optional.empty());
  }

  /** Deserializes through the Collector interface the Kafka source uses; exactly one element out. */
  private Either<DeadLetter, SensorReading> deserialize(byte[] key, byte[] value) throws Exception {
    List<Either<DeadLetter, SensorReading>> out = new ArrayList<>();
    deserializer.deserialize(record(key, value), new Collector<>() {
      @Override
      public void collect(Either<DeadLetter, SensorReading> element) {
        out.add(element);
      }

      @Override
      public void close() {}
    });
    assertEquals(1, out.size(), "one element per Kafka record");
    return out.get(0);
  }

  /** Asserts a dead letter naming {@code reasonPart}, with origin and the original bytes unchanged. */
  private DeadLetter assertDeadLetter(byte[] key, byte[] value, String reasonPart) throws Exception {
    Either<DeadLetter, SensorReading> result = deserialize(key, value);
    assertTrue(result.isLeft(), "expected a dead letter for " + Arrays.toString(value));
    DeadLetter letter = result.left();
    assertTrue(letter.getReason().contains(reasonPart), "reason was: " + letter.getReason());
    assertEquals("readings", letter.getTopic());
    assertEquals(4, letter.getPartition());
    assertEquals(1234L, letter.getOffset());
    assertEquals(1_700_000_000_000L, letter.getTimestamp());
    assertArrayEquals(key, bytes(letter.getKey()));
    assertArrayEquals(value, bytes(letter.getValue()));
    return letter;
  }

  private static byte[] bytes(ByteBuffer buffer) {
    if (buffer == null) {
      return null;
    }
    ByteBuffer view = buffer.duplicate();
    byte[] bytes = new byte[view.remaining()];
    view.get(bytes);
    return bytes;
  }

  private static byte[] key(String key) {
    return key.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void goodRecordIsDecoded() throws Exception {
    Either<DeadLetter, SensorReading> result = deserialize(key("pump-1"), good);
    assertTrue(result.isRight());
    assertEquals(Records.reading("pump-1", 1000L, 1.0, 2.0, 3.0), result.right());
  }

  @Test
  void garbageBytes() throws Exception {
    assertDeadLetter(key("k"), "hello, not avro at all".getBytes(StandardCharsets.UTF_8),
        "not Avro single-object encoding: starts with 0x68 0x65");
  }

  @Test
  void tooShortForTheHeader() throws Exception {
    assertDeadLetter(key("k"), new byte[] {(byte) 0xC3, 0x01, 5}, "too short for Avro single-object encoding: 3 bytes");
  }

  @Test
  void truncatedRecord() throws Exception {
    assertDeadLetter(key("pump-1"), Arrays.copyOf(good, good.length - 5), "truncated");
  }

  @Test
  void trailingBytes() throws Exception {
    byte[] longer = Arrays.copyOf(good, good.length + 3);
    assertDeadLetter(key("pump-1"), longer, "bytes left over");
  }

  @Test
  void unknownFingerprint() throws Exception {
    byte[] value = good.clone();
    value[5] ^= 0x5a;
    assertDeadLetter(key("pump-1"), value, "unknown writer schema fingerprint");
  }

  @Test
  void wrongSchemaIsNamed() throws Exception {
    byte[] trade = AvroRecordCodec.of(io.flinkmamba.connectors.avro.TradeTick.class)
        .encode(Records.trade("ACME", 1L, 10.0, 5.0));
    assertDeadLetter(key("ACME"), trade,
        "wrong record type: written as io.flinkmamba.connectors.avro.TradeTick, expected io.flinkmamba.connectors.avro.SensorReading");
  }

  @Test
  void tombstoneWithoutKey() throws Exception {
    DeadLetter letter = assertDeadLetter(null, null, "no value");
    assertNull(letter.getKey());
    assertNull(letter.getValue());
  }

  /** Header and fingerprint of SensorReading, then a body written by hand. */
  private byte[] withBody(BodyWriter body) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(good, 0, AvroRecordCodec.HEADER_BYTES);
    BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
    body.write(encoder);
    encoder.flush();
    return out.toByteArray();
  }

  interface BodyWriter {
    void write(BinaryEncoder encoder) throws Exception;
  }

  @Test
  void hugeArrayCountIsRefusedWithoutAllocating() throws Exception {
    // streamId "a", eventTime 1, then an array block claiming two billion measurements in a few bytes.
    byte[] value = withBody(e -> {
      e.writeString("a");
      e.writeLong(1L);
      e.writeLong(2_000_000_000L);
      e.writeString("x");
    });
    assertDeadLetter(key("a"), value, "collection block of 2000000000 items");
  }

  @Test
  void hugeStringLengthIsRefusedWithoutAllocating() throws Exception {
    byte[] value = withBody(e -> {
      e.writeLong(Integer.MAX_VALUE - 16); // the length of streamId
      e.writeFixed(new byte[] {'a', 'b'});
    });
    assertDeadLetter(key("a"), value, "string length of 2147483631");
  }

  @Test
  void negativeLengthIsRefused() throws Exception {
    byte[] value = withBody(e -> e.writeLong(-3));
    assertDeadLetter(key("a"), value, "string length of -3");
  }

  @Test
  void noMutationOfAGoodRecordEscapesAsAnException() throws Exception {
    // Flip, cut and splice random bytes: every outcome is a record or a dead letter, never a throw.
    Random random = new Random(7);
    int deadLetters = 0;
    for (int i = 0; i < 20_000; i++) {
      byte[] value = good.clone();
      switch (random.nextInt(3)) {
        case 0 -> value[AvroRecordCodec.HEADER_BYTES + random.nextInt(value.length - AvroRecordCodec.HEADER_BYTES)] =
            (byte) random.nextInt(256);
        case 1 -> value = Arrays.copyOf(value, random.nextInt(value.length));
        default -> {
          for (int j = AvroRecordCodec.HEADER_BYTES; j < value.length; j++) {
            value[j] = (byte) random.nextInt(256);
          }
        }
      }
      Either<DeadLetter, SensorReading> result = deserialize(key("k"), value);
      if (result.isLeft()) {
        deadLetters++;
        assertArrayEquals(value, bytes(result.left().getValue()));
      }
    }
    assertTrue(deadLetters > 10_000, "most mutations cannot decode; dead letters: " + deadLetters);
  }

  @Test
  void deadLetterSerializerKeepsOriginalKeyAndWritesReasonHeaders() throws Exception {
    DeadLetter letter = assertDeadLetter(key("pump-9"), "junk that is not avro".getBytes(StandardCharsets.UTF_8), "not Avro");
    ProducerRecord<byte[], byte[]> out = new DeadLetterSerializer("dlq", RecordTimestamp.EVENT_TIME).serialize(letter, null, 5L);
    assertEquals("dlq", out.topic());
    assertArrayEquals(key("pump-9"), out.key());
    assertEquals(letter, AvroRecordCodec.of(DeadLetter.class).decode(out.value()));
    assertEquals(letter.getReason(), new String(out.headers().lastHeader(DeadLetterSerializer.REASON_HEADER).value(), StandardCharsets.UTF_8));
    assertEquals("readings-4@1234", new String(out.headers().lastHeader(DeadLetterSerializer.ORIGIN_HEADER).value(), StandardCharsets.UTF_8));
  }
}
