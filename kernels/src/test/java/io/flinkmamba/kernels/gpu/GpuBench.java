package io.flinkmamba.kernels.gpu;

import io.flinkmamba.kernels.cpu.CpuParallelForward;
import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import io.flinkmamba.kernels.testing.RandomModels;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.util.Arrays;
import java.util.Random;

/**
 * GPU benchmark (a main, not a test: run on the GPU machine, see docs/benchmarks.md):
 * <ol>
 *   <li>device copy bandwidth (cuMemcpyDtoD, bytes read + written);</li>
 *   <li>the fused scan kernel alone: effective bandwidth over the bytes it must move, as a share of (1);</li>
 *   <li>the full micro-batch forward (host arrays in, host arrays out) in events/s, with the device's
 *       kernel-only time beside it, and the CPU parallel path (one thread) on the smaller shapes.</li>
 * </ol>
 * Args: [quick] to run only small shapes;
 * the layer breakdown runs once per GEMM mode, the forward in the default mode then the others on some shapes;
 * [scanvariants name...] for only the named scan kernels; [layers] for the layer breakdowns and four forward shapes
 * (with and without the final-norm fusion); [layers16] for a hidden-64 layer at 16- and 64-token sequences;
 * [gemmprofile] (hidden 64) or [gemmprofile256] for one launch of each kernel of a 3xTF32 layer (under Nsight
 * Compute); [scans] for the shipped scans alone, staged and lane-loading, plain and fused, on four shapes; [chunks]
 * for three forward shapes under per-slot chunk budgets of 256 MiB to 2 GiB; [scanlengths] for the fused scans,
 * staged and lane-loading, at ranks 4 and 16 on 64- to 1,024-token sequences.
 */
public final class GpuBench {
    /** hidden, layers, keys, events per key: the shapes every GEMM mode runs, and the layers-only run. */
    private static final int[][] MODE_SHAPES = {{64, 2, 100_000, 64}, {64, 4, 100_000, 64}, {256, 2, 4096, 64},
            {256, 4, 16_384, 64}};

    public static void main(String[] args) {
        boolean quick = args.length > 0 && args[0].equals("quick");
        GpuDevices.Probe probe = GpuDevices.probe();
        System.out.println("device: " + probe);
        if (!probe.available()) {
            System.exit(2);
        }
        System.out.println("cpu threads available: " + Runtime.getRuntime().availableProcessors()
                + ", java " + System.getProperty("java.version"));
        GpuContext ctx = GpuContext.get();
        ctx.makeCurrent();
        double copyGBs = copyBandwidth(1L << 30);
        System.out.printf("copy bandwidth (DtoD 1 GiB, read+write): %.0f GB/s%n", copyGBs);
        if (args.length > 0 && args[0].equals("scanvariants")) {
            for (int i = 1; i < args.length; i++) {
                variant = args[i];
                scanShapes(ctx, copyGBs);
            }
            return;
        }
        if (args.length > 0 && args[0].equals("scans")) { // the shipped scans, staged and lane-loading, four shapes
            for (String staged : new String[] {"true", "false"}) {
                System.setProperty(GpuKernels.STAGED_SCAN_PROPERTY, staged);
                for (String v : new String[] {null, "fused"}) {
                    variant = v;
                    scanShapes(ctx, copyGBs);
                }
            }
            System.clearProperty(GpuKernels.STAGED_SCAN_PROPERTY);
            return;
        }
        if (args.length > 0 && args[0].equals("chunks")) { // the forward under several per-slot chunk budgets
            System.out.println("| chunk bytes a slot | hidden | layers | keys | events/key | GPU events/s (host to host) | GPU kernels-only events/s | kernels, chunks summed | host copy share | CPU | GPU/CPU |");
            for (long mib : new long[] {512, 1024, 2048, 4096}) {
                System.setProperty(GpuBatchForward.CHUNK_BYTES_PROPERTY, String.valueOf(mib << 20));
                for (int[] s : new int[][] {{64, 2, 100_000, 16}, {64, 2, 100_000, 64}, {256, 2, 4096, 64},
                        {256, 2, 16_384, 64}}) {
                    System.out.print("| " + mib + " MiB ");
                    forward(s[0], s[1], s[2], s[3], false);
                }
            }
            System.clearProperty(GpuBatchForward.CHUNK_BYTES_PROPERTY);
            return;
        }
        if (args.length >= 5 && args[0].equals("trace")) { // per-kernel device time inside the chunked forward
            if (args.length > 5) {
                System.setProperty(GpuBatchForward.CHUNK_BYTES_PROPERTY, String.valueOf(Long.parseLong(args[5]) << 20));
            }
            trace(ctx, Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]),
                    Integer.parseInt(args[4]));
            System.clearProperty(GpuBatchForward.CHUNK_BYTES_PROPERTY);
            return;
        }
        if (args.length > 0 && args[0].equals("scanlengths")) { // fused scans, staged vs lane-loading, by length
            for (String[] pair : new String[][] {{"scan_dt_staged_n16_r4", "scan_dt_n16_r4"}, {"scan_dt_staged_n16_r16", "scan_dt_n16"}}) {
                int e = pair[0].endsWith("r16") ? 512 : 128;
                long tokens = e == 512 ? 1L << 20 : 6_553_600;
                for (int len : new int[] {64, 128, 256, 512, 1024}) {
                    for (String k : pair) {
                        variant = k;
                        scanAlone(ctx, e, 16, (int) (tokens / len), len, copyGBs);
                    }
                }
            }
            return;
        }
        if (args.length > 0 && args[0].equals("layers16")) { // a layer's kernels at 16-token sequences
            breakdown(ctx, 64, 65_536, 16, GpuPrecision.TF32X3);
            breakdown(ctx, 64, 16_384, 64, GpuPrecision.TF32X3);
            return;
        }
        if (args.length > 0 && args[0].startsWith("gemmprofile")) { // one launch of each kernel of a layer: for ncu
            reps = 1;
            if (args[0].equals("gemmprofile256")) {
                breakdown(ctx, 256, 4_096, 64, GpuPrecision.TF32X3);
            } else {
                breakdown(ctx, 64, 16_384, 64, GpuPrecision.TF32X3);
            }
            return;
        }
        boolean layersOnly = args.length > 0 && args[0].equals("layers"); // breakdowns, forward in the default mode
        boolean forwardOnly = args.length > 0 && args[0].equals("forward"); // the forward tables alone
        for (String v : forwardOnly ? new String[0] : new String[] {null, "fused"}) { // the shipped scans, plain and fused
            variant = v;
            scanAlone(ctx, 128, 16, 100_000, 64, copyGBs);
            scanAlone(ctx, 512, 16, 16_384, 64, copyGBs);
            if (!layersOnly) {
                scanAlone(ctx, 128, 16, 4_096, 1024, copyGBs);
            }
        }
        variant = null;
        for (GpuPrecision mode : forwardOnly ? new GpuPrecision[0] : GpuPrecision.values()) {
            breakdown(ctx, 64, 16_384, 64, mode);
            breakdown(ctx, 256, 4_096, 64, mode);
        }
        if (ctx.warpgroupMma && !forwardOnly) { // 3xTF32 without the 3xFP16 projections, and on the mma.sync kernels, in this run
            breakdown(ctx, 128, 8_192, 64, GpuPrecision.TF32X3);   // hidden 128: the shortest reduction 3xFP16 takes
            for (String property : new String[] {GpuKernels.HALF_SPLIT_PROPERTY, GpuKernels.WGMMA_PROPERTY}) {
                System.setProperty(property, "false");
                breakdown(ctx, 64, 16_384, 64, GpuPrecision.TF32X3);
                breakdown(ctx, 128, 8_192, 64, GpuPrecision.TF32X3);
                breakdown(ctx, 256, 4_096, 64, GpuPrecision.TF32X3);
                System.clearProperty(property);
            }
        }
        boolean both = !quick && !layersOnly;
        System.out.println();
        // kernels-only: the device time the chunks' kernels took (the union of their intervals: two slots' chunks can
        // overlap); the chunks' intervals summed beside it (the figure earlier sessions reported, which counts an
        // overlap twice)
        System.out.println("| hidden | layers | keys | events/key | GPU events/s (host to host) | GPU kernels-only events/s | kernels, chunks summed | host copy share | CPU 1-thread events/s | GPU/CPU |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|");
        if (layersOnly) {
            for (int[] s : MODE_SHAPES) {
                forward(s[0], s[1], s[2], s[3], false);
            }
            System.setProperty(GpuKernels.FUSE_FINAL_NORM_PROPERTY, "false");
            System.out.println("with -D" + GpuKernels.FUSE_FINAL_NORM_PROPERTY + "=false:");
            for (int[] s : MODE_SHAPES) {
                forward(s[0], s[1], s[2], s[3], false);
            }
            System.clearProperty(GpuKernels.FUSE_FINAL_NORM_PROPERTY);
            return;
        }
        int[][] shapes = quick
                ? new int[][] {{64, 2, 4096, 16}, {64, 2, 4096, 64}}
                : new int[][] {{64, 2, 4096, 16}, {64, 2, 4096, 256}, {64, 2, 100_000, 16}, {64, 2, 100_000, 64},
                        {64, 4, 100_000, 64}, {256, 2, 4096, 64}, {256, 4, 16_384, 64}};
        for (int[] s : shapes) {
            forward(s[0], s[1], s[2], s[3], s[2] * s[3] <= 4096 * 64);
        }
        if (ctx.warpgroupMma && !quick) { // the default precision without 3xFP16, and on mma.sync, same shapes
            for (String property : new String[] {GpuKernels.HALF_SPLIT_PROPERTY, GpuKernels.WGMMA_PROPERTY}) {
                System.setProperty(property, "false");
                System.out.println("with -D" + property + "=false:");
                for (int[] s : shapes) {
                    forward(s[0], s[1], s[2], s[3], false);
                }
                System.clearProperty(property);
            }
        }
        if (ctx.warpgroupMma && !quick) { // in_proj with A split in registers where it is split first by default
            System.setProperty(GpuKernels.SPLIT_FIRST_PROPERTY, "false");
            System.out.println("with -D" + GpuKernels.SPLIT_FIRST_PROPERTY + "=false:");
            for (int[] s : shapes) {
                if (s[0] >= GpuKernels.HALF_SPLIT_MIN_IN) {
                    forward(s[0], s[1], s[2], s[3], false);
                }
            }
            System.clearProperty(GpuKernels.SPLIT_FIRST_PROPERTY);
        }
        if (!quick) { // chunk caps as the budget gives them, not rounded down to whole waves
            System.setProperty(GpuBatchForward.WHOLE_WAVES_PROPERTY, "false");
            System.out.println("with -D" + GpuBatchForward.WHOLE_WAVES_PROPERTY + "=false:");
            for (int[] s : shapes) {
                forward(s[0], s[1], s[2], s[3], false);
            }
            System.clearProperty(GpuBatchForward.WHOLE_WAVES_PROPERTY);
        }
        for (String mode : new String[] {"fp32", "tf32"}) { // the other GEMM modes on the same shapes
            System.setProperty(GpuPrecision.PROPERTY, mode);
            System.out.println("with -D" + GpuPrecision.PROPERTY + "=" + mode + ":");
            for (int[] s : quick ? new int[][] {{64, 2, 4096, 64}} : MODE_SHAPES) {
                forward(s[0], s[1], s[2], s[3], false);
            }
            System.clearProperty(GpuPrecision.PROPERTY);
        }
        if (both) { // the same shapes with the other choice of dt_proj fusion, for its effect
            // the default fuses every rank it can: compare with never fusing (or back, when run with =false)
            String other = System.getProperty(GpuKernels.FUSE_DT_PROPERTY, "default").equals("false") ? "true" : "false";
            System.setProperty(GpuKernels.FUSE_DT_PROPERTY, other);
            System.out.println("with -D" + GpuKernels.FUSE_DT_PROPERTY + "=" + other + ":");
            for (int[] s : new int[][] {{64, 2, 100_000, 64}, {256, 2, 4096, 64}, {256, 4, 16_384, 64}}) {
                forward(s[0], s[1], s[2], s[3], false);
            }
            System.clearProperty(GpuKernels.FUSE_DT_PROPERTY);
        }
    }

    static double copyBandwidth(long bytes) {
        CUdeviceptr a = new CUdeviceptr(), b = new CUdeviceptr();
        JCudaDriver.cuMemAlloc(a, bytes);
        JCudaDriver.cuMemAlloc(b, bytes);
        JCudaDriver.cuMemsetD32(a, 0, bytes / 4);
        double best = bestOf(null, 11, () -> JCudaDriver.cuMemcpyDtoD(b, a, bytes)); // one warm-up, ten timed
        JCudaDriver.cuMemFree(a);
        JCudaDriver.cuMemFree(b);
        return 2.0 * bytes / (best * 1e-3) / 1e9;
    }

    /** The scan alone (the current {@link #variant}) at E 128 and E 512, on 16-, 64- and 1,024-token sequences. */
    private static void scanShapes(GpuContext ctx, double copyGBs) {
        int[][] shapes = {{128, 100_000, 64}, {512, 16_384, 64}, {128, 400_000, 16}, {128, 4_096, 1024}};
        boolean rankNamed = variant != null && variant.startsWith("scan_dt") && variant.matches(".*_r\\d+.*");
        for (int[] s : shapes) {
            // a kernel with a rank compiled in runs only the shapes of that rank (ceil(hidden / 16), hidden = E / 2)
            if (!rankNamed || GpuKernels.compiledRank(variant) == (s[0] / 2 + 15) / 16) {
                scanAlone(ctx, s[0], 16, s[1], s[2], copyGBs);
            }
        }
    }

    /** The scan kernel over S sequences of L tokens, E channels, state N, on random device data. */
    private static String variant;

    static void scanAlone(GpuContext ctx, int e, int n, int seqs, int len, double copyGBs) {
        int r = (e / 2 + 15) / 16, xr = r + 2 * n; // the model's rank: ceil(hidden / 16), hidden = E / 2
        long t = (long) seqs * len;
        int sf = e * n; // a state holding only the SSM part: ssmOff = 0
        long[] floats = {t * e, t * e, t * xr, t * 2 * e, t * e, (long) seqs * sf, e * (long) n, e};
        CUdeviceptr[] p = new CUdeviceptr[floats.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = new CUdeviceptr();
            JCudaDriver.cuMemAlloc(p[i], 4 * floats[i]);
            fillSmall(p[i], floats[i], i);
        }
        int[] offsets = new int[seqs + 1];
        for (int i = 0; i <= seqs; i++) {
            offsets[i] = i * len;
        }
        CUdeviceptr off = new CUdeviceptr();
        JCudaDriver.cuMemAlloc(off, 4L * offsets.length);
        JCudaDriver.cuMemcpyHtoD(off, jcuda.Pointer.to(offsets), 4L * offsets.length);
        GpuKernels k = new GpuKernels(ctx, n, "fused".equals(variant) ? null : variant, GpuPrecision.fromSystemProperty());
        if (variant != null && variant.startsWith("scan_dt_staged")) {
            k.stagedFusedAtAnyLength = true; // a named staged kernel runs at every length
        }
        CUstream st = new CUstream();
        JCudaDriver.cuStreamCreate(st, 0);
        boolean fused = variant != null && (variant.startsWith("scan_dt") || variant.equals("fused"));
        CUdeviceptr dtW = new CUdeviceptr(), dtB = new CUdeviceptr();
        JCudaDriver.cuMemAlloc(dtW, 4L * e * r);
        JCudaDriver.cuMemAlloc(dtB, 4L * e);
        fillSmall(dtW, (long) e * r, 1);
        fillSmall(dtB, e, 1);
        double best = bestOfFive(st, () -> {
            if (fused) {
                k.scanFusedDt(p[0], dtW, dtB, p[2], xr, r, p[3], 2 * e, off, seqs, (int) t, p[5], sf, 0, p[6], p[7], p[4], e, st);
            } else {
                k.scan(p[0], p[1], p[2], xr, r, p[3], 2 * e, off, seqs, p[5], sf, 0, p[6], p[7], p[4], e, st);
            }
        });
        // must read u, Δ, z [T, E] and B, C [T, 2N]; write y [T, E]; read and write the state [S, E, N].
        // Fused: δ [T, r] instead of Δ [T, E] (the dt_proj weights are negligible)
        double bytes = fused ? 4.0 * (t * (2L * e + r + 2L * n + e) + 2L * seqs * sf)
                : 4.0 * (t * (3L * e + 2L * n + e) + 2L * seqs * sf);
        double gbs = bytes / (best * 1e-3) / 1e9;
        String family = variant == null || variant.equals("fused")
                ? ((fused ? k.usesStagedFusedScan(e, 2 * e, xr, r, sf, 0, seqs, (int) t) : k.usesStagedScan(e, 2 * e, xr, r, sf, 0))
                        ? "staged " : "lanes ") : "";
        System.out.printf(family + (variant != null ? variant + " " : "") + "scan alone: E=%d N=%d%s %d seqs x %d tokens: %.3f ms, %.0f GB/s effective = %.0f%% of copy bandwidth%n",
                e, n, fused ? " r=" + r : "", seqs, len, best, gbs, 100 * gbs / copyGBs);
        for (CUdeviceptr q : p) {
            JCudaDriver.cuMemFree(q);
        }
        JCudaDriver.cuMemFree(dtW);
        JCudaDriver.cuMemFree(dtB);
        JCudaDriver.cuMemFree(off);
        JCudaDriver.cuStreamDestroy(st);
    }

    /** One kernel of the breakdown: its floating-point work (0: not a GEMM), and whether the forward runs it (in the total). */
    private record Step(String name, double flops, boolean inForward, Runnable run) {
    }

    /** Launches per kernel in the breakdown, the first a warm-up (1: profiling, that launch counts). */
    private static int reps = 4;

    /** Device time of each kernel of one layer, one launch each over S x L tokens (random weights and data). */
    static void breakdown(GpuContext ctx, int hidden, int seqs, int len, GpuPrecision mode) {
        MambaConfig c = MambaConfig.of(hidden, 16, 1);
        MambaModel m = RandomModels.model(c, 3);
        DeviceWeights w = DeviceWeights.acquire(ctx, m);
        DeviceWeights.Layer lw = w.layers[0];
        int d = c.hiddenSize(), e = c.intermediateSize(), r = c.timeStepRank(), xr = c.xProjRows(), sf = c.stateFloats();
        int t = seqs * len;
        long[] floats = {(long) t * d, (long) t * d, (long) t * 2 * e, (long) t * e, (long) t * xr, (long) t * e,
                (long) t * e, (long) seqs * sf, 2L * t};
        CUdeviceptr[] p = new CUdeviceptr[floats.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = new CUdeviceptr();
            JCudaDriver.cuMemAlloc(p[i], 4 * floats[i]);
            fillSmall(p[i], floats[i], i == 5 ? 1 : 0);
        }
        CUdeviceptr x = p[0], h = p[1], xz = p[2], u = p[3], bc = p[4], dt = p[5], y = p[6], states = p[7], rs = p[8];
        int[] offsets = new int[seqs + 1];
        for (int i = 0; i <= seqs; i++) {
            offsets[i] = i * len;
        }
        CUdeviceptr off = new CUdeviceptr();
        JCudaDriver.cuMemAlloc(off, 4L * offsets.length);
        JCudaDriver.cuMemcpyHtoD(off, jcuda.Pointer.to(offsets), 4L * offsets.length);
        GpuKernels k = new GpuKernels(ctx, 16, null, mode);
        GpuKernels generic = new GpuKernels(ctx, 16, null, mode);
        generic.genericConv = true;
        CUstream st = new CUstream();
        JCudaDriver.cuStreamCreate(st, 0);
        CUdeviceptr none = new CUdeviceptr();
        float eps = c.layerNormEpsilon();
        double inFlops = 2.0 * t * d * 2 * e, xFlops = 2.0 * t * e * xr, outFlops = 2.0 * t * e * d;
        java.util.List<Step> steps = new java.util.ArrayList<>();
        boolean fusedNorm = k.fusesNorm(d);
        steps.add(new Step("rmsnorm", 0, !fusedNorm, () -> k.rmsnorm(x, lw.norm, h, t, d, eps, st)));
        steps.add(new Step("in_proj", inFlops, !fusedNorm,
                () -> k.gemm(h, d, t, d, lw.inProj, 2 * e, none, xz, 2 * e, GpuKernels.GEMM_MODE_GATE, st, rs)));
        steps.add(new Step("[in_proj without the gate's SiLU]", inFlops, false, // what the gate's epilogue costs
                () -> k.gemm(h, d, t, d, lw.inProj, 2 * e, none, xz, 2 * e, GpuKernels.GEMM_MODE_STORE, st, rs)));
        boolean splitFirst = k.splitsFirst(t, d, 2 * e, d, 2 * e);
        if (fusedNorm) {
            steps.add(new Step("rmsnorm+in_proj (fused)", inFlops, !splitFirst,
                    () -> k.normGemm(x, d, t, d, lw.inProjNormed, 2 * e, none, xz, 2 * e, eps, st, rs)));
        }
        if (splitFirst) { // h, free in the forward, holds the planes
            steps.add(new Step("[row_split alone]", 0, false, () -> k.rowSplit(x, d, t, d, eps, h, rs, st)));
            steps.add(new Step("rmsnorm+in_proj (fused, A split first)", inFlops, true,
                    () -> k.normGemm(x, d, t, d, lw.inProjNormed, 2 * e, none, xz, 2 * e, eps, st, rs, h)));
        }
        steps.add(new Step("conv+silu", 0, true,
                () -> k.convSilu(xz, 2 * e, off, seqs, states, sf, 0, lw.convWeight, lw.convBias, u, e, 4, st)));
        steps.add(new Step("x_proj", xFlops, true,
                () -> k.gemm(u, e, t, e, lw.xProj, xr, none, bc, xr, GpuKernels.GEMM_MODE_STORE, st)));
        steps.add(new Step("dt_proj+softplus", 2.0 * t * r * e, false,
                () -> k.gemm(bc, xr, t, r, lw.dtProj, e, lw.dtProjBias, dt, e, GpuKernels.GEMM_MODE_SOFTPLUS, st)));
        steps.add(new Step("scan", 0, false,
                () -> k.scan(u, dt, bc, xr, r, xz, 2 * e, off, seqs, states, sf, c.ssmStateOffset(0), lw.aNeg, lw.d, y, e, st)));
        steps.add(new Step("scan with fused dt_proj", 0, true, () -> k.scanFusedDt(u, lw.dtProj.plain(), lw.dtProjBias, bc,
                xr, r, xz, 2 * e, off, seqs, t, states, sf, c.ssmStateOffset(0), lw.aNeg, lw.d, y, e, st)));
        steps.add(new Step("out_proj+residual", outFlops, true,
                () -> k.gemm(y, e, t, e, lw.outProj, d, none, x, d, GpuKernels.GEMM_MODE_ACCUMULATE, st, rs)));
        steps.add(new Step("[conv+silu, runtime-width kernel]", 0, false,
                () -> generic.convSilu(xz, 2 * e, off, seqs, states, sf, 0, lw.convWeight, lw.convBias, u, e, 4, st)));
        StringBuilder sb = new StringBuilder(String.format("layer breakdown, hidden %d, %d tokens, GEMM %s%s%s:", hidden, t,
                mode, k.wgmma ? " (wgmma)" : "", k.halfSplits(d, 2 * e) ? " (3xFP16 in_proj" + (k.halfSplits(e, d)
                        ? ", out_proj)" : ")") : ""));
        double total = 0;
        for (Step step : steps) {
            double best = bestOf(st, reps, step.run());
            if (step.inForward()) {
                total += best;
            }
            sb.append(String.format(" %s%s %.3f ms%s;", step.inForward() ? "*" : "", step.name(), best,
                    step.flops() > 0 ? String.format(" (%.1f TFLOP/s)", step.flops() / (best * 1e-3) / 1e12) : ""));
        }
        System.out.println(sb.append(String.format(" total of the forward's kernels (*) %.3f ms", total)));
        for (CUdeviceptr q : p) {
            JCudaDriver.cuMemFree(q);
        }
        JCudaDriver.cuMemFree(off);
        JCudaDriver.cuStreamDestroy(st);
        w.release();
    }

    /** The best of five timed launches on a stream after one warm-up, in milliseconds (device events). */
    static double bestOfFive(CUstream st, Runnable launch) {
        return bestOf(st, 6, launch);
    }

    /**
     * The shortest of {@code runs} launches on a stream, in milliseconds (device events); the first is a warm-up and not
     * counted, unless it is the only one (one launch each under Nsight Compute).
     */
    static double bestOf(CUstream st, int runs, Runnable launch) {
        CUevent e0 = new CUevent(), e1 = new CUevent();
        JCudaDriver.cuEventCreate(e0, 0);
        JCudaDriver.cuEventCreate(e1, 0);
        double best = Double.MAX_VALUE;
        for (int i = 0; i < runs; i++) {
            JCudaDriver.cuEventRecord(e0, st);
            launch.run();
            JCudaDriver.cuEventRecord(e1, st);
            JCudaDriver.cuEventSynchronize(e1);
            float[] ms = new float[1];
            JCudaDriver.cuEventElapsedTime(ms, e0, e1);
            if (i > 0 || runs == 1) {
                best = Math.min(best, ms[0]);
            }
        }
        JCudaDriver.cuEventDestroy(e0);
        JCudaDriver.cuEventDestroy(e1);
        return best;
    }

    /** Small values (|v| < 0.5) so exp/softplus stay in range: a pattern, not random, since only speed counts here. */
    private static void fillSmall(CUdeviceptr p, long floats, int salt) {
        float[] chunk = new float[1 << 20];
        Random rnd = new Random(salt);
        for (int i = 0; i < chunk.length; i++) {
            chunk[i] = (rnd.nextFloat() - 0.5f) * (salt == 1 ? 0.2f : 1f) + (salt == 1 ? 0.1f : 0f);
        }
        for (long at = 0; at < floats; at += chunk.length) {
            long nf = Math.min(chunk.length, floats - at);
            JCudaDriver.cuMemcpyHtoD(p.withByteOffset(4 * at), jcuda.Pointer.to(chunk), 4 * nf);
        }
    }

    /**
     * One forward with an event before and after every launch: each kernel's device time and the gap before it on its
     * stream, in the order enqueued, then the sums by kernel. The chunks alternate between two streams (s0, s1).
     */
    static void trace(GpuContext ctx, int hidden, int layers, int keys, int len) {
        MambaConfig c = MambaConfig.of(hidden, 16, layers);
        MambaBatch b = benchBatch(c, keys, len);
        record Launch(String name, int gx, int gy, CUstream stream, CUevent before, CUevent after) {
        }
        java.util.List<Launch> launches = new java.util.ArrayList<>();
        java.util.List<CUstream> streams = new java.util.ArrayList<>();
        try (GpuBatchForward f = new GpuBatchForward(RandomModels.model(c, 42))) {
            for (int i = 0; i < 2; i++) {
                f.forward(b);
            }
            CUevent[] pending = new CUevent[1];
            f.kernels.listener = (fn, gx, gy, st, after) -> {
                CUevent e = new CUevent();
                JCudaDriver.cuEventCreate(e, 0);
                JCudaDriver.cuEventRecord(e, st);
                if (!after) {
                    pending[0] = e;
                } else {
                    launches.add(new Launch(ctx.functionName(fn), gx, gy, st, pending[0], e));
                    if (!streams.contains(st)) {
                        streams.add(st);
                    }
                }
            };
            long t0 = System.nanoTime();
            f.forward(b);
            double wall = (System.nanoTime() - t0) / 1e6;
            f.kernels.listener = null;
            JCudaDriver.cuCtxSynchronize();
            System.out.printf("trace: hidden %d, %d layers, %d x %d tokens, wall %.3f ms host to host%n", hidden, layers,
                    keys, len, wall);
            System.out.println("| # | stream | kernel | grid | start ms | device ms | gap before ms |");
            System.out.println("|---|---|---|---|---:|---:|---:|");
            java.util.Map<String, double[]> byName = new java.util.LinkedHashMap<>();
            java.util.Map<CUstream, CUevent> lastAfter = new java.util.HashMap<>();
            CUevent first = launches.get(0).before();
            float[] ms = new float[1];
            double kernelSum = 0, gapSum = 0;
            for (int i = 0; i < launches.size(); i++) {
                Launch l = launches.get(i);
                JCudaDriver.cuEventElapsedTime(ms, first, l.before());
                double start = ms[0];
                JCudaDriver.cuEventElapsedTime(ms, l.before(), l.after());
                double dur = ms[0];
                double gap = Double.NaN;
                CUevent prev = lastAfter.put(l.stream(), l.after());
                if (prev != null) {
                    JCudaDriver.cuEventElapsedTime(ms, prev, l.before());
                    gap = ms[0];
                }
                System.out.printf("| %d | s%d | %s | %d x %d | %.3f | %.4f | %s |%n", i, streams.indexOf(l.stream()), l.name(),
                        l.gx(), l.gy(), start, dur, Double.isNaN(gap) ? "-" : String.format("%.4f", gap));
                double[] sum = byName.computeIfAbsent(l.name(), k -> new double[2]);
                sum[0] += dur;
                sum[1]++;
                kernelSum += dur;
                if (!Double.isNaN(gap) && gap < 0.5) { // gaps within a chunk (a longer one waits for copies)
                    gapSum += gap;
                }
            }
            System.out.println();
            System.out.println("| kernel | launches | device ms | per launch |");
            System.out.println("|---|---:|---:|---:|");
            for (var e : byName.entrySet()) {
                System.out.printf("| %s | %.0f | %.3f | %.4f |%n", e.getKey(), e.getValue()[1], e.getValue()[0],
                        e.getValue()[0] / e.getValue()[1]);
            }
            System.out.printf("kernels %.3f ms, gaps under 0.5 ms between them %.3f ms, %d launches%n", kernelSum, gapSum,
                    launches.size());
            for (Launch l : launches) {
                JCudaDriver.cuEventDestroy(l.before());
                JCudaDriver.cuEventDestroy(l.after());
            }
        }
    }

    /** keys sequences of len tokens from zero states, inputs a repeated 1M-float Gaussian pattern. */
    private static MambaBatch benchBatch(MambaConfig c, int keys, int len) {
        MambaBatch b = new MambaBatch(c);
        float[] state = new float[c.stateFloats()];
        for (int i = 0; i < keys; i++) {
            b.addSequence(state, len);
        }
        float[] pattern = RandomModels.gaussian(new Random(1), 1 << 20);
        float[] in = b.inputs();
        for (long at = 0, n = (long) b.totalTokens() * c.hiddenSize(); at < n; at += pattern.length) {
            System.arraycopy(pattern, 0, in, (int) at, (int) Math.min(pattern.length, n - at));
        }
        return b;
    }

    static void forward(int hidden, int layers, int keys, int len, boolean withCpu) {
        MambaConfig c = MambaConfig.of(hidden, 16, layers);
        MambaModel m = RandomModels.model(c, 42);
        MambaBatch b = benchBatch(c, keys, len);
        long n = (long) b.totalTokens() * hidden;
        long events = (long) keys * len;
        double best = Double.MAX_VALUE, bestKernels = Double.MAX_VALUE, bestSummed = Double.MAX_VALUE, copies = 0;
        try (GpuBatchForward f = new GpuBatchForward(m)) {
            f.profileKernels = true;
            for (int i = 0; i < 4; i++) {
                f.kernelMillis = 0;
                f.kernelMillisSummed = 0;
                f.hostCopyMillis = 0;
                long t0 = System.nanoTime();
                f.forward(b);
                double s = (System.nanoTime() - t0) / 1e9;
                if (i > 0 && s < best) {
                    copies = f.hostCopyMillis / 1e3;
                }
                if (i > 0) {
                    best = Math.min(best, s);
                    bestKernels = Math.min(bestKernels, f.kernelMillis / 1e3);
                    bestSummed = Math.min(bestSummed, f.kernelMillisSummed / 1e3);
                }
            }
        }
        if (!finite(b.outputs(), (int) Math.min(n, 1 << 20))) {
            throw new AssertionError("non-finite outputs");
        }
        String cpu = "-", ratio = "-";
        if (withCpu) {
            CpuParallelForward f = new CpuParallelForward(m);
            double cbest = Double.MAX_VALUE;
            for (int i = 0; i < 3; i++) {
                long t0 = System.nanoTime();
                f.forward(b);
                double s = (System.nanoTime() - t0) / 1e9;
                if (i > 0) {
                    cbest = Math.min(cbest, s);
                }
            }
            cpu = String.format("%.3g", events / cbest);
            ratio = String.format("%.0fx", cbest / best);
        }
        System.out.printf("| %d | %d | %d | %d | %.3g | %.3g | %.3g | %.0f%% | %s | %s |%n", hidden, layers, keys, len,
                events / best, events / bestKernels, events / bestSummed, 100 * copies / best, cpu, ratio);
    }

    private static boolean finite(float[] a, int n) {
        for (int i = 0; i < n; i++) {
            if (!Float.isFinite(a[i])) {
                return false;
            }
        }
        return !Arrays.equals(Arrays.copyOf(a, 64), new float[64]);
    }
}
