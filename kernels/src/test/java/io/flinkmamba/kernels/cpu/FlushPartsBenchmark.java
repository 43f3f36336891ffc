package io.flinkmamba.kernels.cpu;

import io.flinkmamba.kernels.model.LayerWeights;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import io.flinkmamba.kernels.testing.RandomCheckpoints;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.util.Locale;
import java.util.Random;

/**
 * Where a micro-batch flush's batched forward spends its time: the parts of one layer of
 * {@link CpuParallelForward}'s group loop, called the same way, over flushes of 64 distinct keys
 * (of 1,000) with one event each, timed with the thread's CPU time (the machine is shared). Not a
 * unit test (surefire skips it); run its main with the test classpath:
 * {@code java --add-modules jdk.incubator.vector -cp ... io.flinkmamba.kernels.cpu.FlushPartsBenchmark 32 64 256}.
 */
public final class FlushPartsBenchmark {
    private static final String[] PARTS = {"rms norm", "in_proj GEMM", "conv + SiLU", "x_proj GEMM",
            "dt_proj + softplus + gate SiLU", "scan", "out_proj GEMM + residual"};

    private FlushPartsBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        for (String a : args.length > 0 ? args : new String[] {"32", "64", "256"}) {
            run(Integer.parseInt(a));
        }
    }

    private static void run(int hidden) throws Exception {
        int tokens = 64, keys = 1000;
        MambaConfig c = MambaConfig.of(hidden, 16, 2);
        MambaModel model = MambaModel.load(RandomCheckpoints.write(Files.createTempDirectory("parts").resolve("m"), c, 1));
        LayerWeights lw = model.weights().layers[0];
        BlockKernels k = new BlockKernels(c, model.weights());
        int d = c.hiddenSize(), e = c.intermediateSize(), xr = c.xProjRows();
        float[] inP = VectorMath.pack(lw.inProj, 2 * e, d), xP = VectorMath.pack(lw.xProj, xr, e);
        float[] outP = VectorMath.pack(lw.outProj, d, e);
        float[][] states = new float[keys][];
        for (int i = 0; i < keys; i++) {
            states[i] = model.newState();
        }
        Random rnd = new Random(1);
        float[] x = new float[tokens * d], h = new float[tokens * d], xz = new float[tokens * 2 * e], u = new float[tokens * e];
        float[] bc = new float[tokens * xr], dt = new float[tokens * e], y = new float[tokens * e];
        int[][] flushes = new int[64][];
        for (int f = 0; f < flushes.length; f++) {
            flushes[f] = rnd.ints(0, keys).distinct().limit(tokens).toArray();
        }
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        int reps = Math.max(20, 400_000 / (hidden * hidden));
        for (int round = 0; round < 4; round++) { // the first round warms the JIT
            long[] ns = new long[PARTS.length];
            for (int rep = 0; rep < reps; rep++) {
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rnd.nextGaussian();
                }
                int[] ks = flushes[rep & 63];
                long t0 = mx.getCurrentThreadCpuTime();
                for (int t = 0; t < tokens; t++) {
                    VectorMath.rmsNorm(x, t * d, d, lw.norm, c.layerNormEpsilon(), h, t * d);
                }
                long t1 = mx.getCurrentThreadCpuTime();
                VectorMath.gemmPacked(h, 0, d, tokens, d, inP, 2 * e, lw.inProjBias, xz, 0, 2 * e);
                long t2 = mx.getCurrentThreadCpuTime();
                for (int s = 0; s < tokens; s++) {
                    k.convSilu(lw, xz, s * 2 * e, 2 * e, 1, states[ks[s]], c.convStateOffset(0), u, s * e, e);
                }
                long t3 = mx.getCurrentThreadCpuTime();
                VectorMath.gemmPacked(u, 0, e, tokens, e, xP, xr, null, bc, 0, xr);
                long t4 = mx.getCurrentThreadCpuTime();
                for (int t = 0; t < tokens; t++) {
                    k.deltaSoftplus(0, lw, bc, t * xr, dt, t * e);
                    FastMath.siluInPlace(xz, t * 2 * e + e, e);
                }
                long t5 = mx.getCurrentThreadCpuTime();
                for (int s = 0; s < tokens; s++) {
                    k.scan(lw, u, s * e, e, dt, s * e, e, bc, s * xr, xr, xz, s * 2 * e + e, 2 * e, 1,
                            states[ks[s]], c.ssmStateOffset(0), y, s * e, e);
                }
                long t6 = mx.getCurrentThreadCpuTime();
                VectorMath.gemmPacked(y, 0, e, tokens, e, outP, d, lw.outProjBias, h, 0, d);
                VectorMath.addInPlace(x, 0, h, 0, tokens * d);
                long t7 = mx.getCurrentThreadCpuTime();
                long[] marks = {t0, t1, t2, t3, t4, t5, t6, t7};
                for (int p = 0; p < PARTS.length; p++) {
                    ns[p] += marks[p + 1] - marks[p];
                }
            }
            if (round == 0) {
                continue;
            }
            long total = 0;
            for (long v : ns) {
                total += v;
            }
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "hidden %d, round %d: %.2f us per token and layer;",
                    hidden, round, total / 1e3 / reps / tokens));
            for (int p = 0; p < PARTS.length; p++) {
                sb.append(String.format(Locale.ROOT, " %s %.0f%%,", PARTS[p], 100.0 * ns[p] / total));
            }
            System.out.println(sb.substring(0, sb.length() - 1));
        }
    }
}
