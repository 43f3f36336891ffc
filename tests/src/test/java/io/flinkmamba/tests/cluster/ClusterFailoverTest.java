package io.flinkmamba.tests.cluster;

import io.flinkmamba.connectors.AvroRecordCodec;
import io.flinkmamba.connectors.avro.AnomalyScore;
import io.flinkmamba.connectors.avro.Measurement;
import io.flinkmamba.connectors.avro.SensorReading;
import io.flinkmamba.connectors.testing.LocalKafkaBroker;
import io.flinkmamba.examples.generator.LabelledEvent;
import io.flinkmamba.examples.generator.StreamGenerator;
import io.flinkmamba.examples.jobs.JobConfig;
import io.flinkmamba.examples.jobs.SensorAnomalyJob;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The packaged sensor job on a real standalone cluster (a JobManager and TaskManagers as separate
 * JVMs) with a real Kafka broker: one TaskManager is SIGKILLed mid-stream and replaced, then the job
 * is stopped with a savepoint and resumed at another parallelism. Read with {@code read_committed},
 * every input is scored exactly once, in order per key, and every score equals the one a run
 * without any failure (a bounded MiniCluster run of the same job over the same topic) gives.
 */
class ClusterFailoverTest {
    private static final int KEYS = 12;
    private static final int PHASE1 = 160;
    private static final int PHASE2 = 60;
    private static final String IN = "readings", OUT = "scores", DLQ = "dead-letters", REF_OUT = "reference-scores";

    private static LocalKafkaBroker broker;
    private final AvroRecordCodec<SensorReading> readings = AvroRecordCodec.of(SensorReading.class);
    private final AvroRecordCodec<AnomalyScore> scores = AvroRecordCodec.of(AnomalyScore.class);

    @BeforeAll
    static void startBroker() {
        broker = LocalKafkaBroker.start();
        broker.createTopic(IN, 4);
        broker.createTopic(OUT, 2);
        broker.createTopic(REF_OUT, 2);
        broker.createTopic(DLQ, 1);
    }

    @AfterAll
    static void stopBroker() {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void survivesTaskManagerLossAndRescalesFromSavepoint() throws Exception {
        // Under target/, not a temp dir: the processes' logs stay there when something fails.
        Path dir = Files.createDirectories(Path.of("target", "cluster-failover-" + System.currentTimeMillis())).toAbsolutePath();
        Path jobJar = Path.of(System.getProperty("flinkmamba.job.jar", "missing"));
        Path model = Path.of(System.getProperty("flinkmamba.sensor.model", "missing")).toAbsolutePath();
        assertTrue(Files.isRegularFile(jobJar), "the packaged job jar is built by `mvn package` of job-examples: " + jobJar);
        assertTrue(Files.isDirectory(model), "model directory " + model);

        List<LabelledEvent> events = new ArrayList<>();
        new StreamGenerator(StreamGenerator.Family.SENSOR, KEYS, 3, PHASE1 + PHASE2, 4242).forEachRemaining(events::add);
        List<LabelledEvent> phase1 = events.subList(0, KEYS * PHASE1);
        List<LabelledEvent> phase2 = events.subList(KEYS * PHASE1, events.size());

        // One slot per TaskManager: the job at parallelism 2 runs on both, so the kill hits it.
        Map<String, String> extra = Map.of("state.backend.type", "rocksdb", "execution.checkpointing.incremental", "true",
                "taskmanager.numberOfTaskSlots", "1");
        try (StandaloneFlinkCluster cluster = StandaloneFlinkCluster.start(dir.resolve("cluster"), 2, extra);
             KafkaProducer<byte[], byte[]> producer = producer()) {
            FlinkRestClient rest = cluster.rest();
            String jarId = rest.uploadJar(jobJar);
            String job = rest.runJar(jarId, SensorAnomalyJob.class.getName(), jobArgs(model, OUT, "cluster-run", 2), 2, null);

            // First half of phase 1, then a SIGKILL once a checkpoint exists and scores are flowing.
            int half = phase1.size() / 2;
            send(producer, phase1.subList(0, half), 0);
            awaitCheckpoints(rest, job, 1);
            // The second half is still arriving (paced) when the TaskManager dies.
            Thread sender = new Thread(() -> send(producer, phase1.subList(half, phase1.size()), 3));
            sender.start();
            Thread.sleep(1000);
            cluster.killTaskManager(0);
            cluster.startTaskManager();
            sender.join();
            Map<String, List<AnomalyScore>> afterFailure = awaitScores(OUT, phase1.size(), Duration.ofSeconds(180));
            long restarts = restarts(rest, job);
            assertTrue(restarts >= 1, "the job restarted after the TaskManager was killed: failures recorded=" + restarts);

            // Stop with a savepoint, resume at parallelism 3 on one more TaskManager, feed phase 2.
            cluster.startTaskManager();
            cluster.awaitTaskManagers(3, Duration.ofSeconds(60));
            String savepoint = rest.stopWithSavepoint(job, dir.resolve("savepoints"), Duration.ofSeconds(120));
            String resumed = rest.runJar(jarId, SensorAnomalyJob.class.getName(),
                    jobArgs(model, OUT, "cluster-run", 3), 3, savepoint);
            send(producer, phase2, 0);
            Map<String, List<AnomalyScore>> all = awaitScores(OUT, events.size(), Duration.ofSeconds(180));
            rest.cancel(resumed);

            Map<String, List<AnomalyScore>> reference = referenceRun(model);
            assertEquals(KEYS, reference.size());
            assertEquals(afterFailure.keySet(), reference.keySet());
            for (Map.Entry<String, List<AnomalyScore>> e : reference.entrySet()) {
                List<AnomalyScore> expected = e.getValue();
                List<AnomalyScore> actual = all.get(e.getKey());
                assertEquals(PHASE1 + PHASE2, expected.size(), "reference scores of " + e.getKey());
                assertEquals(expected.size(), actual.size(), "scores of " + e.getKey() + " (exactly once)");
                for (int i = 0; i < expected.size(); i++) {
                    AnomalyScore x = expected.get(i), y = actual.get(i);
                    assertEquals(x.getEventTimeMillis(), y.getEventTimeMillis(), e.getKey() + " event " + i + ": order");
                    assertEquals(x.getScore(), y.getScore(), 1e-6 * Math.max(1, Math.abs(x.getScore())),
                            e.getKey() + " event " + i + ": score after failure/rescale vs the uninterrupted run");
                    assertEquals(x.getAnomalyLikelihood(), y.getAnomalyLikelihood(), 1e-6, e.getKey() + " event " + i + ": likelihood");
                }
            }
        }
    }

    private List<String> jobArgs(Path model, String outputTopic, String name, int parallelism) {
        return List.of("--model", model.toString(), "--parallelism", Integer.toString(parallelism),
                "--kafka.bootstrap-servers", broker.bootstrapServers(),
                "--kafka.input-topic", IN, "--kafka.output-topic", outputTopic, "--kafka.dead-letter-topic", DLQ,
                "--kafka.group-id", name, "--kafka.transactional-id-prefix", name,
                // A transaction the killed TaskManager left open holds back read_committed readers of
                // its partition (the last stable offset) until the broker times it out: 30 s, not 15 min.
                "--kafka.properties.transaction.timeout.ms", "30000",
                "--checkpoint-interval", "1s");
    }

    /** The same job, uninterrupted, bounded at the topic's end, on a MiniCluster in this JVM. */
    private Map<String, List<AnomalyScore>> referenceRun(Path model) throws Exception {
        Map<String, String> settings = new LinkedHashMap<>();
        List<String> args = jobArgs(model, REF_OUT, "reference-run", 2);
        for (int i = 0; i < args.size(); i += 2) {
            settings.put(args.get(i).substring(2), args.get(i + 1));
        }
        settings.put("bounded", "true");
        JobConfig config = JobConfig.fromMap(settings, SensorAnomalyJob.DEFAULT_MODEL);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config.configuration());
        env.setParallelism(config.parallelism());
        SensorAnomalyJob.build(env, config);
        env.execute("reference run");
        return awaitScores(REF_OUT, KEYS * (PHASE1 + PHASE2), Duration.ofSeconds(60));
    }

    /** Sends the events in order, pausing {@code pauseMillis} every 3 events (0: as fast as possible). */
    private void send(KafkaProducer<byte[], byte[]> producer, List<LabelledEvent> batch, long pauseMillis) {
        int n = 0;
        for (LabelledEvent e : batch) {
            if (pauseMillis > 0 && ++n % 3 == 0) {
                try {
                    Thread.sleep(pauseMillis);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            List<Measurement> m = new ArrayList<>();
            for (int c = 0; c < e.values.length; c++) {
                m.add(new Measurement("c" + c, (double) e.values[c]));
            }
            SensorReading r = SensorReading.newBuilder().setStreamId(e.key).setEventTimeMillis(e.timestamp)
                    .setMeasurements(m).build();
            producer.send(new ProducerRecord<>(IN, e.key.getBytes(), readings.encode(r)));
        }
        producer.flush();
    }

    private KafkaProducer<byte[], byte[]> producer() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Reads the whole topic (read_committed) until {@code count} scores are there; scores per key in topic order. */
    private Map<String, List<AnomalyScore>> awaitScores(String topic, int count, Duration timeout) throws Exception {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // records deleted before they are read (retention) fail here rather than being skipped
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        long deadline = System.nanoTime() + timeout.toNanos();
        int seen = 0;
        Map<String, List<AnomalyScore>> byKey = new TreeMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).collect(Collectors.toList());
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    AnomalyScore s = scores.decode(r.value());
                    byKey.computeIfAbsent(s.getKey().toString(), k -> new ArrayList<>()).add(s);
                    seen++;
                }
                if (seen >= count) {
                    // a little longer: more than expected would be a duplicate
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofSeconds(2))) {
                        AnomalyScore s = scores.decode(r.value());
                        byKey.computeIfAbsent(s.getKey().toString(), k -> new ArrayList<>()).add(s);
                        seen++;
                    }
                    assertEquals(count, seen, "committed scores in " + topic + " (duplicates?)");
                    return byKey;
                }
            }
        }
        fail("only " + seen + " of " + count + " committed scores in " + topic + " within " + timeout
                + "; read_uncommitted sees " + uncommittedCount(topic) + " records (committed, aborted and open)");
        return null;
    }

    private long uncommittedCount(String topic) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).collect(Collectors.toList());
            long n = 0;
            for (Map.Entry<TopicPartition, Long> e : consumer.endOffsets(parts).entrySet()) {
                n += e.getValue();
            }
            return n; // offsets include transaction markers
        }
    }

    private static void awaitCheckpoints(FlinkRestClient rest, String job, long n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (rest.completedCheckpoints(job) >= n) {
                    return;
                }
            } catch (java.io.IOException notYet) {
                // the job may still be starting
            }
            Thread.sleep(300);
        }
        fail("no completed checkpoint of " + job + " within 120 s (state " + rest.jobState(job) + ")");
    }

    /** Failures the JobManager recorded for the job (each one led to a restart from the last checkpoint). */
    private static long restarts(FlinkRestClient rest, String job) throws Exception {
        return rest.failureCount(job);
    }
}
