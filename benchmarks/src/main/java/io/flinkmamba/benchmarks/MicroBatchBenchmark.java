package io.flinkmamba.benchmarks;

import io.flinkmamba.kernels.cpu.CpuParallelForward;
import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The core side of the operator's micro-batch flush (events/s): {@value #BATCH} events of
 * {@value #BATCH} distinct keys out of {@value #KEYS} (one token per key, as a flush of uniformly
 * random keys mostly is), hidden 32 / state 16 / 2 layers like the operator benchmark. Stepping
 * them one by one, one batched forward that copies every key's state into the batch and back
 * ({@code addSequence} + {@code getState}), and one that advances the keys' states in place
 * ({@code addSequenceSharingState}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
public class MicroBatchBenchmark {
    static final int KEYS = 1000;
    static final int BATCH = 64;

    private RecurrentStepper stepper;
    private CpuParallelForward forward;
    private MambaBatch batch;
    private float[][] states;
    private float[] inputs;
    private float[] out;
    private int[][] flushes;
    private int hidden;
    private int next;

    @Setup
    public void setup() {
        MambaModel model = BenchModels.random(MambaConfig.of(32, 16, 2), 1);
        hidden = model.config().hiddenSize();
        stepper = model.newStepper();
        forward = model.newCpuParallel();
        batch = new MambaBatch(model.config());
        states = new float[KEYS][];
        for (int k = 0; k < KEYS; k++) {
            states[k] = model.newState();
        }
        inputs = BenchModels.inputs(model.config(), BATCH, 9);
        out = new float[hidden];
        Random rnd = new Random(4);
        flushes = new int[256][];
        for (int f = 0; f < flushes.length; f++) {
            flushes[f] = rnd.ints(0, KEYS).distinct().limit(BATCH).toArray();
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public float[] stepEach() {
        int[] keys = flushes[next++ & 255];
        for (int i = 0; i < BATCH; i++) {
            stepper.step(states[keys[i]], 0, inputs, i * hidden, out, 0);
        }
        return out;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public float[] batchCopyingStates() {
        int[] keys = flushes[next++ & 255];
        batch.clear();
        for (int i = 0; i < BATCH; i++) {
            batch.addSequence(states[keys[i]], 0, 1);
            batch.setInput(i, 0, inputs, i * hidden);
        }
        forward.forward(batch);
        for (int i = 0; i < BATCH; i++) {
            batch.getState(i, states[keys[i]], 0);
        }
        return batch.outputs();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public float[] batchSharingStates() {
        int[] keys = flushes[next++ & 255];
        batch.clear();
        for (int i = 0; i < BATCH; i++) {
            batch.addSequenceSharingState(states[keys[i]], 0, 1);
            batch.setInput(i, 0, inputs, i * hidden);
        }
        forward.forward(batch);
        return batch.outputs();
    }
}
