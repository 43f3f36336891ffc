package io.flinkmamba.connectors;

import io.flinkmamba.connectors.avro.AnomalyScore;
import io.flinkmamba.connectors.avro.Measurement;
import io.flinkmamba.connectors.avro.SensorReading;
import io.flinkmamba.connectors.avro.TradeTick;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.apache.avro.Schema;

/** Sample records and schemas for the connector tests. */
final class Records {
  private Records() {}

  static SensorReading reading(String stream, long time, double... values) {
    Measurement[] measurements = new Measurement[values.length];
    for (int i = 0; i < values.length; i++) {
      measurements[i] = new Measurement("m" + i, values[i]);
    }
    return SensorReading.newBuilder()
        .setStreamId(stream)
        .setEventTimeMillis(time)
        .setMeasurements(List.of(measurements))
        .build();
  }

  static TradeTick trade(String symbol, long time, double price, double size) {
    return TradeTick.newBuilder().setSymbol(symbol).setEventTimeMillis(time).setPrice(price).setSize(size).build();
  }

  static AnomalyScore score(String key, long time) {
    return AnomalyScore.newBuilder()
        .setKey(key)
        .setEventTimeMillis(time)
        .setScore(2.5)
        .setAnomalyLikelihood(0.97)
        .setIsAnomaly(true)
        .setModelVersion("sha256:abc")
        .setForecast(List.of(1.0f, 2.0f))
        .setInput(List.of(1.5f, 2.5f))
        .build();
  }

  static Schema testSchema(String name) throws IOException {
    try (InputStream in = Records.class.getResourceAsStream("/schemas/" + name)) {
      return new Schema.Parser().parse(in);
    }
  }
}
