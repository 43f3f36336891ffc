package io.flinkmamba.operator;

import io.flinkmamba.kernels.cpu.CpuParallelForward;
import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Events per second of the keyed operator, driven through Flink's operator test harness on one
 * thread, next to the bare core {@code step} over the same keys and events in the same run.
 *
 * <p>Run with {@code flink-mamba-operator/bench/run-operator-bench.sh} (pins the JVM to one core).
 * Arguments: {@code keys=1000,100000 events=20000 rounds=5 hidden=32 state=16 layers=2
 * batches=64,512 backends=heap,rocksdb}; {@code hidden} may list several sizes (one model each,
 * {@code hidden=64,256}), and {@code keys:H=...} overrides the key counts for hidden size H
 * ({@code keys:256=1000,10000}: at hidden 256 a key's state is 76 KB). Every case first scores one event per key (state created),
 * then the rounds run interleaved over the cases (round r of every case before round r+1), each
 * {@code events} events with uniformly random keys, so that a noisy, shared machine slows all cases
 * alike; a first, uncounted round warms the JIT; the median round is reported. The harness copies every output record with its serializer, as a
 * network or non-chained downstream would; the bare step reuses one output buffer. Ratios are
 * therefore an upper bound on the operator's own cost.
 *
 * <p>Two rates per case: wall clock, and the benchmark thread's CPU time
 * ({@code ThreadMXBean.getCurrentThreadCpuTime}), which on a shared, loaded machine leaves out the
 * time the thread waited for a core (not the cache and memory contention). Everything of the heap
 * cases runs on this thread; RocksDB's background flushes and compactions do not count in its CPU time.
 * The bare cases share one array of states (the batched forward advances them in place, as the
 * operator's flush does), which halves their memory.
 */
public final class OperatorBenchmark {
    private OperatorBenchmark() {
    }

    private static final int FEATURE_POOL = 4096;

    /** One measured configuration, warm and ready: {@link #run} scores the given events once. */
    private interface Case extends AutoCloseable {
        void run(int[] order, int offset) throws Exception;

        @Override
        default void close() throws Exception {
        }
    }

    public static void main(String[] args) throws Exception {
        for (int hidden : ints(arg(args, "hidden", "32"))) {
            run(args, hidden);
        }
    }

    private static void run(String[] args, int hidden) throws Exception {
        int[] keyCounts = ints(arg(args, "keys:" + hidden, arg(args, "keys", "1000,100000")));
        int events = Integer.parseInt(arg(args, "events:" + hidden, arg(args, "events", "20000")));
        int rounds = Integer.parseInt(arg(args, "rounds", "5"));
        MambaConfig config = MambaConfig.of(hidden,
                Integer.parseInt(arg(args, "state", "16")), Integer.parseInt(arg(args, "layers", "2")));
        int[] batches = ints(arg(args, "batches", "64,512"));
        String[] backends = arg(args, "backends", "heap,rocksdb").split(",");

        Path tmp = Files.createTempDirectory("mamba-op-bench");
        Path modelDir = RandomCheckpoint.write(tmp.resolve("model"), config, 1);
        MambaModel model = MambaModel.load(modelDir);
        float[][] pool = featurePool(config.hiddenSize());
        System.out.printf(Locale.ROOT, "%nmodel %s, state %d bytes/key; %d events per round, %d rounds interleaved "
                + "over the cases after one uncounted warm-up round, median round reported%n", config, model.stateBytes(), events, rounds);
        System.out.println("| hidden | keys | case | events/s wall (median) | min..max | events/s CPU time (median) | min..max "
                + "| vs bare step (CPU) | vs per-event (wall) | vs per-event (CPU) |");
        System.out.println("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        for (int keys : keyCounts) {
            List<String> names = new ArrayList<>();
            List<Case> cases = new ArrayList<>();
            // per case: the index of the per-event case it is compared with, or -1
            List<Integer> peer = new ArrayList<>();
            float[][] bareStates = bareStates(model, keys, pool);
            names.add("bare core step (float[][] of states)");
            cases.add(bareStep(model, bareStates, pool));
            peer.add(-1);
            for (int b : batches) {
                names.add("bare core batched forward " + b + " (CpuParallelForward, states in place)");
                cases.add(bareBatched(model, bareStates, pool, b));
                peer.add(0);
            }
            for (String backend : backends) {
                int perEvent = cases.size();
                peer.add(-1);
                names.add("operator per-event, " + backend);
                cases.add(operator(MambaSpec.builder(modelDir.toString(), "bench", new TestEvent.Extractor()).build(),
                        backend, keys, pool));
                for (int b : batches) {
                    peer.add(perEvent);
                    names.add("operator micro-batch " + b + ", " + backend);
                    cases.add(operator(MambaSpec.builder(modelDir.toString(), "bench", new TestEvent.Extractor())
                            .mode(ScoringMode.MICRO_BATCH).batchMaxEvents(b).batchMaxDelay(Duration.ofHours(1)).build(),
                            backend, keys, pool));
                }
            }
            int[] order = keyOrder(keys, events * (rounds + 1));
            double[][] wall = new double[cases.size()][rounds];
            double[][] cpu = new double[cases.size()][rounds];
            for (int r = 0; r <= rounds; r++) { // round 0 warms the JIT and is not counted
                for (int c = 0; c < cases.size(); c++) {
                    int[] slice = Arrays.copyOfRange(order, r * events, (r + 1) * events);
                    long c0 = threads.getCurrentThreadCpuTime();
                    long t0 = System.nanoTime();
                    cases.get(c).run(slice, r * events);
                    long t1 = System.nanoTime();
                    long c1 = threads.getCurrentThreadCpuTime();
                    if (r > 0) {
                        wall[c][r - 1] = events / ((t1 - t0) / 1e9);
                        cpu[c][r - 1] = events / ((c1 - c0) / 1e9);
                    }
                }
            }
            double bareCpu = median(cpu[0]);
            for (int c = 0; c < cases.size(); c++) {
                int p = peer.get(c);
                String vsWall = p < 0 ? "" : String.format(Locale.ROOT, "%.2fx", median(wall[c]) / median(wall[p]));
                String vsCpu = p < 0 ? "" : String.format(Locale.ROOT, "%.2fx", median(cpu[c]) / median(cpu[p]));
                System.out.printf(Locale.ROOT, "| %d | %d | %s | %.0f | %s | %.0f | %s | %.2fx | %s | %s |%n", hidden, keys,
                        names.get(c), median(wall[c]), range(wall[c]), median(cpu[c]), range(cpu[c]),
                        median(cpu[c]) / bareCpu, vsWall, vsCpu);
                cases.get(c).close();
            }
        }
    }

    private static String range(double[] a) {
        double[] sorted = a.clone();
        Arrays.sort(sorted);
        return String.format(Locale.ROOT, "%.0f..%.0f", sorted[0], sorted[sorted.length - 1]);
    }

    private static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** One state per key, each advanced by one event (as the operator cases' warm-up does). */
    private static float[][] bareStates(MambaModel model, int keys, float[][] pool) {
        float[][] states = new float[keys][];
        RecurrentStepper stepper = model.newStepper();
        float[] out = new float[model.config().hiddenSize()];
        for (int k = 0; k < keys; k++) {
            states[k] = model.newState();
            stepper.step(states[k], pool[k % FEATURE_POOL], out);
        }
        return states;
    }

    private static Case bareStep(MambaModel model, float[][] states, float[][] pool) {
        RecurrentStepper stepper = model.newStepper();
        float[] out = new float[model.config().hiddenSize()];
        return (order, offset) -> {
            for (int i = 0; i < order.length; i++) {
                stepper.step(states[order[i]], pool[(offset + i) % FEATURE_POOL], out);
            }
        };
    }

    /**
     * The core's parallel mode alone: chunks of {@code batchSize} events, grouped per key, one forward
     * each, the keys' states advanced in place (as the operator's CPU flush does).
     */
    private static Case bareBatched(MambaModel model, float[][] states, float[][] pool, int batchSize) {
        CpuParallelForward forward = model.newCpuParallel();
        MambaBatch batch = new MambaBatch(model.config());
        return (order, offset) -> {
            for (int start = 0; start < order.length; start += batchSize) {
                int end = Math.min(order.length, start + batchSize);
                Map<Integer, List<Integer>> byKey = new LinkedHashMap<>();
                for (int i = start; i < end; i++) {
                    byKey.computeIfAbsent(order[i], k -> new ArrayList<>()).add(i);
                }
                batch.clear();
                for (Map.Entry<Integer, List<Integer>> e : byKey.entrySet()) {
                    int seq = batch.addSequenceSharingState(states[e.getKey()], 0, e.getValue().size());
                    for (int t = 0; t < e.getValue().size(); t++) {
                        batch.setInput(seq, t, pool[(offset + e.getValue().get(t)) % FEATURE_POOL], 0);
                    }
                }
                forward.forward(batch);
            }
        };
    }

    private static Case operator(MambaSpec<TestEvent> spec, String backend, int keys, float[][] pool) throws Exception {
        KeyedOneInputStreamOperatorTestHarness<String, TestEvent, MambaScore<String>> h =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new MambaScoringOperator<String, TestEvent>(spec, spec.resolve(new Configuration())),
                        (KeySelector<TestEvent, String>) e -> e.key, Types.STRING, 128, 1, 0);
        h.setStateBackend(backend.equals("rocksdb") ? rocksDb() : new HashMapStateBackend());
        h.setup(MambaOperators.scoreType(Types.STRING).createSerializer(new SerializerConfigImpl()));
        h.open();
        String[] keyNames = new String[keys];
        for (int k = 0; k < keys; k++) {
            keyNames[k] = "key-" + k;
        }
        List<StreamRecord<TestEvent>> warm = new ArrayList<>(keys);
        for (int k = 0; k < keys; k++) {
            warm.add(new StreamRecord<>(new TestEvent(keyNames[k], k, pool[k % FEATURE_POOL]), k));
        }
        drive(h, warm);
        return new Case() {
            @Override
            public void run(int[] order, int offset) throws Exception {
                List<StreamRecord<TestEvent>> records = new ArrayList<>(order.length);
                for (int i = 0; i < order.length; i++) {
                    long t = keys + offset + i;
                    records.add(new StreamRecord<>(new TestEvent(keyNames[order[i]], t, pool[(offset + i) % FEATURE_POOL]), t));
                }
                drive(h, records);
            }

            @Override
            public void close() throws Exception {
                h.close();
            }
        };
    }

    /** RocksDB with a fixed 256 MB per slot: the harness's tiny managed memory would flush memtables constantly. */
    private static StateBackend rocksDb() {
        Configuration c = new Configuration();
        c.setString("state.backend.rocksdb.memory.fixed-per-slot", "256mb");
        return new EmbeddedRocksDBStateBackend().configure(c, OperatorBenchmark.class.getClassLoader());
    }

    /** Feeds records, ends with a flush (inside the timing), and drops outputs as they accumulate. */
    private static void drive(KeyedOneInputStreamOperatorTestHarness<String, TestEvent, MambaScore<String>> h,
                              List<StreamRecord<TestEvent>> records) throws Exception {
        int i = 0;
        for (StreamRecord<TestEvent> r : records) {
            h.processElement(r);
            if ((++i & 4095) == 0) {
                h.getOutput().clear();
            }
        }
        h.prepareSnapshotPreBarrier(0); // flushes pending micro-batch events
        h.getOutput().clear();
    }

    private static float[][] featurePool(int hidden) {
        Random rnd = new Random(3);
        float[][] pool = new float[FEATURE_POOL][hidden];
        for (float[] f : pool) {
            for (int j = 0; j < hidden; j++) {
                f[j] = (float) rnd.nextGaussian();
            }
        }
        return pool;
    }

    private static int[] keyOrder(int keys, int events) {
        Random rnd = new Random(4);
        int[] order = new int[events];
        for (int i = 0; i < events; i++) {
            order[i] = rnd.nextInt(keys);
        }
        return order;
    }

    private static String arg(String[] args, String name, String dflt) {
        for (String a : args) {
            if (a.startsWith(name + "=")) {
                return a.substring(name.length() + 1);
            }
        }
        return dflt;
    }

    private static int[] ints(String csv) {
        return Arrays.stream(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }
}
