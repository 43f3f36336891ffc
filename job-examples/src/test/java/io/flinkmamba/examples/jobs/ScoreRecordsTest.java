package io.flinkmamba.examples.jobs;

import io.flinkmamba.connectors.AvroRecordCodec;
import io.flinkmamba.operator.AnomalyScore;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ScoreRecordsTest {

    private static AnomalyScore<String> score(String fingerprint) {
        AnomalyScore<String> s = new AnomalyScore<>();
        s.key = "pump-7";
        s.eventTime = 1_700_000_000_123L;
        s.input = new float[] {1.5f, -2f};
        s.forecast = new float[] {1.25f, -1.75f};
        s.forecastStd = new float[] {0.5f, 0.25f};
        s.score = 3.5;
        s.anomalyLikelihood = 0.97;
        s.isAnomaly = true;
        s.warmingUp = false;
        s.modelVersion = "v2";
        s.modelFingerprint = fingerprint;
        s.eventsSeen = 42;
        return s;
    }

    @Test
    void everyFieldReachesTheAvroRecordAndSurvivesTheWire() throws Exception {
        io.flinkmamba.connectors.avro.AnomalyScore a = ScoreRecords.toAvro(score("5f1e0c"));
        AvroRecordCodec<io.flinkmamba.connectors.avro.AnomalyScore> codec =
                AvroRecordCodec.of(io.flinkmamba.connectors.avro.AnomalyScore.class);
        io.flinkmamba.connectors.avro.AnomalyScore read = codec.decode(codec.encode(a));
        assertEquals("pump-7", read.getKey());
        assertEquals(1_700_000_000_123L, read.getEventTimeMillis());
        assertEquals(List.of(1.5f, -2f), read.getInput());
        assertEquals(List.of(1.25f, -1.75f), read.getForecast());
        assertEquals(List.of(0.5f, 0.25f), read.getForecastStd());
        assertEquals(3.5, read.getScore());
        assertEquals(0.97, read.getAnomalyLikelihood());
        assertEquals(true, read.getIsAnomaly());
        assertEquals(false, read.getWarmingUp());
        assertEquals("v2", read.getModelVersion());
        assertEquals("5f1e0c", read.getModelFingerprint(), "which weights scored it");
        assertEquals(42L, read.getEventsSeen());
    }

    @Test
    void aScoreWithoutFingerprintIsWrittenWithAnEmptyOne() {
        // the Avro field is a non-null string: a score built without one must still encode
        assertEquals("", ScoreRecords.toAvro(score(null)).getModelFingerprint());
    }
}
