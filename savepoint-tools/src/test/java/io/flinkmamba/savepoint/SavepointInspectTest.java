package io.flinkmamba.savepoint;

import io.flinkmamba.operator.AnomalyScore;
import io.flinkmamba.operator.FeatureExtractor;
import io.flinkmamba.operator.MambaOperators;
import io.flinkmamba.operator.MambaSpec;
import io.flinkmamba.operator.ScoringMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.legacy.SinkFunction;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A MiniCluster job scores a stream with the shipped general-univariate forecaster (replay window 16),
 * is stopped with a savepoint, and the inspect tool reads every key's state back from it.
 */
class SavepointInspectTest {
    /** Runs the scoring job on the first EVENTS readings and stops it with a savepoint under {@code dir}; returns its path. */
    static String scoreThenSavepoint(Path modelDir, String version, Path dir) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        DataGeneratorSource<Tuple2<String, Float>> source = new DataGeneratorSource<>(new Readings(), Long.MAX_VALUE,
                RateLimiterStrategy.perSecond(2000), Types.TUPLE(Types.STRING, Types.FLOAT));
        MambaSpec<Tuple2<String, Float>> spec = MambaSpec.builder(modelDir.toString(), version, new Values())
                .mode(ScoringMode.MICRO_BATCH).batchMaxEvents(32).replayWindow(WINDOW).uid("anomaly-scoring").build();
        MambaOperators.scoreAnomalies(env.fromSource(source, WatermarkStrategy.noWatermarks(), "readings").uid("readings")
                        .setParallelism(1).filter(e -> !e.f0.equals("idle")).keyBy(e -> e.f0), spec)
                .addSink(new Count());
        SCORED.set(0);
        LAST_SEEN.clear();
        INPUTS.clear();
        JobClient job = env.executeAsync("scoring");
        long deadline = System.currentTimeMillis() + 120_000;
        while (SCORED.get() < EVENTS && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(EVENTS, SCORED.get(), "every event scored before the savepoint");
        return job.stopWithSavepoint(false, dir.toUri().toString(), SavepointFormatType.CANONICAL).get();
    }

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    static final int KEYS = 7;
    static final int EVENTS = 350;
    static final int WINDOW = 16;
    static final AtomicLong SCORED = new AtomicLong();
    static final Map<String, Long> LAST_SEEN = new ConcurrentHashMap<>();
    /** The inputs each key was scored with, in order (one sink subtask per key). */
    static final Map<String, List<Float>> INPUTS = new ConcurrentHashMap<>();

    /** Event i: key "s" + i % KEYS, a seasonal value; after EVENTS, idle events (filtered) until stopped. */
    static final class Readings implements GeneratorFunction<Long, Tuple2<String, Float>> {
        private static final long serialVersionUID = 1L;

        @Override
        public Tuple2<String, Float> map(Long i) {
            if (i >= EVENTS) {
                return Tuple2.of("idle", 0f);
            }
            return Tuple2.of("s" + (i % KEYS), (float) (20 + 3 * Math.sin(i / 9.0) + (i % KEYS)));
        }
    }

    static final class Values implements FeatureExtractor<Tuple2<String, Float>> {
        private static final long serialVersionUID = 1L;

        @Override
        public float[] features(Tuple2<String, Float> e) {
            return new float[] {e.f1};
        }
    }

    static final class Count implements SinkFunction<AnomalyScore<String>> {
        private static final long serialVersionUID = 1L;

        @Override
        public void invoke(AnomalyScore<String> s, Context ctx) {
            LAST_SEEN.merge(s.key, s.eventsSeen, Math::max);
            INPUTS.computeIfAbsent(s.key, k -> java.util.Collections.synchronizedList(new java.util.ArrayList<>())).add(s.input[0]);
            SCORED.incrementAndGet();
        }
    }

    static Path model() {
        return Paths.get("..", "models", "general-univariate").toAbsolutePath().normalize();
    }

    @Test
    void inspectReadsEveryKeysModelVersionCountsAndBuffersFromAMiniClusterSavepoint() throws Exception {
        // under target/ (not a temp dir) so the command line can be tried on it: bin/flink-mamba savepoint inspect ...
        String savepoint = scoreThenSavepoint(model(), "gu-1", Paths.get("target", "savepoint-inspect-test").toAbsolutePath());

        List<KeyReport> keys = SavepointInspector.inspect(savepoint, "anomaly-scoring", "string");
        assertEquals(KEYS, keys.size());
        String fingerprint = io.flinkmamba.kernels.forecast.Forecaster.load(model()).fingerprint();
        for (KeyReport r : keys) {
            assertEquals("gu-1", r.modelVersion, r.key);
            assertEquals(fingerprint, r.modelFingerprint, r.key);
            assertEquals((long) LAST_SEEN.get(r.key), r.eventsSeen, "events of " + r.key);
            assertEquals(EVENTS / KEYS, r.eventsSeen);
            assertEquals(WINDOW, r.replayEvents);
            assertEquals(WINDOW, r.replayCapacity);
            assertEquals(1, r.forecastFeatures);
            assertEquals(0, r.pendingEvents, "flushed at the savepoint barrier");
            assertTrue(r.stateBytes > 4L * r.stateFloats, "state bytes cover the backbone floats");
        }

        ByteArrayOutputStream text = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = SavepointCommand.run(new String[] {"inspect", savepoint, "--uid", "anomaly-scoring"},
                new PrintStream(text, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        String t = text.toString(StandardCharsets.UTF_8);
        assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
        assertTrue(t.contains(KEYS + " keys"), t);
        assertTrue(t.contains("gu-1 " + fingerprint + ": " + KEYS + " keys"), t);
        assertTrue(t.contains("replay-buffered events " + KEYS * WINDOW), t);

        ByteArrayOutputStream json = new ByteArrayOutputStream();
        assertEquals(0, SavepointCommand.run(new String[] {"inspect", savepoint, "--uid", "anomaly-scoring", "--json"},
                new PrintStream(json, true, StandardCharsets.UTF_8), System.err));
        String j = json.toString(StandardCharsets.UTF_8);
        assertEquals(KEYS, j.split("\"modelVersion\":\"gu-1\"", -1).length - 1, j);

        // a wrong uid is a clear failure, not an empty report
        ByteArrayOutputStream err2 = new ByteArrayOutputStream();
        assertEquals(1, SavepointCommand.run(new String[] {"inspect", savepoint, "--uid", "no-such-operator"},
                new PrintStream(new ByteArrayOutputStream()), new PrintStream(err2, true, StandardCharsets.UTF_8)));
        assertTrue(err2.toString(StandardCharsets.UTF_8).contains("no-such-operator"), err2.toString(StandardCharsets.UTF_8));
    }
}
