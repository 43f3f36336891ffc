package io.flinkmamba.benchmarks;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

import java.util.concurrent.TimeUnit;

/**
 * This core's FMA peak through the Vector API: {@value #CHAINS} independent FMA chains at the
 * preferred species width (enough to cover FMA latency x pipes on current x86 and ARM cores), all in
 * registers. The score is vector FMAs per second; FLOP/s = score x 2 x lanes (BenchMain prints it).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
public class FmaPeakBenchmark {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int CHAINS = 12;
    static final int ITERS = 4096;

    // fields, not constants, so the JIT cannot fold the chains; values converge to 1 (no overflow, no denormals)
    public float mul = 0.999f;
    public float add = 0.001f;

    @Benchmark
    @OperationsPerInvocation(CHAINS * ITERS)
    public float fma() {
        FloatVector m = FloatVector.broadcast(S, mul), a = FloatVector.broadcast(S, add);
        FloatVector c0 = a, c1 = a.add(a), c2 = c1.add(a), c3 = c2.add(a), c4 = c3.add(a), c5 = c4.add(a);
        FloatVector c6 = c5.add(a), c7 = c6.add(a), c8 = c7.add(a), c9 = c8.add(a), c10 = c9.add(a), c11 = c10.add(a);
        for (int i = 0; i < ITERS; i++) {
            c0 = c0.fma(m, a); c1 = c1.fma(m, a); c2 = c2.fma(m, a); c3 = c3.fma(m, a);
            c4 = c4.fma(m, a); c5 = c5.fma(m, a); c6 = c6.fma(m, a); c7 = c7.fma(m, a);
            c8 = c8.fma(m, a); c9 = c9.fma(m, a); c10 = c10.fma(m, a); c11 = c11.fma(m, a);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .reduceLanes(VectorOperators.ADD);
    }

    public static int lanes() {
        return S.length();
    }
}
