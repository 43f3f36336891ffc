package io.flinkmamba.connectors;

import io.flinkmamba.connectors.avro.AnomalyScore;
import io.flinkmamba.connectors.avro.Measurement;
import io.flinkmamba.connectors.avro.SensorReading;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;

/**
 * Stands in for the model in the Kafka pipeline test: score = sum of the measurements. It fails the
 * job once, a few records after a checkpoint completed, so that the sinks' open transactions are
 * aborted and the records since that checkpoint are replayed: the output must still hold each input
 * once. Until then it paces itself, so that checkpoints complete while records still flow.
 */
final class ScoringStandIn extends RichMapFunction<SensorReading, AnomalyScore> implements CheckpointListener {
  private static final long serialVersionUID = 1L;
  /** Set by the failure; static because the MiniCluster runs the job in this JVM. */
  static final AtomicBoolean FAILED = new AtomicBoolean();

  private transient boolean checkpointCompleted;
  private transient int sinceCheckpoint;

  /** This input's score is left without its required model version: it cannot be encoded. */
  static final String UNENCODABLE_KEY = "sensor-2";
  static final long UNENCODABLE_TIME = 1_700_000_000_000L + 1000L * 120;

  static double expectedScore(SensorReading reading) {
    double sum = 0;
    for (Measurement m : reading.getMeasurements()) {
      sum += m.getValue();
    }
    return sum;
  }

  @Override
  public AnomalyScore map(SensorReading reading) throws Exception {
    if (!FAILED.get()) {
      Thread.sleep(3); // until the failure: ~1.8 s of records per subtask, room for checkpoints to complete
    }
    if (checkpointCompleted && ++sinceCheckpoint > 5 && FAILED.compareAndSet(false, true)) {
      throw new IllegalStateException("failure injected by the test after a completed checkpoint");
    }
    List<Float> input = new ArrayList<>();
    for (Measurement m : reading.getMeasurements()) {
      input.add((float) m.getValue());
    }
    double score = expectedScore(reading);
    AnomalyScore result = AnomalyScore.newBuilder()
        .setKey(reading.getStreamId())
        .setEventTimeMillis(reading.getEventTimeMillis())
        .setScore(score)
        .setAnomalyLikelihood(0.0)
        .setIsAnomaly(false)
        .setModelVersion("stand-in")
        .setForecast(List.of())
        .setInput(input)
        .build();
    if (reading.getStreamId().equals(UNENCODABLE_KEY) && reading.getEventTimeMillis() == UNENCODABLE_TIME) {
      result.setModelVersion(null);
    }
    return result;
  }

  @Override
  public void notifyCheckpointComplete(long checkpointId) {
    checkpointCompleted = true;
    sinceCheckpoint = 0;
  }
}
