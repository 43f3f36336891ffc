package io.flinkmamba.benchmarks;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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
 * The memory roof of a step: one pass reading as many bytes as one step's weights (a vectorised sum
 * with four accumulators, the cheapest thing that touches every byte). Its rate is the most steps/s
 * a per-event step could reach if it did nothing but stream its weights once.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
public class WeightStreamBenchmark {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    @Param({"h64", "h256"})
    public String size;

    private float[] weights;

    @Setup
    public void setup() {
        int floats = (int) (StepFlops.weightBytes(BenchModels.config(size)) / 4);
        weights = BenchModels.inputs(BenchModels.config(size), floats / BenchModels.config(size).hiddenSize() + 1, 3);
    }

    @Benchmark
    public float readOnce() {
        float[] w = weights;
        int l = S.length(), bound = w.length - w.length % (4 * l);
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < bound; i += 4 * l) {
            a0 = a0.add(FloatVector.fromArray(S, w, i));
            a1 = a1.add(FloatVector.fromArray(S, w, i + l));
            a2 = a2.add(FloatVector.fromArray(S, w, i + 2 * l));
            a3 = a3.add(FloatVector.fromArray(S, w, i + 3 * l));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }
}
