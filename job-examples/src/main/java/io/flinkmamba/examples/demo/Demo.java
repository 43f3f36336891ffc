package io.flinkmamba.examples.demo;

import io.flinkmamba.connectors.AvroRecordCodec;
import io.flinkmamba.connectors.avro.AnomalyScore;
import io.flinkmamba.connectors.avro.Measurement;
import io.flinkmamba.connectors.avro.SensorReading;
import io.flinkmamba.connectors.testing.LocalKafkaBroker;
import io.flinkmamba.examples.generator.AnomalyKind;
import io.flinkmamba.examples.generator.LabelledEvent;
import io.flinkmamba.examples.generator.StreamGenerator;
import io.flinkmamba.examples.jobs.JobConfig;
import io.flinkmamba.examples.jobs.SensorAnomalyJob;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ParameterTool;
import org.apache.flink.util.TimeUtils;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The one-command demo: a real Kafka broker (local, or {@code --bootstrap} for an existing one), the
 * sensor anomaly job on a local MiniCluster with its web UI, the labelled generator feeding many
 * sensors for a bounded time with progress lines, the scores read back with {@code read_committed},
 * and an HTML report with plots and precision/recall against the labels.
 *
 * <pre>
 * ./demo.sh [--duration 60s] [--bootstrap host:port] [--keys 32] [--rate 500] [--mode per-event|micro-batch]
 *           [--model DIR] [--threshold 0.999] [--out target/demo-report] [--seed 7]
 * </pre>
 */
public final class Demo {
    private static final Set<String> OPTIONS = Set.of("duration", "bootstrap", "keys", "rate", "mode", "model",
            "threshold", "out", "seed", "device", "progress-every", "grace", "streams-plotted");
    static final int CHANNELS = 3;
    static final int WINDOW = 5;

    /** What a run produced, for callers (the test) that check it. */
    public record Result(Path report, Evaluation.Counts counts, long produced, long scored, Map<String, String> topics) {}

    private Demo() {
    }

    public static void main(String[] args) throws Exception {
        try {
            Result result = run(args);
            System.exit(result.scored() == result.produced() ? 0 : 1);
        } catch (IllegalArgumentException e) {
            System.err.println("demo: " + e.getMessage());
            System.exit(2);
        }
    }

    public static Result run(String[] args) throws Exception {
        ParameterTool p = ParameterTool.fromArgs(args);
        for (String key : p.toMap().keySet()) {
            if (!OPTIONS.contains(key)) {
                throw new IllegalArgumentException("unknown option --" + key + "; known: " + new java.util.TreeSet<>(OPTIONS));
            }
        }
        Duration duration = TimeUtils.parseDuration(p.get("duration", "60s"));
        int keys = p.getInt("keys", 32);
        int rate = p.getInt("rate", 500);
        double threshold = p.getDouble("threshold", io.flinkmamba.operator.MambaOptions.ANOMALY_THRESHOLD.defaultValue());
        Path out = Path.of(p.get("out", "target/demo-report"));
        long seed = p.getLong("seed", 7);
        Duration progressEvery = TimeUtils.parseDuration(p.get("progress-every", "3s"));
        Duration grace = TimeUtils.parseDuration(p.get("grace", "30s"));
        String model = p.get("model", SensorAnomalyJob.DEFAULT_MODEL);
        String mode = p.get("mode", "per-event");
        if (keys < 1 || rate < 1) {
            throw new IllegalArgumentException("--keys and --rate must be positive");
        }

        LocalKafkaBroker broker = null;
        MiniCluster cluster = null;
        try {
            String bootstrap = p.get("bootstrap", null);
            if (bootstrap == null) {
                log("starting a local Kafka broker (KRaft, own JVM; the first run fetches it with Maven)...");
                broker = LocalKafkaBroker.start();
                bootstrap = broker.bootstrapServers();
            }
            String run = "demo-" + Instant.now().getEpochSecond();
            Map<String, String> topics = Map.of("input", run + "-readings", "output", run + "-scores", "dead-letters", run + "-dlq");
            createTopics(bootstrap, topics);
            log("Kafka at " + bootstrap + "; topics " + new TreeMap<>(topics).values());

            Map<String, String> settings = new HashMap<>();
            settings.put("kafka.bootstrap-servers", bootstrap);
            settings.put("kafka.input-topic", topics.get("input"));
            settings.put("kafka.output-topic", topics.get("output"));
            settings.put("kafka.dead-letter-topic", topics.get("dead-letters"));
            settings.put("kafka.group-id", run);
            settings.put("kafka.transactional-id-prefix", run);
            settings.put("model", model);
            settings.put("mode", mode);
            settings.put("threshold", Double.toString(threshold));
            settings.put("checkpoint-interval", "2s");
            // Barriers overtake a backlog (a slow start, a busy machine), so scores keep being committed.
            settings.put(org.apache.flink.configuration.CheckpointingOptions.ENABLE_UNALIGNED.key(), "true");
            settings.put("parallelism", "2");
            if (p.has("device")) {
                settings.put("device", p.get("device"));
            }
            JobConfig config = JobConfig.fromMap(settings, SensorAnomalyJob.DEFAULT_MODEL);
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config.configuration());
            env.setParallelism(config.parallelism());
            SensorAnomalyJob.build(env, config);
            JobGraph job = env.getStreamGraph().getJobGraph();

            Configuration clusterConf = new Configuration();
            clusterConf.set(RestOptions.BIND_PORT, "8081-8181");
            clusterConf.set(RestOptions.ADDRESS, "127.0.0.1");
            clusterConf.set(TaskManagerOptions.NUM_TASK_SLOTS, 2);
            cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
                    .setConfiguration(clusterConf).setNumTaskManagers(1).setNumSlotsPerTaskManager(2).build());
            cluster.start();
            String webUi = cluster.getRestAddress().get().toString();
            JobID jobId = cluster.submitJob(job).get().getJobID();
            log("Flink MiniCluster web UI: " + webUi + "  (job " + jobId + ", " + mode + ", model " + model + ")");

            Map<String, Map<Long, AnomalyKind>> labels = new HashMap<>();
            long produced;
            try (ScoreCollector scores = new ScoreCollector(bootstrap, topics.get("output"));
                 DeadLetterCounter dead = new DeadLetterCounter(bootstrap, topics.get("dead-letters"))) {
                Progress progress = new Progress(scores, dead);
                produced = produce(bootstrap, topics.get("input"), keys, rate, seed, duration, progressEvery, labels,
                        progress, cluster, jobId);
                log(String.format(Locale.ROOT, "generator stopped after %,d events; waiting for the job to catch up and commit...", produced));
                // Wait while the job makes progress; give up after --grace without any.
                long deadline = System.nanoTime() + grace.toNanos();
                long nextProgress = System.nanoTime() + progressEvery.toNanos();
                long last = -1;
                while (scores.count() + dead.count() < produced && System.nanoTime() < deadline) {
                    long now = scores.count() + dead.count();
                    if (now != last) {
                        last = now;
                        deadline = System.nanoTime() + grace.toNanos();
                    }
                    if (!jobRunning(cluster, jobId)) {
                        throw new IllegalStateException("the job stopped: " + failureOf(cluster, jobId));
                    }
                    if (System.nanoTime() >= nextProgress) {
                        progress.print("waiting", produced);
                        nextProgress += progressEvery.toNanos();
                    }
                    Thread.sleep(250);
                }
                cluster.cancelJob(jobId).get(30, TimeUnit.SECONDS);
                progress.print("final  ", produced);
                if (scores.count() + dead.count() != produced) {
                    log(String.format(Locale.ROOT, "WARNING: %,d events produced, %,d scores and %,d dead letters committed "
                            + "(nothing new committed for --grace %s); %s%s", produced, scores.count(), dead.count(), grace,
                            ScoreCollector.offsets(bootstrap, topics.get("output")),
                            scores.failure() == null ? "" : "reader failed: " + scores.failure()));
                }
                if (dead.count() > 0) {
                    log("dead letters by reason: " + dead.byReason());
                }
                if (scores.count() + dead.count() != produced) {
                    log("scores missing (key: eventsSeen ranges): " + gaps(scores.scores()));
                }
                List<AnomalyScore> all = scores.scores();
                Result result = report(all, labels, out, threshold, produced, Map.of(
                        "web UI (while it ran)", webUi, "Kafka", broker == null ? bootstrap : bootstrap + " (local broker)",
                        "topics", new TreeMap<>(topics).toString(), "mode", mode, "model", model,
                        "duration", duration.toString(), "keys", Integer.toString(keys), "rate (events/s)", Integer.toString(rate)),
                        topics);
                Evaluation.Counts c = result.counts();
                log(String.format(Locale.ROOT, "precision %.3f, recall %.3f, F1 %.3f (%d of %d anomaly episodes, %d flagged events)",
                        c.precision(), c.recall(), c.f1(), c.detected(), c.episodes(), c.flagged()));
                log("report: " + result.report().toAbsolutePath().toUri());
                return result;
            }
        } finally {
            if (cluster != null) {
                cluster.closeAsync().get(60, TimeUnit.SECONDS);
            }
            if (broker != null) {
                broker.close();
            }
        }
    }

    private static long produce(String bootstrap, String topic, int keys, int rate, long seed, Duration duration,
                                Duration progressEvery, Map<String, Map<Long, AnomalyKind>> labels, Progress progress,
                                MiniCluster cluster, JobID jobId) throws Exception {
        AvroRecordCodec<SensorReading> codec = AvroRecordCodec.of(SensorReading.class);
        StreamGenerator generator = generator(keys, seed);
        Map<String, Object> config = Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.LINGER_MS_CONFIG, 5);
        long produced = 0;
        long start = System.nanoTime(), end = start + duration.toNanos(), nextProgress = start + progressEvery.toNanos();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config)) {
            while (System.nanoTime() < end) {
                long due = (long) ((System.nanoTime() - start) / 1e9 * rate);
                while (produced < due) {
                    LabelledEvent e = generator.next();
                    if (e.anomaly != null) {
                        labels.computeIfAbsent(e.key, k -> new HashMap<>()).put(e.timestamp, e.anomaly);
                    }
                    producer.send(new ProducerRecord<>(topic, e.key.getBytes(StandardCharsets.UTF_8), codec.encode(reading(e))));
                    produced++;
                }
                if (System.nanoTime() >= nextProgress) {
                    progress.print(String.format(Locale.ROOT, "t=%4ds", (System.nanoTime() - start) / 1_000_000_000L), produced);
                    nextProgress += progressEvery.toNanos();
                    if (!jobRunning(cluster, jobId)) {
                        throw new IllegalStateException("the job stopped: " + failureOf(cluster, jobId));
                    }
                }
                Thread.sleep(20);
            }
            producer.flush();
        }
        return produced;
    }

    /** The demo's labelled streams: sensors of 3 channels, an anomaly episode in 60% of every 100 events of a key. */
    public static StreamGenerator generator(int keys, long seed) {
        return new StreamGenerator(StreamGenerator.Family.SENSOR, keys, CHANNELS, 1_000_000_000L / keys, seed,
                0.6, 100, 1000L, 1_700_000_000_000L);
    }

    /** A generated event as the Kafka record the job reads (measurements v0, v1, ...). */
    public static SensorReading reading(LabelledEvent e) {
        List<Measurement> measurements = new ArrayList<>(e.values.length);
        for (int c = 0; c < e.values.length; c++) {
            measurements.add(new Measurement("v" + c, (double) e.values[c]));
        }
        return SensorReading.newBuilder().setStreamId(e.key).setEventTimeMillis(e.timestamp)
                .setMeasurements(measurements).setSource("demo-generator").build();
    }

    private static boolean jobRunning(MiniCluster cluster, JobID jobId) throws Exception {
        JobStatus status = cluster.getJobStatus(jobId).get();
        return !status.isGloballyTerminalState();
    }

    /** Per key, the ranges of eventsSeen that are not in the scores (a key's scores count 1, 2, 3, ...). */
    static String gaps(List<AnomalyScore> all) {
        Map<String, List<Long>> seen = new TreeMap<>();
        for (AnomalyScore s : all) {
            seen.computeIfAbsent(s.getKey(), k -> new ArrayList<>()).add(s.getEventsSeen());
        }
        StringBuilder sb = new StringBuilder();
        seen.forEach((key, list) -> {
            list.sort(null);
            long expect = 1;
            for (long n : list) {
                if (n > expect) {
                    sb.append(key).append(':').append(expect).append('-').append(n - 1).append(' ');
                }
                expect = n + 1;
            }
        });
        return sb.length() == 0 ? "none inside a key's sequence (the tail is missing)" : sb.toString();
    }

    private static String failureOf(MiniCluster cluster, JobID jobId) throws Exception {
        return cluster.requestJobResult(jobId).get().getSerializedThrowable()
                .map(t -> t.getFullStringifiedStackTrace()).orElse("(no cause given)");
    }

    /** The progress line: events produced, scores and dead letters committed, anomalies among the scores. */
    private record Progress(ScoreCollector scores, DeadLetterCounter dead) {
        void print(String when, long produced) {
            log(String.format(Locale.ROOT, "%s events in %,9d | scored %,9d | anomalies found %,6d | dead letters %,d",
                    when, produced, scores.count(), scores.anomalies(), dead.count()));
        }
    }

    /** Evaluates the scores against the labels and writes the report. */
    static Result report(List<AnomalyScore> all, Map<String, Map<Long, AnomalyKind>> labels, Path out, double threshold,
                         long produced, Map<String, String> runInfo, Map<String, String> topics) throws Exception {
        Map<String, List<AnomalyScore>> byKey = all.stream().collect(Collectors.groupingBy(
                s -> s.getKey(), TreeMap::new, Collectors.toList()));
        Evaluation evaluation = new Evaluation(WINDOW);
        Map<String, List<HtmlReport.Row>> rowsByKey = new TreeMap<>();
        for (Map.Entry<String, List<AnomalyScore>> e : byKey.entrySet()) {
            List<AnomalyScore> list = new ArrayList<>(e.getValue());
            list.sort(Comparator.comparingLong(AnomalyScore::getEventsSeen));
            Map<Long, AnomalyKind> keyLabels = labels.getOrDefault(e.getKey(), Map.of());
            List<Evaluation.Point> points = new ArrayList<>();
            List<HtmlReport.Row> rows = new ArrayList<>();
            for (AnomalyScore s : list) {
                AnomalyKind label = keyLabels.get(s.getEventTimeMillis());
                points.add(new Evaluation.Point(s.getEventTimeMillis(), s.getIsAnomaly(), s.getWarmingUp(), label));
                rows.add(new HtmlReport.Row(s, label));
            }
            evaluation.addKey(points);
            rowsByKey.put(e.getKey(), rows);
        }
        // plot the streams with the most labelled events, their last 400 events
        Map<String, List<HtmlReport.Row>> plotted = new LinkedHashMap<>();
        rowsByKey.entrySet().stream()
                .sorted(Comparator.comparingLong((Map.Entry<String, List<HtmlReport.Row>> e) ->
                        -e.getValue().stream().filter(r -> r.label() != null).count()).thenComparing(Map.Entry::getKey))
                .limit(4)
                .forEach(e -> plotted.put(e.getKey(), e.getValue().subList(Math.max(0, e.getValue().size() - 400), e.getValue().size())));
        Map<String, String> info = new LinkedHashMap<>(new TreeMap<>(runInfo));
        info.put("model version", all.isEmpty() ? "(no scores)" : all.get(0).getModelVersion());
        info.put("events produced", Long.toString(produced));
        info.put("scores read back (read_committed)", Long.toString(all.size()));
        info.put("streams plotted", String.join(", ", plotted.keySet()));
        Path index = HtmlReport.write(out, info, evaluation, plotted, threshold);
        return new Result(index, evaluation.counts(), produced, all.size(), topics);
    }

    private static void createTopics(String bootstrap, Map<String, String> topics) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            admin.createTopics(List.of(
                    new NewTopic(topics.get("input"), 3, (short) 1),
                    new NewTopic(topics.get("output"), 3, (short) 1),
                    new NewTopic(topics.get("dead-letters"), 1, (short) 1))).all().get(60, TimeUnit.SECONDS);
        }
    }

    private static void log(String line) {
        System.out.println("[demo] " + line);
        System.out.flush();
    }
}
