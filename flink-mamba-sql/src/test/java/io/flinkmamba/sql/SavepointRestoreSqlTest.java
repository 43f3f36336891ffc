package io.flinkmamba.sql;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastResult;
import io.flinkmamba.kernels.forecast.Forecaster;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.TableResult;
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
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A SQL job scores the first part of a stream and is stopped with a savepoint; a second SQL job
 * (same query, same uid) restored from it scores the rest. Its scores equal an uninterrupted run's:
 * every key's forecaster state survived the savepoint.
 */
class SavepointRestoreSqlTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());
    static final int F = 2;
    static final String IDLE = "__idle__";

    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void writeModel() throws Exception {
        model = SqlFixture.forecaster(tmp.resolve("forecaster"), F);
    }

    @Test
    void stateSurvivesStopWithSavepointAndRestore() throws Exception {
        List<Reading> readings = Reading.random(4, 400, F, 9);
        int firstPart = 250;
        List<Row> rows = readings.stream().map(SqlFixture::toRow).collect(Collectors.toList());

        // job 1: the first part, then idle rows (filtered out before the function) until stopped
        StreamExecutionEnvironment env1 = StreamExecutionEnvironment.getExecutionEnvironment();
        StreamTableEnvironment t1 = scoringEnv(env1, new RowsThenIdle(rows.subList(0, firstPart)), Long.MAX_VALUE, "src-1");
        TableResult r1 = t1.executeSql(query());
        JobClient job1 = r1.getJobClient().orElseThrow();
        int seen = 0;
        try (CloseableIterator<Row> it = r1.collect()) {
            while (seen < firstPart && it.hasNext()) {
                it.next();
                seen++;
            }
            assertEquals(firstPart, seen);
            String savepoint = job1.stopWithSavepoint(false, tmp.resolve("savepoints").toUri().toString(),
                    SavepointFormatType.CANONICAL).get();

            // job 2: the rest, from the savepoint; its source is new (other uid), the function's state is restored
            Configuration conf = new Configuration();
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
            conf.set(StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE, true);
            StreamExecutionEnvironment env2 = StreamExecutionEnvironment.getExecutionEnvironment(conf);
            List<Row> rest = rows.subList(firstPart, rows.size());
            StreamTableEnvironment t2 = scoringEnv(env2, new RowsThenIdle(rest), rest.size(), "src-2");
            List<Row> restored = new ArrayList<>();
            try (CloseableIterator<Row> it2 = t2.executeSql(query()).collect()) {
                it2.forEachRemaining(restored::add);
            }

            Map<String, List<ForecastResult>> uninterrupted = EngineReference.score(Forecaster.load(model),
                    CalibrationSettings.DEFAULT, readings);
            Map<String, Integer> scoredBefore = new HashMap<>();
            for (Reading r : readings.subList(0, firstPart)) {
                scoredBefore.merge(r.key, 1, Integer::sum);
            }
            assertEquals(rest.size(), restored.size());
            Map<String, Integer> next = new HashMap<>(scoredBefore);
            for (Row r : restored) {
                String key = (String) r.getField("sensor_id");
                int i = next.merge(key, 1, Integer::sum) - 1;
                EngineReference.assertSame(uninterrupted.get(key).get(i), r, key + " #" + i);
            }
            assertTrue(scoredBefore.values().stream().allMatch(n -> n > 10), "every key had state before the savepoint");
        }
    }

    private static String query() {
        return "SELECT * FROM MAMBA_SCORE(input => TABLE live PARTITION BY sensor_id, model => '" + model.toUri()
                + "', features => DESCRIPTOR(a, b), uid => 'mamba-score')";
    }

    private static StreamTableEnvironment scoringEnv(StreamExecutionEnvironment env, RowsThenIdle gen, long count, String uid) {
        env.setParallelism(2);
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
        tEnv.executeSql("LOAD MODULE mamba");
        DataGeneratorSource<Row> source = new DataGeneratorSource<>(gen, count, RateLimiterStrategy.perSecond(2000),
                SqlFixture.rowType(F));
        tEnv.createTemporaryView("readings_all", tEnv.fromDataStream(
                env.fromSource(source, WatermarkStrategy.noWatermarks(), uid).uid(uid).setParallelism(1)));
        tEnv.createTemporaryView("live", tEnv.sqlQuery("SELECT * FROM readings_all WHERE sensor_id <> '" + IDLE + "'"));
        return tEnv;
    }

    /** Row i of the list, then rows of an idle key (which the query filters out) for ever. */
    static final class RowsThenIdle implements GeneratorFunction<Long, Row> {
        private static final long serialVersionUID = 1L;
        private final ArrayList<Row> rows;

        RowsThenIdle(List<Row> rows) {
            this.rows = new ArrayList<>(rows);
        }

        @Override
        public Row map(Long i) {
            return i < rows.size() ? rows.get(i.intValue()) : Row.of(IDLE, i, 0.0, 0.0);
        }
    }
}
