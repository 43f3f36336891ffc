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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.concurrent.TimeUnit;

/**
 * Parallel mode (tokens/s on one thread): {@value #TOKENS} tokens per call, as
 * {@code TOKENS / window} streams of {@code window} events, each stream with its own initial state,
 * through {@link CpuParallelForward}; next to stepping the same events one by one with
 * {@link RecurrentStepper}. The parallel case includes filling the {@link MambaBatch}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
public class ParallelBenchmark {
    static final int TOKENS = 1024;

    @Param({"h64", "h256"})
    public String size;

    @Param({"64", "1024"})
    public int window;

    private CpuParallelForward parallel;
    private RecurrentStepper stepper;
    private MambaBatch batch;
    private float[][] states;
    private float[] inputs;
    private float[] out;
    private int hidden;

    @Setup
    public void setup() {
        MambaModel model = BenchModels.model(size);
        MambaConfig c = model.config();
        parallel = model.newCpuParallel();
        stepper = model.newStepper();
        batch = new MambaBatch(c);
        hidden = c.hiddenSize();
        inputs = BenchModels.inputs(c, TOKENS, 11);
        out = new float[hidden];
        states = new float[TOKENS / window][];
        for (int s = 0; s < states.length; s++) {
            states[s] = model.newState();
            // a non-trivial initial state: run a few events in first
            for (int t = 0; t < 8; t++) {
                stepper.step(states[s], 0, inputs, ((s * 8 + t) % TOKENS) * hidden, out, 0);
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(TOKENS)
    public float[] parallel() {
        batch.clear();
        for (float[] s : states) {
            batch.addSequence(s, window);
        }
        System.arraycopy(inputs, 0, batch.inputs(), 0, TOKENS * hidden);
        parallel.forward(batch);
        return batch.outputs();
    }

    @Benchmark
    @OperationsPerInvocation(TOKENS)
    public float[] stepped() {
        for (int s = 0; s < states.length; s++) {
            float[] st = states[s];
            int base = s * window;
            for (int t = 0; t < window; t++) {
                stepper.step(st, 0, inputs, (base + t) * hidden, out, 0);
            }
        }
        return out;
    }
}
