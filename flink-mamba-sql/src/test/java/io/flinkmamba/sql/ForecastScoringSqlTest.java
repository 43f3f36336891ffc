package io.flinkmamba.sql;

import io.flinkmamba.operator.AnomalyScore;
import io.flinkmamba.operator.MambaOperators;
import io.flinkmamba.operator.MambaOptions;
import io.flinkmamba.operator.MambaSpec;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.util.CloseableIterator;
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
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MAMBA_SCORE over a forecaster equals the DataStream operator's MambaOperators.scoreAnomalies on the same events. */
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
    void sqlScoresEqualTheDataStreamOperatorsPerKey() throws Exception {
        List<Reading> readings = Reading.random(4, 600, F, 5);
        readings.add(40, new Reading("k1", 40_500L, null, 1.0));
        readings.add(90, new Reading("k3", 90_500L, 2.0, Double.NaN));
        readings.add(300, new Reading("k0", 300_500L, 50.0, 50.0)); // a spike: a high score for k0

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
        tEnv.executeSql("LOAD MODULE mamba");
        SqlFixture.registerReadings(env, tEnv, readings, F);
        List<Row> sql = SqlFixture.collect(tEnv.sqlQuery(SqlFixture.scoreQuery(model, F,
                ", anomaly_threshold => 0.95e0, warmup_events => 30, anomaly_window => 2, uid => 'mamba'")));

        Map<String, List<AnomalyScore<String>>> expected = dataStreamScores(readings);
        Map<String, List<Row>> got = new HashMap<>();
        List<Row> rejected = new ArrayList<>();
        for (Row r : sql) {
            (r.getField("rejected_reason") != null ? rejected
                    : got.computeIfAbsent((String) r.getField("sensor_id"), k -> new ArrayList<>())).add(r);
        }
        assertEquals(expected.keySet(), got.keySet());
        int anomalies = 0;
        for (String key : expected.keySet()) {
            List<AnomalyScore<String>> e = expected.get(key);
            List<Row> g = got.get(key);
            assertEquals(e.size(), g.size(), key);
            for (int i = 0; i < e.size(); i++) {
                EngineReference.assertSame(e.get(i), g.get(i), key + " #" + i);
                anomalies += (Boolean) g.get(i).getField("is_anomaly") ? 1 : 0;
            }
        }
        assertTrue(anomalies > 0, "the spike is flagged");
        // the two keys may run in different subtasks: their rejected rows arrive in either order
        rejected.sort(java.util.Comparator.comparing(r -> String.valueOf(r.getField("rejected_reason"))));
        assertEquals(2, rejected.size());
        assertEquals("feature 'a' is NULL", rejected.get(0).getField("rejected_reason"));
        assertEquals("feature 'b' is NaN", rejected.get(1).getField("rejected_reason"));
        assertNull(rejected.get(0).getField("score"));
        assertNull(rejected.get(1).getField("score"));
        assertEquals("random-test", rejected.get(0).getField("model_version"));
    }

    /** The same events through the DataStream operator, with the same calibration as the SQL call. */
    private static Map<String, List<AnomalyScore<String>>> dataStreamScores(List<Reading> readings) throws Exception {
        List<Reading> valid = readings.stream().filter(Reading::valid).collect(Collectors.toList());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        MambaSpec<Reading> spec = MambaSpec.builder(model.toString(), "random-test", new Reading.Extractor())
                .set(MambaOptions.ANOMALY_THRESHOLD, 0.95).set(MambaOptions.ANOMALY_WARMUP_EVENTS, 30)
                .set(MambaOptions.ANOMALY_WINDOW, 2).build();
        CloseableIterator<AnomalyScore<String>> it = MambaOperators.scoreAnomalies(
                env.fromData(valid, TypeInformation.of(Reading.class)).setParallelism(1).keyBy(r -> r.key), spec).collectAsync();
        env.execute("datastream reference");
        Map<String, List<AnomalyScore<String>>> byKey = new HashMap<>();
        it.forEachRemaining(s -> byKey.computeIfAbsent(s.key, k -> new ArrayList<>()).add(s));
        return byKey;
    }
}
