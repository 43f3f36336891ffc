package io.flinkmamba.operator;

import io.flinkmamba.kernels.forecast.Forecaster;
import io.flinkmamba.kernels.model.MambaConfig;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * What a hot swap costs the task thread, against its peer in the same run: the time of one scored
 * event. For the shipped sensor forecaster and a larger random one (hidden 256, 4 layers): the loader
 * thread's fetch + sha256 + load (the part kept off the hot path), the task thread's share (taking
 * the update, then the mailbox switch), and a scored event (per-event mode, 200 warm keys).
 * Not a unit test (timings); run:
 * <pre>mvn -B -o test -pl flink-mamba-operator -am -Dtest=HotSwapBenchmark -Dsurefire.failIfNoSpecifiedTests=false -Dflinkmamba.bench=true</pre>
 */
class HotSwapBenchmark {
    static final int KEYS = 200;
    static final int ROUNDS = 7;

    @TempDir
    Path tmp;

    @Test
    @EnabledIfSystemProperty(named = "flinkmamba.bench", matches = "true")
    void swapCost() throws Exception {
        Path shipped = Paths.get("..", "models", "sensor-multivariate").toAbsolutePath().normalize();
        Path large = ForecasterFixture.write(tmp.resolve("large"), MambaConfig.of(256, 16, 4), 3, 5);
        StringBuilder report = new StringBuilder("per-event mode, " + KEYS + " warm keys, median of " + ROUNDS + " swaps\n");
        for (Path dir : List.of(shipped, large)) {
            report.append(measure(dir));
        }
        System.out.println("HOTSWAP-BENCH " + report);
        Files.writeString(Paths.get("target", "hotswap-bench.txt"), report.toString());
    }

    private String measure(Path dir) throws Exception {
        Forecaster fc = Forecaster.load(dir);
        long bytes = Files.size(dir.resolve("model.safetensors")) + Files.size(dir.resolve("config.json"));
        MambaSpec<TestEvent> spec = MambaSpec.builder(dir.toString(), "a", new TestEvent.Extractor())
                .replayWindow(64).mode(ScoringMode.PER_EVENT).batchMaxDelay(Duration.ofHours(1)).build();
        AnomalyScoringOperator<String, TestEvent> op = new AnomalyScoringOperator<>(spec, spec.resolve(new Configuration()));
        // thread CPU time: the machine these run on is shared, wall times there measure the neighbours
        java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
        double[] loader = new double[ROUNDS];
        double[] take = new double[ROUNDS];
        double[] taskThread = new double[ROUNDS];
        double[] taskWall = new double[ROUNDS];
        double[] event = new double[ROUNDS];
        String sha = ModelFiles.digest(dir);
        Random rnd = new Random(1);
        try (var h = HotSwapTest.harness(op)) {
            h.open();
            long t = 0;
            for (int round = -2; round < ROUNDS; round++) { // two warm-up rounds
                // a scored event: 20 events per key
                List<TestEvent> batch = new ArrayList<>();
                for (int i = 0; i < 20 * KEYS; i++) {
                    batch.add(event(rnd, i % KEYS, t++, fc.numFeatures()));
                }
                long e0 = cpu.getCurrentThreadCpuTime();
                for (TestEvent ev : batch) {
                    h.processElement1(new StreamRecord<>(ev));
                }
                long e1 = cpu.getCurrentThreadCpuTime();
                // the loader's part, alone
                long l0 = cpu.getCurrentThreadCpuTime();
                ModelUpdates.fetchAndLoad(new ModelUpdate(dir.toString(), sha, "x", null), op::load, 1L << 32);
                long l1 = cpu.getCurrentThreadCpuTime();
                // the task thread's part: take the update, then run the mailbox switch (a new label each round)
                long w0 = System.nanoTime();
                long s0 = cpu.getCurrentThreadCpuTime();
                h.processElement2(new StreamRecord<>(new ModelUpdate(dir.toString(), sha, "v" + round, null)));
                long s1 = cpu.getCurrentThreadCpuTime();
                long w1 = System.nanoTime();
                var mail = h.getTaskMailbox().take(org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailbox.MIN_PRIORITY);
                long w2 = System.nanoTime();
                long s2 = cpu.getCurrentThreadCpuTime();
                mail.run();
                long s3 = cpu.getCurrentThreadCpuTime();
                long w3 = System.nanoTime();
                if (round >= 0) {
                    event[round] = (e1 - e0) / 1e3 / (20.0 * KEYS);
                    loader[round] = (l1 - l0) / 1e3;
                    take[round] = (s1 - s0) / 1e3;
                    taskThread[round] = ((s1 - s0) + (s3 - s2)) / 1e3;
                    taskWall[round] = ((w1 - w0) + (w3 - w2)) / 1e3;
                }
            }
            if (!op.runningVersion().equals("v" + (ROUNDS - 1))) {
                throw new IllegalStateException("the swaps did not happen: " + op.runningVersion());
            }
        }
        for (double[] a : List.of(loader, take, taskThread, taskWall, event)) {
            Arrays.sort(a);
        }
        int m = ROUNDS / 2;
        double l = loader[m], s = taskThread[m], e = event[m];
        return String.format("%s (%d bytes, hidden %d, %d layers), thread CPU time: loader (fetch + sha256 + load) %.0f us; "
                        + "task thread per swap %.0f us (taking the update %.0f us, the switch the rest; wall %.0f us); "
                        + "one scored event %.1f us -> the swap holds the task for %.1f events' time, the load would have held "
                        + "it for %.0f%n", dir.getFileName(), bytes, fc.hiddenSize(), fc.backbone().config().numLayers(),
                l, s, take[m], taskWall[m], e, s / e, l / e);
    }

    private static TestEvent event(Random rnd, int key, long t, int features) {
        float[] f = new float[features];
        for (int j = 0; j < features; j++) {
            f[j] = (float) (10 + 3 * Math.sin(t / 50.0 + key) + rnd.nextGaussian());
        }
        return new TestEvent("k" + key, t, f);
    }
}
