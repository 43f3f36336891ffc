package io.flinkmamba.tests.bench;

import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.testing.RandomCheckpoints;
import io.flinkmamba.operator.FeatureExtractor;
import io.flinkmamba.operator.MambaOperators;
import io.flinkmamba.operator.MambaOptions;
import io.flinkmamba.operator.MambaScore;
import io.flinkmamba.operator.MambaSpec;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Keyed Mamba state at scale on EmbeddedRocksDB with incremental checkpoints: K keys of the hidden-64
 * model (state 16, 2 layers) scored per event, round-robin over the keys, for a fixed time with
 * periodic checkpoints; then a restore from the last retained checkpoint. Prints state bytes per key
 * and in total, each checkpoint's duration, checkpointed (incremental) and full size, events/s inside
 * and outside checkpoints, and the restore time (submission to the first scored event).
 *
 * <pre>
 * tests/bench/run-state-bench.sh --keys 1000000 --seconds 300 --interval 60s [--ttl 120s --active-fraction 0.1]
 * </pre>
 * With {@code --ttl}, after the first pass only {@code active-fraction} of the keys keep receiving
 * events, so the idle ones expire: compare the checkpoints' full sizes with and without it.
 */
public final class StateAtScaleBench {
    /** Scored events, counted in this JVM (the MiniCluster runs here). */
    static final AtomicLong SCORED = new AtomicLong();
    private static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) throws Exception {
        long keys = 100_000;
        int seconds = 120;
        Duration interval = Duration.ofSeconds(30);
        Duration ttl = Duration.ZERO;
        double activeFraction = 1.0;
        int parallelism = 1;
        Path work = Path.of("target", "state-bench");
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--keys": keys = Long.parseLong(args[i + 1]); break;
                case "--seconds": seconds = Integer.parseInt(args[i + 1]); break;
                case "--interval": interval = org.apache.flink.util.TimeUtils.parseDuration(args[i + 1]); break;
                case "--ttl": ttl = org.apache.flink.util.TimeUtils.parseDuration(args[i + 1]); break;
                case "--active-fraction": activeFraction = Double.parseDouble(args[i + 1]); break;
                case "--parallelism": parallelism = Integer.parseInt(args[i + 1]); break;
                case "--work": work = Path.of(args[i + 1]); break;
                default: throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        work = work.toAbsolutePath();
        deleteRecursively(work);
        Files.createDirectories(work);
        MambaConfig config = MambaConfig.of(64, 16, 2);
        Path model = RandomCheckpoints.write(work.resolve("model"), config, 11);
        System.out.printf(Locale.ROOT, "machine: %s, %d cores; keys %d, hidden %d, state %d, layers %d, parallelism %d, "
                        + "interval %s, ttl %s, active fraction %.2f%n", cpuModel(), Runtime.getRuntime().availableProcessors(),
                keys, config.hiddenSize(), config.stateSize(), config.numLayers(), parallelism, interval, ttl, activeFraction);
        long stateFloats = config.stateFloats();
        System.out.printf(Locale.ROOT, "state per key: %d floats = %d bytes of Mamba state (+ counters and fingerprint in the serialized form)%n",
                stateFloats, stateFloats * 4);

        Run first = run(work, model, keys, seconds, interval, ttl, activeFraction, parallelism, null);
        System.out.println(first.report("run"));
        if (first.lastCheckpoint == null) {
            System.out.println("no checkpoint completed: no restore measured");
            return;
        }
        Run restored = run(work, model, keys, 0, interval, ttl, activeFraction, parallelism, first.lastCheckpoint);
        System.out.printf(Locale.ROOT, "restore from %s: %.1f s from submission to the first scored event%n",
                first.lastCheckpoint, restored.firstEventSeconds);
    }

    static final class Run {
        final List<String> checkpointLines = new ArrayList<>();
        final List<double[]> samples = new ArrayList<>(); // {t, scored, inCheckpoint}
        String lastCheckpoint;
        double firstEventSeconds = -1;
        long lastFullSize;

        String report(String name) {
            double inCp = 0, inCpT = 0, outCp = 0, outCpT = 0;
            for (int i = 1; i < samples.size(); i++) {
                double dt = samples.get(i)[0] - samples.get(i - 1)[0];
                double dn = samples.get(i)[1] - samples.get(i - 1)[1];
                if (samples.get(i)[2] > 0) {
                    inCp += dn;
                    inCpT += dt;
                } else {
                    outCp += dn;
                    outCpT += dt;
                }
            }
            StringBuilder b = new StringBuilder();
            b.append(name).append(": checkpoints (id, end-to-end s, checkpointed MB, full state MB):\n");
            checkpointLines.forEach(l -> b.append("  ").append(l).append('\n'));
            long total = samples.isEmpty() ? 0 : (long) samples.get(samples.size() - 1)[1];
            b.append(String.format(Locale.ROOT, "  events scored: %d; events/s outside checkpoints %.0f, while a checkpoint runs %.0f (ratio %.2f)%n",
                    total, outCp / Math.max(outCpT, 1e-9), inCp / Math.max(inCpT, 1e-9),
                    (inCp / Math.max(inCpT, 1e-9)) / Math.max(outCp / Math.max(outCpT, 1e-9), 1e-9)));
            return b.toString();
        }
    }

    private static Run run(Path work, Path model, long keys, int seconds, Duration interval, Duration ttl,
                           double activeFraction, int parallelism, String restoreFrom) throws Exception {
        int restPort = freePort();
        Configuration conf = new Configuration();
        conf.setString("state.backend.type", "rocksdb");
        conf.setString("execution.checkpointing.incremental", "true");
        conf.setString("execution.checkpointing.dir", work.resolve("checkpoints").toUri().toString());
        conf.setString("execution.checkpointing.interval", interval.toMillis() + " ms");
        conf.setString("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
        conf.setString("execution.checkpointing.timeout", "30 min");
        // The source runs flat out, so the job is always backpressured: aligned barriers would queue
        // behind every buffered event. Unaligned checkpoints are what such a job runs with.
        conf.setString("execution.checkpointing.unaligned.enabled", "true");
        conf.setString("rest.port", Integer.toString(restPort));
        conf.setString("rest.bind-address", "127.0.0.1");
        conf.setString("taskmanager.memory.managed.size", "1g");
        conf.setString("taskmanager.numberOfTaskSlots", Integer.toString(parallelism));
        conf.setString("io.tmp.dirs", work.resolve("tmp").toString());
        if (restoreFrom != null) {
            conf.setString("execution.state-recovery.path", restoreFrom);
        }
        conf.set(MambaOptions.STATE_TTL, ttl);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(parallelism);

        long k = keys;
        long active = Math.max(1, (long) (keys * activeFraction));
        GeneratorFunction<Long, Reading> gen = i -> Reading.of(i < k ? i : (i - k) % active, i);
        DataGeneratorSource<Reading> source = new DataGeneratorSource<>(gen, Long.MAX_VALUE,
                RateLimiterStrategy.noOp(), Types.POJO(Reading.class));
        MambaSpec<Reading> spec = MambaSpec.builder(model.toString(), "bench", new Reading.Extractor())
                .uid("mamba-scoring").build();
        MambaOperators.score(env.fromSource(source, WatermarkStrategy.noWatermarks(), "readings").uid("readings")
                        .keyBy(r -> r.key, Types.LONG), spec)
                .map(new Count()).uid("count")
                .sinkTo(new DiscardingSink<>()).uid("sink");

        SCORED.set(0);
        Run run = new Run();
        long start = System.nanoTime();
        JobClient job = env.executeAsync("state at scale");
        String jobId = job.getJobID().toHexString();
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + restPort;
        if (restoreFrom != null) {
            while (SCORED.get() == 0) {
                Thread.sleep(50);
            }
            run.firstEventSeconds = (System.nanoTime() - start) / 1e9;
            job.cancel().get();
            return run;
        }
        long end = start + seconds * 1_000_000_000L;
        while (System.nanoTime() < end) {
            Thread.sleep(1000);
            JsonNode cps = get(http, base + "/jobs/" + jobId + "/checkpoints");
            boolean inProgress = cps != null && cps.path("counts").path("in_progress").asInt() > 0;
            run.samples.add(new double[] {(System.nanoTime() - start) / 1e9, SCORED.get(), inProgress ? 1 : 0});
        }
        JsonNode cps = get(http, base + "/jobs/" + jobId + "/checkpoints");
        System.out.println("job status at the end: " + job.getJobStatus().get() + (cps == null ? " (no checkpoint statistics from " + base + ")" : ""));
        if (job.getJobStatus().get().isGloballyTerminalState()) {
            job.getJobExecutionResult().get();
        }
        job.cancel().get();
        if (cps != null) {
            List<JsonNode> history = new ArrayList<>();
            cps.path("history").forEach(history::add);
            history.sort((a, b) -> Long.compare(a.path("id").asLong(), b.path("id").asLong()));
            for (JsonNode c : history) {
                if (!"COMPLETED".equals(c.path("status").asText())) {
                    continue;
                }
                run.checkpointLines.add(String.format(Locale.ROOT, "%d, %.1f s, %.1f MB, %.1f MB",
                        c.path("id").asLong(), c.path("end_to_end_duration").asLong() / 1000.0,
                        c.path("checkpointed_size").asLong() / 1e6, c.path("state_size").asLong() / 1e6));
                run.lastFullSize = c.path("state_size").asLong();
            }
            JsonNode latest = cps.path("latest").path("completed");
            if (!latest.isMissingNode() && !latest.isNull()) {
                run.lastCheckpoint = latest.path("external_path").asText();
                // keys with state: every key once the first pass is through, else the events scored so far
                long withState = Math.min(keys, SCORED.get());
                System.out.printf(Locale.ROOT, "last checkpoint: full state %.1f MB for %d keys with state = %.0f bytes per key%n",
                        run.lastFullSize / 1e6, withState, run.lastFullSize / (double) withState);
            }
        }
        return run;
    }

    private static JsonNode get(HttpClient http, String url) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
        } catch (IOException | InterruptedException e) {
            return null;
        }
    }

    static final class Count implements MapFunction<MambaScore<Long>, Long> {
        @Override
        public Long map(MambaScore<Long> s) {
            SCORED.incrementAndGet();
            return s.eventsSeen;
        }
    }

    /** One event: a key and 64 features derived cheaply from its sequence number. */
    public static final class Reading {
        public long key;
        public long seq;

        public Reading() {
        }

        static Reading of(long key, long seq) {
            Reading r = new Reading();
            r.key = key;
            r.seq = seq;
            return r;
        }

        static final class Extractor implements FeatureExtractor<Reading> {
            @Override
            public float[] features(Reading r) {
                float[] f = new float[64];
                long h = r.seq * 0x9E3779B97F4A7C15L + r.key;
                for (int i = 0; i < f.length; i++) {
                    h ^= h >>> 29;
                    h *= 0xBF58476D1CE4E5B9L;
                    f[i] = (float) ((h >>> 40) / (double) (1L << 24) - 0.5);
                }
                return f;
            }
        }
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException ignored) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var walk = Files.walk(p)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(q -> q.toFile().delete());
        }
    }
}
