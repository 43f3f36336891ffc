package io.flinkmamba.connectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flinkmamba.connectors.avro.AnomalyScore;
import io.flinkmamba.connectors.avro.DeadLetter;
import io.flinkmamba.connectors.avro.SensorReading;
import io.flinkmamba.connectors.avro.TradeTick;
import java.nio.ByteBuffer;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

class AvroRecordCodecTest {

  @Test
  void everyRecordTypeRoundTrips() throws Exception {
    SensorReading reading = Records.reading("pump-7", 1_700_000_000_123L, 1.5, -2.25, 1e-9);
    reading.setSource("gateway-3");
    assertEquals(reading, AvroRecordCodec.of(SensorReading.class).decode(AvroRecordCodec.of(SensorReading.class).encode(reading)));

    TradeTick trade = Records.trade("ACME", 42L, 101.25, 300);
    assertEquals(trade, AvroRecordCodec.of(TradeTick.class).decode(AvroRecordCodec.of(TradeTick.class).encode(trade)));

    AnomalyScore score = Records.score("pump-7", 43L);
    assertEquals(score, AvroRecordCodec.of(AnomalyScore.class).decode(AvroRecordCodec.of(AnomalyScore.class).encode(score)));

    DeadLetter letter =
        DeadLetter.newBuilder().setTopic("in").setPartition(2).setOffset(99).setTimestamp(7)
            .setReason("why").setKey(null).setValue(ByteBuffer.wrap(new byte[] {0, 1, (byte) 0xff})).build();
    DeadLetter back = AvroRecordCodec.of(DeadLetter.class).decode(AvroRecordCodec.of(DeadLetter.class).encode(letter));
    assertEquals(letter, back);
    assertNull(back.getKey());
  }

  @Test
  void writesStandardSingleObjectEncoding() throws Exception {
    SensorReading reading = Records.reading("s", 1L, 3.0);
    byte[] bytes = AvroRecordCodec.of(SensorReading.class).encode(reading);
    assertEquals((byte) 0xC3, bytes[0]);
    assertEquals((byte) 0x01, bytes[1]);
    long fingerprint = SchemaNormalization.parsingFingerprint64(SensorReading.getClassSchema());
    for (int i = 0; i < 8; i++) {
      assertEquals((byte) (fingerprint >>> (8 * i)), bytes[2 + i], "fingerprint byte " + i);
    }
    // Avro's own single-object decoder and encoder agree with ours, byte for byte.
    assertEquals(reading, SensorReading.getDecoder().decode(bytes));
    ByteBuffer theirs = SensorReading.getEncoder().encode(reading);
    byte[] theirBytes = new byte[theirs.remaining()];
    theirs.get(theirBytes);
    assertArrayEquals(theirBytes, bytes);
  }

  @Test
  void oldWriterNewReaderFillsTheAddedFieldWithItsDefault() throws Exception {
    Schema v1 = Records.testSchema("SensorReading-v1.avsc");
    GenericRecord measurement = new GenericData.Record(v1.getField("measurements").schema().getElementType());
    measurement.put("name", "temperature");
    measurement.put("value", 21.5);
    GenericRecord old = new GenericData.Record(v1);
    old.put("streamId", "boiler-1");
    old.put("eventTimeMillis", 1234L);
    old.put("measurements", List.of(measurement));
    byte[] written = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v1).encode(old).array();

    AvroRecordCodec<SensorReading> codec = AvroRecordCodec.of(SensorReading.class).withOlderWriterSchema(v1);
    SensorReading read = codec.decode(written);
    assertEquals("boiler-1", read.getStreamId());
    assertEquals(1234L, read.getEventTimeMillis());
    assertEquals(1, read.getMeasurements().size());
    assertEquals("temperature", read.getMeasurements().get(0).getName());
    assertEquals(21.5, read.getMeasurements().get(0).getValue());
    assertNull(read.getSource(), "field added after v1 takes its default");
    // The codec still reads the current schema, and survives Java serialization (Flink ships it to tasks).
    AvroRecordCodec<SensorReading> shipped = InstantiationUtil.clone(codec);
    assertEquals(read, shipped.decode(written));
    SensorReading current = Records.reading("boiler-1", 5L, 1.0);
    assertEquals(current, shipped.decode(shipped.encode(current)));
  }

  @Test
  void oldAnomalyScoreReadsWithEmptyVectors() throws Exception {
    Schema v1 = Records.testSchema("AnomalyScore-v1.avsc");
    GenericRecord old = new GenericData.Record(v1);
    old.put("key", "k");
    old.put("eventTimeMillis", 9L);
    old.put("score", 0.5);
    old.put("anomalyLikelihood", 0.1);
    old.put("isAnomaly", false);
    old.put("modelVersion", "v1");
    byte[] written = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v1).encode(old).array();

    AnomalyScore read = AvroRecordCodec.of(AnomalyScore.class).withOlderWriterSchema(v1).decode(written);
    assertEquals("k", read.getKey());
    assertEquals(0.5, read.getScore());
    assertEquals(List.of(), read.getForecast());
    assertEquals(List.of(), read.getInput());
    assertEquals("", read.getModelFingerprint(), "field added after v1 takes its default");
  }

  @Test
  void oldWriterThatWasNotRegisteredIsNamedAsUnknown() throws Exception {
    Schema v1 = Records.testSchema("SensorReading-v1.avsc");
    GenericRecord old = new GenericData.Record(v1);
    old.put("streamId", "boiler-1");
    old.put("eventTimeMillis", 1234L);
    old.put("measurements", List.of());
    byte[] written = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v1).encode(old).array();

    DecodingException e =
        assertThrows(DecodingException.class, () -> AvroRecordCodec.of(SensorReading.class).decode(written));
    assertTrue(e.getMessage().contains("unknown writer schema fingerprint"), e.getMessage());
    assertTrue(e.getMessage().contains(String.format("%016x", SchemaNormalization.parsingFingerprint64(v1))), e.getMessage());
  }

  @Test
  void anOlderSchemaThatCannotResolveIsRefusedWhenRegistered() throws Exception {
    Schema incompatible = Records.testSchema("SensorReading-incompatible.avsc");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> AvroRecordCodec.of(SensorReading.class).withOlderWriterSchema(incompatible));
    assertTrue(e.getMessage().contains("cannot be read as the current one"), e.getMessage());
  }
}
