package io.flinkmamba.benchmarks;

import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.model.MambaModel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.concurrent.TimeUnit;

/**
 * One recurrent step of one stream (events/s on one thread): the core's {@link RecurrentStepper}
 * next to the plain scalar loop of the same math ({@link ScalarReference}). The inputs cycle through
 * 64 distinct events; the state keeps evolving (the SSM decays, so it stays bounded).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
public class StepBenchmark {
    private static final int INPUTS = 64;

    @Param({"h64", "h256"})
    public String size;

    private RecurrentStepper stepper;
    private ScalarReference scalar;
    private float[] state;
    private float[] inputs;
    private float[] out;
    private int hidden;
    private int next;

    @Setup
    public void setup() {
        MambaModel model = BenchModels.model(size);
        stepper = model.newStepper();
        scalar = new ScalarReference(model);
        state = model.newState();
        hidden = model.config().hiddenSize();
        inputs = BenchModels.inputs(model.config(), INPUTS, 7);
        out = new float[hidden];
    }

    @Benchmark
    public float[] step() {
        int off = (next++ & (INPUTS - 1)) * hidden;
        stepper.step(state, 0, inputs, off, out, 0);
        return out;
    }

    @Benchmark
    public float[] scalarLoop() {
        int off = (next++ & (INPUTS - 1)) * hidden;
        scalar.step(state, inputs, off, out, 0);
        return out;
    }
}
