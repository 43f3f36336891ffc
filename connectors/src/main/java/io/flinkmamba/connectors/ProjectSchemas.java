package io.flinkmamba.connectors;

import io.flinkmamba.connectors.avro.AnomalyScore;
import io.flinkmamba.connectors.avro.DeadLetter;
import io.flinkmamba.connectors.avro.ModelUpdate;
import io.flinkmamba.connectors.avro.SensorReading;
import io.flinkmamba.connectors.avro.TradeTick;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * The record types this project writes, by schema fingerprint: lets a decoder say "this is a
 * TradeTick, the topic expects SensorReading" instead of only "unknown fingerprint".
 */
final class ProjectSchemas {
  private static final Map<Long, Schema> BY_FINGERPRINT =
      List.of(
              SensorReading.getClassSchema(),
              TradeTick.getClassSchema(),
              AnomalyScore.getClassSchema(),
              DeadLetter.getClassSchema(),
              ModelUpdate.getClassSchema())
          .stream()
          .collect(Collectors.toMap(ProjectSchemas::fingerprint, Function.identity()));

  private ProjectSchemas() {}

  /** CRC-64-AVRO of the schema's parsing canonical form: what single-object encoding writes. */
  static long fingerprint(Schema schema) {
    return SchemaNormalization.parsingFingerprint64(schema);
  }

  /** The project's current schema with this fingerprint, or null. */
  static Schema find(long fingerprint) {
    return BY_FINGERPRINT.get(fingerprint);
  }
}
