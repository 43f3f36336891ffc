package io.flinkmamba.sql;

import io.flinkmamba.kernels.model.MambaModel;
import io.flinkmamba.kernels.testing.Assertions2;
import io.flinkmamba.operator.MambaOperators;
import io.flinkmamba.operator.MambaScore;
import io.flinkmamba.operator.MambaSpec;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;
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
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** MAMBA_SCORE over a plain Mamba checkpoint equals the DataStream operator's MambaOperators.score. */
class BlockScoringSqlTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void writeModel() throws Exception {
        model = SqlFixture.blockModel(tmp.resolve("block-model"));
    }

    @Test
    void sqlOutputsEqualTheDataStreamOperatorsPerKey() throws Exception {
        int f = SqlFixture.BLOCK_CONFIG.hiddenSize();
        List<Reading> readings = Reading.random(5, 400, f, 3);
        readings.add(17, new Reading("k1", 17_500L, 1.0, null, 2.0, 3.0));
        readings.add(33, new Reading("k2", 33_500L, 1.0, Double.NaN, 2.0, 3.0));
        readings.add(50, new Reading("k2", 50_500L, 1.0, 2.0, 3.0, Double.POSITIVE_INFINITY));

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
        tEnv.createTemporarySystemFunction("MAMBA_SCORE", MambaScoreFunction.class);
        SqlFixture.registerReadings(env, tEnv, readings, f);
        List<Row> sql = SqlFixture.collect(tEnv.sqlQuery(SqlFixture.scoreQuery(model, f, ", uid => 'mamba'")));

        Map<String, List<MambaScore<String>>> expected = dataStreamScores(readings);
        Map<String, List<Row>> got = new HashMap<>();
        List<Row> rejected = new ArrayList<>();
        for (Row r : sql) {
            if (r.getField("rejected_reason") != null) {
                rejected.add(r);
            } else {
                got.computeIfAbsent((String) r.getField("sensor_id"), k -> new ArrayList<>()).add(r);
            }
        }
        assertEquals(expected.keySet(), got.keySet());
        String fingerprint = MambaModel.load(model).fingerprint();
        for (String key : expected.keySet()) {
            List<MambaScore<String>> e = expected.get(key);
            List<Row> g = got.get(key);
            assertEquals(e.size(), g.size(), key);
            for (int i = 0; i < e.size(); i++) {
                Row r = g.get(i);
                assertEquals(e.get(i).eventTime, (long) (Long) r.getField("ts"), key + " #" + i);
                assertEquals(e.get(i).eventsSeen, (long) (Long) r.getField("events_seen"));
                assertEquals(fingerprint, r.getField("model_fingerprint"));
                assertEquals("block-model", r.getField("model_version"));
                Assertions2.assertClose(unbox((Float[]) r.getField("output")), e.get(i).output, 1e-5, key + " #" + i);
            }
        }
        // keys may run in different subtasks: their rejected rows arrive in any order
        rejected.sort(java.util.Comparator.comparing(r -> String.valueOf(r.getField("rejected_reason"))));
        assertEquals(3, rejected.size());
        assertEquals("feature 'b' is NULL", rejected.get(0).getField("rejected_reason"));
        assertEquals("k1", rejected.get(0).getField("sensor_id"));
        assertEquals("feature 'b' is NaN", rejected.get(1).getField("rejected_reason"));
        assertEquals("feature 'd' is Infinity", rejected.get(2).getField("rejected_reason"));
        for (Row r : rejected) {
            assertNull(r.getField("output"));
            assertNull(r.getField("events_seen"));
            assertNotNull(r.getField("model_fingerprint"));
        }
    }

    private static Map<String, List<MambaScore<String>>> dataStreamScores(List<Reading> readings) throws Exception {
        List<Reading> valid = new ArrayList<>();
        for (Reading r : readings) {
            if (r.valid()) {
                valid.add(r);
            }
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        MambaSpec<Reading> spec = MambaSpec.builder(model.toString(), "v1", new Reading.Extractor()).build();
        CloseableIterator<MambaScore<String>> it = MambaOperators.score(
                env.fromData(valid, TypeInformation.of(Reading.class)).setParallelism(1).keyBy(r -> r.key), spec).collectAsync();
        env.execute("datastream reference");
        Map<String, List<MambaScore<String>>> byKey = new HashMap<>();
        it.forEachRemaining(s -> byKey.computeIfAbsent(s.key, k -> new ArrayList<>()).add(s));
        return byKey;
    }

    static float[] unbox(Float[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = a[i];
        }
        return f;
    }
}
