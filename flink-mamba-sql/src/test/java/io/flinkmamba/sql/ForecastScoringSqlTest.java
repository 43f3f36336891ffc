package io.flinkmamba.sql;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastResult;
import io.flinkmamba.kernels.forecast.Forecaster;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MAMBA_SCORE over a forecaster equals kernels' per-key engine (the DataStream operator's core) run key by key. */
class ForecastScoringSqlTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());
    static final int F = 2;

    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void writeModel() throws Exception {
        model = SqlFixture.forecaster(tmp.resolve("forecaster"), F);
    }

    @Test
    void sqlScoresEqualTheEnginePerKey() throws Exception {
        List<Reading> readings = Reading.random(4, 600, F, 5);
        readings.add(40, new Reading("k1", 40_500L, null, 1.0));
        readings.add(90, new Reading("k3", 90_500L, 2.0, Double.NaN));
        readings.add(300, new Reading("k0", 300_500L, 50.0, 50.0)); // a spike: a high score for k0
        CalibrationSettings calibration = CalibrationSettings.DEFAULT.withWarmupEvents(30).withThreshold(0.95);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
        tEnv.executeSql("LOAD MODULE mamba");
        SqlFixture.registerReadings(env, tEnv, readings, F);
        List<Row> sql = SqlFixture.collect(tEnv.sqlQuery(SqlFixture.scoreQuery(model, F,
                ", anomaly_threshold => 0.95e0, warmup_events => 30, uid => 'mamba'")));

        Map<String, List<ForecastResult>> expected = EngineReference.score(Forecaster.load(model), calibration, readings);
        Map<String, List<Row>> got = new HashMap<>();
        List<Row> rejected = new ArrayList<>();
        for (Row r : sql) {
            (r.getField("rejected_reason") != null ? rejected
                    : got.computeIfAbsent((String) r.getField("sensor_id"), k -> new ArrayList<>())).add(r);
        }
        assertEquals(expected.keySet(), got.keySet());
        int anomalies = 0;
        for (String key : expected.keySet()) {
            List<ForecastResult> e = expected.get(key);
            List<Row> g = got.get(key);
            assertEquals(e.size(), g.size(), key);
            for (int i = 0; i < e.size(); i++) {
                EngineReference.assertSame(e.get(i), g.get(i), key + " #" + i);
                anomalies += (Boolean) g.get(i).getField("is_anomaly") ? 1 : 0;
            }
        }
        assertTrue(anomalies > 0, "the spike is flagged");
        assertEquals(2, rejected.size());
        assertEquals("feature 'a' is NULL", rejected.get(0).getField("rejected_reason"));
        assertEquals("feature 'b' is NaN", rejected.get(1).getField("rejected_reason"));
        assertNull(rejected.get(0).getField("score"));
        assertEquals("random-test", rejected.get(0).getField("model_version"));
    }
}
