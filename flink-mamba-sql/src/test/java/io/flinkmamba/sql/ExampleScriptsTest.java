package io.flinkmamba.sql;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastResult;
import io.flinkmamba.kernels.forecast.Forecaster;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SQL examples of job-examples/sql: the bounded one runs on the MiniCluster and its scores equal
 * the engine's; the Kafka + Avro one is planned in full (connector and format options, the function
 * call, the statement set) without a broker.
 */
class ExampleScriptsTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());
    static final int F = 3;
    static final java.time.format.DateTimeFormatter SQL_TIME = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");

    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void writeModel() throws Exception {
        model = SqlFixture.forecaster(tmp.resolve("sensor-model"), F);
    }

    @Test
    void theBoundedExampleScoresLikeTheEngine() throws Exception {
        List<Reading> readings = Reading.random(3, 300, F, 21);
        readings.add(100, new Reading("k2", 100_500L, 1.0, null, 1.0));
        Path input = tmp.resolve("readings.json");
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (Reading r : readings) {
            Map<String, Object> m = new HashMap<>();
            m.put("sensor_id", r.key);
            m.put("event_time", SQL_TIME.format(java.time.LocalDateTime.ofEpochSecond(r.ts / 1000,
                    (int) (r.ts % 1000) * 1_000_000, java.time.ZoneOffset.UTC)));
            m.put("temperature", r.values[0]);
            m.put("vibration", r.values[1]);
            m.put("pressure", r.values[2]);
            lines.add(json.writeValueAsString(m));
        }
        Files.write(input, lines);
        Path scores = tmp.resolve("scores");
        Path rejected = tmp.resolve("rejected");
        SqlScript script = SqlScript.load("mamba-score-bounded.sql", Map.of("MODEL_DIR", model.toString(),
                "INPUT", input.toString(), "SCORES_DIR", scores.toString(), "REJECTED_DIR", rejected.toString()));

        TableEnvironment tEnv = TableEnvironment.create(EnvironmentSettings.inStreamingMode());
        tEnv.getConfig().set("parallelism.default", "2");
        tEnv.getConfig().set("restart-strategy.type", "none"); // a failure fails the test instead of restarting
        script.run(tEnv, true);

        Map<String, List<ForecastResult>> expected = EngineReference.score(Forecaster.load(model),
                CalibrationSettings.DEFAULT.withThreshold(0.999).withWarmupEvents(100), readings);
        Map<String, List<JsonNode>> got = readJsonLines(scores).stream()
                .collect(Collectors.groupingBy(n -> n.get("sensor_id").asText()));
        assertEquals(expected.keySet(), got.keySet());
        for (String key : expected.keySet()) {
            List<JsonNode> rows = got.get(key);
            rows.sort(Comparator.comparingLong(n -> n.get("events_seen").asLong()));
            List<ForecastResult> e = expected.get(key);
            assertEquals(e.size(), rows.size(), key);
            for (int i = 0; i < e.size(); i++) {
                EngineReference.assertSame(e.get(i), toRow(rows.get(i)), key + " #" + i);
            }
        }
        List<JsonNode> bad = readJsonLines(rejected);
        assertEquals(1, bad.size());
        assertEquals("k2", bad.get(0).get("sensor_id").asText());
        assertEquals("feature 'vibration' is NULL", bad.get(0).get("rejected_reason").asText());
    }

    @Test
    void theKafkaAvroExamplePlans() throws Exception {
        SqlScript script = SqlScript.load("mamba-score-kafka-avro.sql", Map.of("FLINK_MAMBA_SQL_JAR", "unused.jar",
                "MODEL_DIR", model.toString(), "KAFKA_BOOTSTRAP", "localhost:9"));
        TableEnvironment tEnv = TableEnvironment.create(EnvironmentSettings.inStreamingMode());
        StatementSet set = script.run(tEnv, false);
        assertTrue(set != null, "the script ends with a statement set");
        String plan = set.explain();
        assertTrue(plan.contains("sensor_scores") && plan.contains("sensor_rejected") && plan.contains("MAMBA_SCORE"), plan);
    }

    private static List<JsonNode> readJsonLines(Path dir) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("."))
                    .collect(Collectors.toList())) {
                for (String line : Files.readAllLines(f)) {
                    if (!line.isBlank()) {
                        out.add(json.readTree(line));
                    }
                }
            }
        }
        return out;
    }

    /** The JSON score as the Row shape EngineReference checks. */
    private static Row toRow(JsonNode n) {
        Row r = Row.withNames();
        r.setField("events_seen", n.get("events_seen").asLong());
        r.setField("warming_up", n.get("warming_up").asBoolean());
        r.setField("is_anomaly", n.get("is_anomaly").asBoolean());
        r.setField("score", n.get("score").asDouble());
        r.setField("anomaly_likelihood", n.get("anomaly_likelihood").asDouble());
        r.setField("forecast", floats(n.get("forecast")));
        r.setField("forecast_std", floats(n.get("forecast_std")));
        return r;
    }

    private static Float[] floats(JsonNode a) {
        if (a == null || a.isNull()) {
            return null;
        }
        Float[] f = new Float[a.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = a.get(i).floatValue();
        }
        return f;
    }
}
