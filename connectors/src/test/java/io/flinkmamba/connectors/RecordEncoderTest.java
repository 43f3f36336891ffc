package io.flinkmamba.connectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flinkmamba.connectors.avro.AnomalyScore;
import io.flinkmamba.connectors.avro.DeadLetter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

class RecordEncoderTest {

  @Test
  void encodesGoodRecordsAndTurnsUnencodableOnesIntoDeadLetters() throws Exception {
    AvroRecordCodec<AnomalyScore> codec = AvroRecordCodec.of(AnomalyScore.class);
    RecordEncoder<AnomalyScore> encoder = new RecordEncoder<>(codec, AnomalyScore::getKey, "scores");
    try (OneInputStreamOperatorTestHarness<AnomalyScore, EncodedRecord> harness =
        ProcessFunctionTestHarnesses.forProcessFunction(encoder)) {
      AnomalyScore good = Records.score("pump-1", 10L);
      AnomalyScore broken = Records.score("pump-2", 11L);
      broken.setModelVersion(null); // required field: Avro cannot write it
      harness.processElement(good, 100L);
      harness.processElement(broken, 200L);

      List<EncodedRecord> out = harness.extractOutputValues();
      assertEquals(1, out.size());
      assertArrayEquals("pump-1".getBytes(StandardCharsets.UTF_8), out.get(0).key);
      assertEquals(good, codec.decode(out.get(0).value));

      List<DeadLetter> letters =
          harness.getSideOutput(DeadLetterSplitter.DEAD_LETTERS).stream().map(StreamRecord::getValue).toList();
      assertEquals(1, letters.size());
      DeadLetter letter = letters.get(0);
      assertTrue(letter.getReason().startsWith("cannot encode AnomalyScore for scores: "), letter.getReason());
      assertTrue(letter.getReason().contains("modelVersion"), letter.getReason());
      assertEquals("scores", letter.getTopic());
      assertEquals(-1, letter.getPartition());
      assertEquals(200L, letter.getTimestamp());
      assertEquals("pump-2", StandardCharsets.UTF_8.decode(letter.getKey().duplicate()).toString());
      String text = StandardCharsets.UTF_8.decode(letter.getValue().duplicate()).toString();
      assertTrue(text.contains("\"key\": \"pump-2\"") && text.contains("\"modelVersion\": null"), text);
    }
  }
}
