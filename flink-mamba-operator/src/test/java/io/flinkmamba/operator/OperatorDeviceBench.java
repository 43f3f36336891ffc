package io.flinkmamba.operator;

import io.flinkmamba.kernels.model.MambaConfig;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * End to end through Flink: a MiniCluster job (sequence source → keyBy → Mamba operator → counting
 * sink) per case, events/s from the job's net runtime, so every mode pays the same source, network
 * shuffle, state backend (heap) and output costs. Run on the GPU machine (see docs/benchmarks.md,
 * "Through the Flink operator"); on a machine without a GPU the gpu cases fail with the operator's
 * "not available" error.
 *
 * <p>Events arrive round-robin over the keys (event i belongs to key i mod keys), so a micro-batch
 * of B events holds about B / keys events of every key.
 *
 * <p>Args: {@code hidden=64 layers=2 warmup=1 source-parallelism=1} (a number, or {@code same}: as the
 * case's parallelism, so that one source thread does not bound the job), {@code object-reuse=false}
 * (true: Flink's {@code pipeline.object-reuse}, so the chained map after the operator gets each output
 * without a serializer copy) and cases
 * {@code case=MODE:DEVICE:PARALLELISM:KEYS:EVENTS_PER_KEY:BATCH_MAX_EVENTS}, e.g.
 * {@code case=micro-batch:gpu:1:100000:64:1600000 case=per-event:cpu:1:100000:2:0}.
 */
public final class OperatorDeviceBench {
    private OperatorDeviceBench() {
    }

    private static final int FEATURE_POOL = 4096;

    /** The source's event: the features are the pool's row {@code seq mod 4096}, made by the extractor. */
    public static final class SeqEvent implements Serializable {
        private static final long serialVersionUID = 1L;
        public int key;
        public long seq;

        public SeqEvent() {
        }

        SeqEvent(int key, long seq) {
            this.key = key;
            this.seq = seq;
        }
    }

    static final class PoolExtractor implements FeatureExtractor<SeqEvent> {
        private static final long serialVersionUID = 1L;
        private final int hidden;
        private transient float[][] pool;

        PoolExtractor(int hidden) {
            this.hidden = hidden;
        }

        @Override
        public float[] features(SeqEvent e) {
            if (pool == null) {
                Random rnd = new Random(3);
                pool = new float[FEATURE_POOL][hidden];
                for (float[] f : pool) {
                    for (int j = 0; j < hidden; j++) {
                        f[j] = (float) rnd.nextGaussian();
                    }
                }
            }
            return pool[(int) (e.seq % FEATURE_POOL)];
        }

        @Override
        public long eventTime(SeqEvent e, long recordTimestamp) {
            return e.seq;
        }
    }

    /** Counts scores into an accumulator (the job's result says how many were scored). */
    static final class Count<T> extends RichMapFunction<T, T> {
        private static final long serialVersionUID = 1L;
        private transient LongCounter counter;

        @Override
        public void open(OpenContext ctx) {
            counter = new LongCounter();
            getRuntimeContext().addAccumulator("scored", counter);
        }

        @Override
        public T map(T v) {
            counter.add(1);
            return v;
        }
    }

    record Case(ScoringMode mode, String device, int parallelism, int keys, int eventsPerKey, int batchMaxEvents) {
        static Case parse(String s) {
            String[] p = s.split(":");
            return new Case(p[0].equals("per-event") ? ScoringMode.PER_EVENT : ScoringMode.MICRO_BATCH, p[1],
                    Integer.parseInt(p[2]), Integer.parseInt(p[3]), Integer.parseInt(p[4]), Integer.parseInt(p[5]));
        }

        long events() {
            return (long) keys * eventsPerKey;
        }

        @Override
        public String toString() {
            return (mode == ScoringMode.PER_EVENT ? "per-event" : "micro-batch " + batchMaxEvents + " on " + device)
                    + ", parallelism " + parallelism + ", " + keys + " keys x " + eventsPerKey + " events";
        }
    }

    public static void main(String[] args) throws Exception {
        int hidden = 64, layers = 2, warmup = 1;
        String sourceParallelism = "1";
        boolean objectReuse = false;
        List<Case> cases = new ArrayList<>();
        for (String a : args) {
            String v = a.substring(a.indexOf('=') + 1);
            if (a.startsWith("hidden=")) {
                hidden = Integer.parseInt(v);
            } else if (a.startsWith("layers=")) {
                layers = Integer.parseInt(v);
            } else if (a.startsWith("warmup=")) {
                warmup = Integer.parseInt(v);
            } else if (a.startsWith("object-reuse=")) {
                objectReuse = Boolean.parseBoolean(v);
            } else if (a.startsWith("source-parallelism=")) {
                sourceParallelism = v;
            } else if (a.startsWith("case=")) {
                cases.add(Case.parse(v));
            } else {
                throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        MambaConfig config = MambaConfig.of(hidden, 16, layers);
        Path model = RandomCheckpoint.write(Files.createTempDirectory("mamba-device-bench").resolve("model"), config, 1);
        System.out.printf(Locale.ROOT, "model %s; %d host threads; java %s; source parallelism %s%n", config,
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), sourceParallelism);
        System.out.println("object reuse: " + objectReuse);
        System.out.println("| case | events | net runtime | events/s |");
        System.out.println("|---|---:|---:|---:|");
        for (Case c : cases) {
            for (int i = 0; i < warmup; i++) {
                run(model, hidden, new Case(c.mode, c.device, c.parallelism, Math.min(c.keys, 4096),
                        Math.min(c.eventsPerKey, 4), Math.min(c.batchMaxEvents, 4096)), sourceParallelism, objectReuse);
            }
            double seconds = run(model, hidden, c, sourceParallelism, objectReuse);
            System.out.printf(Locale.ROOT, "| %s | %d | %.2f s | %.4g |%n", c, c.events(), seconds, c.events() / seconds);
        }
    }

    private static double run(Path model, int hidden, Case c, String sourceParallelism, boolean objectReuse)
            throws Exception {
        Configuration conf = new Configuration();
        conf.set(TaskManagerOptions.NUM_TASK_SLOTS, Math.max(2, c.parallelism));
        conf.set(TaskManagerOptions.TASK_HEAP_MEMORY, MemorySize.parse("24g"));
        conf.set(org.apache.flink.configuration.JobManagerOptions.SLOT_REQUEST_TIMEOUT, Duration.ofSeconds(60));
        conf.set(org.apache.flink.configuration.PipelineOptions.OBJECT_REUSE, objectReuse);
        conf.set(MambaOptions.MODE, c.mode);
        conf.set(MambaOptions.DEVICE, c.device);
        if (c.mode == ScoringMode.MICRO_BATCH) {
            conf.set(MambaOptions.BATCH_MAX_EVENTS, c.batchMaxEvents);
            conf.set(MambaOptions.BATCH_MAX_DELAY, Duration.ofSeconds(10));
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(c.parallelism, conf);
        int keys = c.keys;
        int sp = sourceParallelism.equals("same") ? c.parallelism : Integer.parseInt(sourceParallelism);
        DataStream<SeqEvent> events = env.fromSequence(0, c.events() - 1).setParallelism(sp)
                .map(i -> new SeqEvent((int) (i % keys), i)).returns(TypeInformation.of(SeqEvent.class)).setParallelism(sp);
        MambaSpec<SeqEvent> spec = MambaSpec.builder(model.toString(), "bench", new PoolExtractor(hidden)).build();
        MambaOperators.score(events.keyBy(e -> e.key), spec)
                .map(new Count<>()).returns(MambaOperators.scoreType(TypeInformation.of(Integer.class)))
                .sinkTo(new DiscardingSink<>());
        JobExecutionResult r = env.execute("device bench " + c);
        long scored = r.<Long>getAccumulatorResult("scored");
        if (scored != c.events()) {
            throw new AssertionError(c + ": scored " + scored + " of " + c.events() + " events");
        }
        return r.getNetRuntime() / 1e3;
    }
}
