package io.flinkmamba.examples.jobs;

import io.flinkmamba.connectors.avro.DeadLetter;
import io.flinkmamba.operator.AnomalyScore;
import io.flinkmamba.operator.RejectedEvent;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Conversions between the operator's records and the Kafka (Avro) records. */
public final class ScoreRecords {
    private ScoreRecords() {
    }

    public static io.flinkmamba.connectors.avro.AnomalyScore toAvro(AnomalyScore<String> s) {
        return io.flinkmamba.connectors.avro.AnomalyScore.newBuilder()
                .setKey(s.key)
                .setEventTimeMillis(s.eventTime)
                .setScore(s.score)
                .setAnomalyLikelihood(s.anomalyLikelihood)
                .setIsAnomaly(s.isAnomaly)
                .setModelVersion(s.modelVersion)
                .setForecast(floats(s.forecast))
                .setInput(floats(s.input))
                .setForecastStd(floats(s.forecastStd))
                .setWarmingUp(s.warmingUp)
                .setEventsSeen(s.eventsSeen)
                .setModelFingerprint(s.modelFingerprint == null ? "" : s.modelFingerprint)
                .build();
    }

    /** A rejected event as a dead letter of the input topic (no partition/offset: it was decoded fine). */
    public static DeadLetter rejected(RejectedEvent r, String inputTopic) {
        return DeadLetter.newBuilder()
                .setTopic(inputTopic)
                .setPartition(-1)
                .setOffset(-1)
                .setTimestamp(r.eventTime)
                .setReason("rejected by the scorer: " + r.reason)
                .setKey(r.key == null ? null : ByteBuffer.wrap(r.key.getBytes(StandardCharsets.UTF_8)))
                .setValue(r.event == null ? null : ByteBuffer.wrap(r.event.getBytes(StandardCharsets.UTF_8)))
                .build();
    }

    static List<Float> floats(float[] values) {
        List<Float> list = new ArrayList<>(values == null ? 0 : values.length);
        if (values != null) {
            for (float v : values) {
                list.add(v);
            }
        }
        return list;
    }
}
