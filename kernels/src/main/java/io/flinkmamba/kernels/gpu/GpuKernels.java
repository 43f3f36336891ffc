package io.flinkmamba.kernels.gpu;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * Typed launchers for the kernels of mamba.cu (grid shapes and argument lists in one place).
 * Every launch goes through JCuda with exceptions enabled: a failed launch throws CudaException.
 */
final class GpuKernels {
    static final int GEMM_MODE_STORE = 0;
    static final int GEMM_MODE_SOFTPLUS = 1;
    static final int GEMM_MODE_ACCUMULATE = 2;
    /**
     * in_proj's: store, with the upper half of the outputs (xz's z) through SiLU, so that the scans read the gate
     * SiLU(z) and spend none of their special-function unit on it (mamba.cu's gemm_activation).
     */
    static final int GEMM_MODE_GATE = 3;
    private static final int GEMM_TOKENS_TILE = 128;
    private static final int ROWS_PER_NORM_BLOCK = 8;
    private static final int CHANNEL_BLOCK = 128;
    /** State sizes with a register-resident scan; others use scan_generic. */
    private static final int[] SCAN_SIZES = {4, 8, 16, 32, 64};

    /** Largest time_step_rank the fused-Δ scans take (DT_RMAX in mamba.cu). */
    static final int FUSED_DT_MAX_RANK = 16;
    /**
     * Largest time_step_rank fused by default: every rank the fused scans take. Measured on H200
     * (docs/benchmarks.md, third session): with the softplus on the special-function unit the fused scan
     * beats dt_proj GEMM + scan at rank 4 (1.43 vs 1.67 ms per 1M tokens) and at rank 16 (1.64 vs 1.68
     * ms). Before that change (second session) it lost at rank 16 (1.90 vs 1.83 ms), so only rank <= 4 was fused.
     */
    static final int FUSED_DT_DEFAULT_MAX_RANK = FUSED_DT_MAX_RANK;
    /**
     * Ranks with their own fused-Δ scan at state size 16 (rank 4: hidden 64): the dot product unrolled and δ read
     * 16 bytes at a time. Measured on H200 (docs/benchmarks.md, fifth session): 6.47 vs 6.94 ms at rank 4,
     * 100,000 x 64 tokens, E 128; at rank 16 (hidden 256) no faster (5.82 vs 5.81 ms, it spills under the
     * 72-register cap), so not shipped.
     */
    static final int[] FUSED_DT_COMPILED_RANKS = {4};
    /**
     * Ranks with a staged fused-Δ scan at state size 16 (scan_dt_staged_n16_rR: dt_proj's row in registers). Measured
     * on H200 (docs/benchmarks.md, seventh session) against the lane-loading fused scan each rank would take instead:
     * 6.14 vs 6.49 ms at rank 4 (scan_dt_n16_r4), 100,000 x 64 tokens, E 128; 4.12 vs 5.79 ms at rank 16
     * (scan_dt_n16), 16,384 x 64 tokens, E 512.
     */
    static final int[] STAGED_FUSED_RANKS = {4, 16};
    /** System property: true fuses every rank up to 16 (the default), false never fuses (comparisons, tests). */
    static final String FUSE_DT_PROPERTY = "flinkmamba.gpu.fuseDt";

    /**
     * System property: false keeps the final RMSNorm a kernel of its own even where the last out_proj could apply
     * it (comparisons; default true).
     */
    static final String FUSE_FINAL_NORM_PROPERTY = "flinkmamba.gpu.fuseFinalNorm";
    /**
     * JVM property: {@code false} keeps the mma.sync projection kernels on sm_90 devices instead of the warpgroup-MMA
     * ones (gemm_wg_*, 3xTF32 only; benchmarks compare both in one run).
     */
    static final String WGMMA_PROPERTY = "flinkmamba.gpu.wgmma";
    /**
     * JVM property: {@code false} keeps in_proj and out_proj on the 3xTF32 warpgroup-MMA kernels instead of the 3xFP16
     * one (gemm_wgh_f16x3_n128: A and W scaled per row by powers of two, split into FP16 heads and tails; float32
     * accuracy, as 3xTF32). Benchmarks compare both in one run.
     */
    static final String HALF_SPLIT_PROPERTY = "flinkmamba.gpu.halfSplit";
    /**
     * Smallest projection width the 3xFP16 kernel takes (its 128-output tile); narrower ones (x_proj, out_proj at hidden
     * 64) keep 3xTF32. Measured on H200 (docs/benchmarks.md, ninth session).
     */
    static final int HALF_SPLIT_MIN_OUT = 128;
    /**
     * Shortest reduction the 3xFP16 kernel takes: its row scales cost a pass over A, which a 64-deep reduction does
     * not earn back (H200, ninth session: in_proj at hidden 64 0.649 ms against 0.622 on 3xTF32 wgmma).
     */
    static final int HALF_SPLIT_MIN_IN = 128;
    /** The 3xFP16 kernel's shape: 128 tokens x 128 outputs, 3 stages of 128 rows of 80 floats and 2 x 128 of 64 halves. */
    static final StreamingShape HALF_SPLIT_SHAPE =
            new StreamingShape(128, 128, 256, 3 * (128 * 80 * 4 + 2 * 128 * 64 * 2) + 1024, true);
    private static final int ROW_SCALE_THREADS = 256;
    /**
     * JVM property: {@code false} keeps in_proj on the 3xFP16 kernel that splits A in registers even where the one
     * that takes A split beforehand (row_split, then gemm_whs_f16x3_n128) applies. Benchmarks compare both in one run.
     */
    static final String SPLIT_FIRST_PROPERTY = "flinkmamba.gpu.splitFirst";
    /** gemm_whs_f16x3_n128's shape: 128 tokens x 128 outputs, 3 stages of four 128 x 64-half tiles (A's and W's heads and tails). */
    static final StreamingShape SPLIT_FIRST_SHAPE = new StreamingShape(128, 128, 256, 3 * 4 * 128 * 64 * 2 + 1024, true);

    /**
     * System property: false keeps the scans that load their inputs lane by lane (scan_nN, scan_dt_nN) even where the
     * staged ones (scan_staged_nN, scan_dt_staged_n16_rR: each warp copies its inputs into shared memory a chunk ahead,
     * each block walks a range of sequences) fit and pay (comparisons; default true).
     */
    static final String STAGED_SCAN_PROPERTY = "flinkmamba.gpu.stagedScan";
    /** State sizes with a staged scan (one lane per channel, rows of whole 16-byte words). */
    private static final int[] STAGED_SCAN_SIZES = {4, 8, 16};
    /** Channels per staged-scan block (STAGED_LANES in mamba.cu). */
    private static final int STAGED_LANES = 128;
    /**
     * Longest mean sequence the staged fused-Δ scan at rank 4 takes; longer ones take the lane-loading one. Measured
     * on H200 (docs/benchmarks.md, seventh session, call 7, 6.5M tokens, E 128, staged vs lane-loading in one run):
     * 6.20 vs 6.69 ms at 64 tokens a sequence, even at 128 and 256, 6.35 vs 6.07 at 512 and 6.28 vs 6.16 at 1,024 (a
     * block's range is a whole number of long sequences; one block a sequence is balanced better by the hardware). At
     * rank 16 (E 512) and for the plain scan the staged kernels win at every length.
     */
    static final int STAGED_FUSED_MAX_MEAN_TOKENS = 64;

    /** Reduction lengths below this take the CUDA-core GEMM (dt_proj's δ·Wᵀ): a 32-deep k-tile would be mostly padding. */
    static final int TENSOR_CORE_MIN_IN = 32;

    private final CUfunction rmsnorm, simtNarrow, simtWide, conv, scan, scanDt;
    /**
     * The streaming tensor-core GEMMs of the precision (null for FP32): 64-output tiles, 48-output tiles (for
     * x_proj's r + 2N <= 48 outputs), and in_proj with its RMSNorm fused.
     */
    private final StreamingGemm tensorGemm, narrowTensorGemm, tensorNormGemm;
    /** The last out_proj with the final RMSNorm in its epilogue (null for FP32). */
    private final StreamingGemm tensorRmsGemm;
    /** Whether the projections run on the warpgroup-MMA kernels (gemm_wg_*). */
    final boolean wgmma;
    /** The 3xFP16 GEMM and its row-scale kernel (null unless {@link #usesHalfSplit(boolean, GpuPrecision)}). */
    private final StreamingGemm halfGemm, halfGemmFull;
    private final CUfunction rowScales;
    /** in_proj with A split beforehand (null unless the 3xFP16 kernel is used and {@value #SPLIT_FIRST_PROPERTY} is not false). */
    private final StreamingGemm splitFirstGemm;
    private final CUfunction rowSplit;
    private final int multiprocessors;
    private final CUfunction[] convFixed = new CUfunction[5]; // by kernel width 2..4: window in registers
    /** Fused-Δ scans with the rank compiled in (scan_dt_n16_rR), by rank; null where the runtime-rank one serves. */
    private final CUfunction[] scanDtByRank = new CUfunction[FUSED_DT_MAX_RANK + 1];
    private final boolean scanGeneric;
    /** The plain staged scan (null where it does not serve: state size, property, override). */
    private final CUfunction scanStaged;
    /** The staged fused-Δ scans, by rank: only the ranks compiled in ({@link #STAGED_FUSED_RANKS}) have one. */
    private final CUfunction[] scanDtStagedByRank = new CUfunction[FUSED_DT_MAX_RANK + 1];
    /** Resident blocks per multiprocessor of each staged-scan kernel, by block size / 32 (0: not asked yet). */
    private final java.util.Map<CUfunction, int[]> stagedBlocksPerSm = new java.util.IdentityHashMap<>();
    private final int stateSize;
    /** Benchmarks only: the staged fused scans at every mean sequence length. */
    boolean stagedFusedAtAnyLength;
    /** Benchmarks only: the runtime-width conv kernel even where a fixed-width one exists. */
    boolean genericConv;
    /** Benchmarks only: told of every launch just before and just after it is enqueued (per-kernel device time). */
    LaunchListener listener;

    /** Sees each launch on its stream: {@code after} false just before it is enqueued, true just after. */
    interface LaunchListener {
        void launch(CUfunction f, int gridX, int gridY, CUstream st, boolean after);
    }

    GpuKernels(GpuContext ctx, int stateSize) {
        this(ctx, stateSize, null, GpuPrecision.fromSystemProperty());
    }

    /** With another scan kernel of the same signature and a GEMM mode (benchmarks of variants). */
    GpuKernels(GpuContext ctx, int stateSize, String scanOverride, GpuPrecision gemmMode) {
        this.stateSize = stateSize;
        rmsnorm = ctx.function("rmsnorm_rows");
        simtNarrow = ctx.function("gemm_xwt_n64");
        simtWide = ctx.function("gemm_xwt_n128");
        multiprocessors = ctx.multiprocessors;
        // 3xTF32 on an sm_90 device (the sm_90a cubin): the warpgroup-MMA kernels, same arguments and epilogues
        wgmma = usesWgmma(ctx.warpgroupMma, gemmMode);
        String prefix = wgmma ? "gemm_wg_tf32x3" : gemmMode.kernelName;
        tensorGemm = tensorKernel(ctx, prefix, "_s64");
        narrowTensorGemm = tensorKernel(ctx, prefix, "_s48");
        tensorNormGemm = tensorKernel(ctx, prefix, "_norm_s64");
        tensorRmsGemm = tensorKernel(ctx, gemmMode.kernelName, "_rms_s64");   // mma.sync: hidden <= 64 only
        boolean half = usesHalfSplit(wgmma, gemmMode);
        halfGemm = half ? streaming(ctx, "gemm_wgh_f16x3_n128", HALF_SPLIT_SHAPE) : null;
        halfGemmFull = half ? streaming(ctx, "gemm_wgh_f16x3_n128_full", HALF_SPLIT_SHAPE) : null;
        rowScales = half ? ctx.function("row_scales") : null;
        boolean splitFirst = half && !"false".equals(System.getProperty(SPLIT_FIRST_PROPERTY));
        splitFirstGemm = splitFirst ? streaming(ctx, "gemm_whs_f16x3_n128", SPLIT_FIRST_SHAPE) : null;
        rowSplit = splitFirst ? ctx.function("row_split") : null;
        conv = ctx.function("conv_silu");
        for (int k = 2; k <= 4; k++) {
            convFixed[k] = ctx.function("conv_silu_k" + k);
        }
        boolean shipped = false;
        for (int s : SCAN_SIZES) {
            shipped |= s == stateSize;
        }
        scanGeneric = !shipped;
        boolean dtVariant = scanOverride != null && scanOverride.startsWith("scan_dt");
        boolean stagedVariant = scanOverride != null && scanOverride.contains("_staged");
        String laneVariant = stagedVariant ? null : scanOverride;
        scan = ctx.function(laneVariant != null && !dtVariant ? laneVariant : shipped ? "scan_n" + stateSize : "scan_generic");
        scanDt = !shipped ? null : ctx.function(laneVariant != null && dtVariant ? laneVariant : "scan_dt_n" + stateSize);
        if (stateSize == 16 && scanOverride == null) {
            for (int rank : FUSED_DT_COMPILED_RANKS) {
                scanDtByRank[rank] = ctx.function("scan_dt_n16_r" + rank);
            }
        }
        boolean staged = laneVariant == null && !"false".equals(System.getProperty(STAGED_SCAN_PROPERTY))
                && java.util.Arrays.stream(STAGED_SCAN_SIZES).anyMatch(n -> n == stateSize);
        scanStaged = staged ? ctx.function(stagedVariant && !dtVariant ? scanOverride : "scan_staged_n" + stateSize) : null;
        if (staged && stateSize == 16 && scanOverride == null) {
            for (int rank : STAGED_FUSED_RANKS) {
                scanDtStagedByRank[rank] = ctx.function("scan_dt_staged_n16_r" + rank);
            }
        } else if (staged && stateSize == 16 && dtVariant) { // a staged fused variant serves the rank its name says
            scanDtStagedByRank[compiledRank(scanOverride)] = ctx.function(scanOverride);
        }
    }

    /** The rank a fused scan kernel's name says it has compiled in ("..._r16..."), 4 where it says none. */
    static int compiledRank(String kernel) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("_r(\\d+)").matcher(kernel);
        return m.find() ? Integer.parseInt(m.group(1)) : 4;
    }

    /**
     * Whether a staged scan takes these layouts: every row it copies in 16-byte pieces (a token's channels, its x_proj
     * slice, a sequence's state) starts and ends on a 16-byte boundary. The buffers themselves are 256-byte aligned
     * (cuMemAlloc and the forward's sub-buffers); the kernel traps on one that is not.
     */
    static boolean stagedScanFits(int e, int ldxz, int ldbc, int r, int stateFloats, int ssmOff) {
        return e % 4 == 0 && ldxz % 4 == 0 && ldbc % 4 == 0 && r % 4 == 0 && stateFloats % 4 == 0 && ssmOff % 4 == 0;
    }

    /** Whether the plain scans of these layouts run the staged kernels. */
    boolean usesStagedScan(int e, int ldxz, int ldbc, int r, int stateFloats, int ssmOff) {
        return scanStaged != null && stagedScanFits(e, ldxz, ldbc, r, stateFloats, ssmOff);
    }

    /**
     * Whether the fused-Δ scans of these layouts and this batch run a staged kernel: a rank compiled into one
     * ({@link #STAGED_FUSED_RANKS}; a runtime-rank staged kernel, which held dt_proj's rows in shared memory and so
     * staged 4 tokens a chunk, took 6.32 vs 5.80 ms at rank 16: dropped, sixth session) and short sequences on average.
     */
    boolean usesStagedFusedScan(int e, int ldxz, int ldbc, int r, int stateFloats, int ssmOff, int seqs, int tokens) {
        return usesStagedScan(e, ldxz, ldbc, r, stateFloats, ssmOff) && r < scanDtStagedByRank.length
                && scanDtStagedByRank[r] != null
                && (stagedFusedAtAnyLength || tokens <= stagedFusedMaxMeanTokens(r) * seqs);
    }

    /**
     * Longest mean sequence the staged fused scan of rank r takes: {@link #STAGED_FUSED_MAX_MEAN_TOKENS} at rank 4,
     * any at rank 16 (docs/benchmarks.md, seventh session, call 7, E 512: 4.13 vs 5.79 ms at 64 tokens a sequence,
     * 4.17 vs 5.33 at 1,024).
     */
    static long stagedFusedMaxMeanTokens(int r) {
        return r == 4 ? STAGED_FUSED_MAX_MEAN_TOKENS : Integer.MAX_VALUE;
    }

    /** Whether {@link #scanFusedDt} serves this model: a shipped state size and a rank it handles and pays for. */
    boolean fusesDt(int timeStepRank) {
        String p = System.getProperty(FUSE_DT_PROPERTY);
        int maxRank = "true".equals(p) ? FUSED_DT_MAX_RANK : "false".equals(p) ? 0 : FUSED_DT_DEFAULT_MAX_RANK;
        return scanDt != null && timeStepRank <= maxRank;
    }

    void rmsnorm(CUdeviceptr x, CUdeviceptr w, CUdeviceptr out, int rows, int d, float eps, CUstream st) {
        if (rows == 0) {
            return;
        }
        launch(rmsnorm, ceil(rows, ROWS_PER_NORM_BLOCK), 1, 32 * ROWS_PER_NORM_BLOCK, st,
                Pointer.to(x), Pointer.to(w), Pointer.to(out), ints(rows), ints(d), Pointer.to(new float[] {eps}));
    }

    /** Y[t, o] (row stride ldy) = X[t, :in] (row stride ldx) · W[o, :]ᵀ + bias, epilogue by mode. */
    void gemm(CUdeviceptr x, int ldx, int tokens, int in, DeviceWeights.Projection w, int out, CUdeviceptr bias,
              CUdeviceptr y, int ldy, int mode, CUstream st) {
        gemm(x, ldx, tokens, in, w, out, bias, y, ldy, mode, st, null);
    }

    /**
     * The same, with {@code rowScales} (2 floats a token, or null) the scratch the 3xFP16 kernel needs for its row
     * scales: with it, projections {@link #halfSplits} takes run there.
     */
    void gemm(CUdeviceptr x, int ldx, int tokens, int in, DeviceWeights.Projection w, int out, CUdeviceptr bias,
              CUdeviceptr y, int ldy, int mode, CUstream st, CUdeviceptr rowScales) {
        if (tokens == 0) {
            return;
        }
        if (rowScales != null && halfSplits(in, out)) {
            launchHalf(x, ldx, tokens, in, w, out, bias, y, ldy, mode, -1f, rowScales, st);
            return;
        }
        if (tensorGemm != null && in >= TENSOR_CORE_MIN_IN) {
            StreamingGemm g = out <= 48 ? narrowTensorGemm : tensorGemm;
            launchStreaming(g, x, ldx, tokens, in, w, out, bias, y, ldy, mode, 0f, null, null, st);
            return;
        }
        // CUDA cores: 64-output tiles when that covers the projection (x_proj, out_proj at small D), else 128
        boolean narrow = out <= 64;
        launch(narrow ? simtNarrow : simtWide, ceil(tokens, GEMM_TOKENS_TILE), ceil(out, narrow ? 64 : 128), 256, st,
                Pointer.to(x), ints(ldx), ints(tokens), ints(in), Pointer.to(w.plain()), ints(out), Pointer.to(bias),
                Pointer.to(y), ints(ldy), ints(mode));
    }

    /** Whether {@link #normGemm} serves a reduction of {@code in}: the tensor-core precisions, in >= 32. */
    boolean fusesNorm(int in) {
        return tensorNormGemm != null && in >= TENSOR_CORE_MIN_IN;
    }

    /**
     * in_proj with the layer's RMSNorm fused: Y = (X[t] / rms(X[t])) · W'ᵀ + bias, where W' = in_proj ·
     * diag(norm weight) (DeviceWeights.Layer.inProjNormed) and rms over the whole row of {@code in} values; the upper
     * half of Y through SiLU ({@link #GEMM_MODE_GATE}: the gate the scans read).
     * Only when {@link #fusesNorm}.
     */
    void normGemm(CUdeviceptr x, int ldx, int tokens, int in, DeviceWeights.Projection wNormed, int out, CUdeviceptr bias,
                  CUdeviceptr y, int ldy, float eps, CUstream st) {
        normGemm(x, ldx, tokens, in, wNormed, out, bias, y, ldy, eps, st, null);
    }

    /** The same, on the 3xFP16 kernel where {@link #halfSplits} takes it and {@code rowScales} is given (see gemm). */
    void normGemm(CUdeviceptr x, int ldx, int tokens, int in, DeviceWeights.Projection wNormed, int out, CUdeviceptr bias,
                  CUdeviceptr y, int ldy, float eps, CUstream st, CUdeviceptr rowScales) {
        normGemm(x, ldx, tokens, in, wNormed, out, bias, y, ldy, eps, st, rowScales, null);
    }

    /**
     * The same, with {@code planes} (4 bytes a token and input, or null) scratch for A split beforehand: where
     * {@link #splitsFirst} takes the shape, row_split writes the rows' scales into {@code rowScales} and their FP16
     * heads and tails into {@code planes}, and gemm_whs_f16x3_n128 reads both operands from shared memory.
     */
    void normGemm(CUdeviceptr x, int ldx, int tokens, int in, DeviceWeights.Projection wNormed, int out, CUdeviceptr bias,
                  CUdeviceptr y, int ldy, float eps, CUstream st, CUdeviceptr rowScales, CUdeviceptr planes) {
        if (tokens == 0) {
            return;
        }
        if (rowScales != null && planes != null && splitsFirst(tokens, in, out, ldx, ldy)) {
            rowSplit(x, ldx, tokens, in, eps, planes, rowScales, st);
            launchPersistent(splitFirstGemm, tokens, out, st, Pointer.to(planes), ints(tokens), ints(in),
                    Pointer.to(wNormed.half(out, in)), ints(out), Pointer.to(bias), Pointer.to(y), ints(ldy),
                    ints(GEMM_MODE_GATE), Pointer.to(rowScales));
            return;
        }
        if (rowScales != null && halfSplits(in, out)) {
            launchHalf(x, ldx, tokens, in, wNormed, out, bias, y, ldy, GEMM_MODE_GATE, eps, rowScales, st);
            return;
        }
        launchStreaming(tensorNormGemm, x, ldx, tokens, in, wNormed, out, bias, y,
                ldy, GEMM_MODE_GATE, eps, null, null, st);
    }

    /**
     * Whether {@link #residualNormGemm} serves the last out_proj: a tensor-core precision, a reduction of 32 or
     * more, and the whole row ({@code out} = D) in one 64-output tile, unless {@value #FUSE_FINAL_NORM_PROPERTY} is
     * false.
     */
    boolean fusesFinalNorm(int in, int out) {
        return tensorRmsGemm != null && in >= TENSOR_CORE_MIN_IN && out <= tensorRmsGemm.shape().outTile()
                && !"false".equals(System.getProperty(FUSE_FINAL_NORM_PROPERTY));
    }

    /**
     * The last layer's out_proj and the final RMSNorm in one kernel: v = Y[t] + X[t] · Wᵀ + bias (the residual
     * stream, not stored) and Y2[t] = v / rms(v) · normW, rows of stride ldy. Only when {@link #fusesFinalNorm}.
     */
    void residualNormGemm(CUdeviceptr x, int ldx, int tokens, int in, DeviceWeights.Projection w, int out,
                          CUdeviceptr bias, CUdeviceptr y, int ldy, CUdeviceptr normW, CUdeviceptr y2, float eps,
                          CUstream st) {
        if (tokens == 0) {
            return;
        }
        launchStreaming(tensorRmsGemm, x, ldx, tokens, in, w, out, bias, y, ldy, GEMM_MODE_ACCUMULATE, eps, normW, y2,
                st);
    }

    /**
     * Whether a projection of this reduction and width runs on the 3xFP16 kernel (given row-scale scratch): the kernel
     * is loaded ({@link #usesHalfSplit(boolean, GpuPrecision)}), {@code out >= } {@value #HALF_SPLIT_MIN_OUT} and
     * {@code in >= } {@value #HALF_SPLIT_MIN_IN}.
     */
    boolean halfSplits(int in, int out) {
        return halfGemm != null && out >= HALF_SPLIT_MIN_OUT && in >= HALF_SPLIT_MIN_IN;
    }

    /** row_split alone (part of {@link #normGemm} with planes; benchmarks time it on its own). */
    void rowSplit(CUdeviceptr x, int ldx, int tokens, int in, float eps, CUdeviceptr planes, CUdeviceptr rowScales,
                  CUstream st) {
        launch(rowSplit, ceil(tokens, ROW_SCALE_THREADS / 16), 1, ROW_SCALE_THREADS, st, Pointer.to(x), ints(ldx),
                ints(tokens), ints(in), Pointer.to(new float[] {eps}), Pointer.to(planes), Pointer.to(rowScales));
    }

    /**
     * Whether {@link #normGemm} with planes splits A beforehand for this shape: the kernel is loaded (see
     * {@value #SPLIT_FIRST_PROPERTY}), {@link #halfSplits} takes the projection, and it is whole tiles of tokens,
     * reduction and outputs with aligned rows. At hidden 256's out_proj the wider row pass costs more than the GEMM
     * gains (docs/benchmarks.md, eleventh session), so the forward asks for in_proj only.
     */
    boolean splitsFirst(int tokens, int in, int out, int ldx, int ldy) {
        return splitFirstGemm != null && halfSplits(in, out) && tokens % SPLIT_FIRST_SHAPE.tokenTile() == 0
                && halfWholeTiles(in, out, ldx, ldy);
    }

    /**
     * Whether the 3xFP16 kernel is used at all: on the warpgroup-MMA kernels (sm_90, 3xTF32 precision), unless
     * {@value #HALF_SPLIT_PROPERTY} is false.
     */
    static boolean usesHalfSplit(boolean wgmma, GpuPrecision mode) {
        return wgmma && mode == GpuPrecision.TF32X3 && !"false".equals(System.getProperty(HALF_SPLIT_PROPERTY));
    }

    /** row_scales (eps >= 0: with the RMSNorm's factor) then gemm_wgh_f16x3_n128, on stream st. */
    private void launchHalf(CUdeviceptr x, int ldx, int tokens, int in, DeviceWeights.Projection p, int out,
                            CUdeviceptr bias, CUdeviceptr y, int ldy, int mode, float eps, CUdeviceptr rs, CUstream st) {
        launch(rowScales, ceil(tokens, ROW_SCALE_THREADS / 8), 1, ROW_SCALE_THREADS, st, Pointer.to(x), ints(ldx),
                ints(tokens), ints(in), Pointer.to(new float[] {eps}), Pointer.to(rs));
        CUdeviceptr w = p.half(out, in);
        // the full tiles on the kernel without checks, the rest (a partial last tile, or all of a ragged shape) on the
        // checked one (the buffers are 256-byte aligned: row offsets keep X's rows 16-byte and Y's 8-byte aligned)
        int full = halfFullTokens(tokens, in, out, ldx, ldy);
        launchHalfGemm(halfGemmFull, x, ldx, full, in, w, out, bias, y, ldy, mode, rs, st);
        launchHalfGemm(halfGemm, x.withByteOffset(4L * full * ldx), ldx, tokens - full, in, w, out, bias,
                y.withByteOffset(4L * full * ldy), ldy, mode, rs.withByteOffset(8L * full), st);
    }

    /**
     * Rows a forward's in_proj (hidden {@code d} to {@code 2e}) and out_proj ({@code e} to {@code d}) run over for a
     * chunk of {@code tokens}: rounded up to the 3xFP16 kernel's token tile where either runs there on whole tiles
     * (the caller's buffers hold the extra rows, zeroed), else the tokens themselves.
     */
    int projectionRows(int tokens, int d, int e) {
        int tile = HALF_SPLIT_SHAPE.tokenTile();
        boolean whole = halfSplits(d, 2 * e) && halfWholeTiles(d, 2 * e, d, 2 * e)
                || halfSplits(e, d) && halfWholeTiles(e, d, e, d);
        return whole ? ceil(tokens, tile) * tile : tokens;
    }

    /** Tokens the 3xFP16 kernel without checks takes: whole 128-token tiles, where the shape has no ragged edge. */
    static int halfFullTokens(int tokens, int in, int out, int ldx, int ldy) {
        int tile = HALF_SPLIT_SHAPE.tokenTile();
        return halfWholeTiles(in, out, ldx, ldy) ? tokens / tile * tile : 0;
    }

    /** Whether the kernel without checks takes this shape: whole k- and output tiles, X's rows 16-byte, Y's 8-byte aligned. */
    static boolean halfWholeTiles(int in, int out, int ldx, int ldy) {
        return in % HalfSplit.K_TILE == 0 && out % HALF_SPLIT_SHAPE.outTile() == 0 && ldx % 4 == 0 && ldy % 2 == 0;
    }

    private void launchHalfGemm(StreamingGemm g, CUdeviceptr x, int ldx, int tokens, int in, CUdeviceptr w, int out,
                                CUdeviceptr bias, CUdeviceptr y, int ldy, int mode, CUdeviceptr rs, CUstream st) {
        if (tokens == 0) {
            return;
        }
        launchPersistent(g, tokens, out, st, Pointer.to(x), ints(ldx), ints(tokens), ints(in), Pointer.to(w), ints(out),
                Pointer.to(bias), Pointer.to(y), ints(ldy), ints(mode), Pointer.to(rs));
    }

    /** A gemm_tcs_impl instantiation: its function, shape and how many of its blocks fit on an SM. */
    record StreamingGemm(CUfunction function, StreamingShape shape, int blocksPerSm) {
    }

    /**
     * Tiles, block size and dynamic shared memory of a gemm_tcs_impl instantiation (must match mamba.cu), and
     * whether it takes W split on the host (DeviceWeights.Projection.split) or as float32.
     */
    record StreamingShape(int tokenTile, int outTile, int threads, int smemBytes, boolean splitWeights) {
    }

    /**
     * The shape of a streaming GEMM kernel from its name, as mamba.cu instantiates them:
     * <ul>
     *   <li>gemm_tcs_impl&lt;BN, passes, STAGES, norm, NW, KB, split W, rms out&gt;: gemm_{tf32x3,tf32}[_norm|_rms]_s64
     *   and _s48. Shared memory: STAGES x (32·NW tokens + BN outputs) rows of KB + 4 floats, 2·BN outputs for 3xTF32
     *   (W's heads and tails).</li>
     *   <li>gemm_wg_impl&lt;BN, norm&gt;: gemm_wg_tf32x3[_norm]_s64 and _s48, 128 tokens, 256 threads, WG_STAGES = 3
     *   stages of 128 token rows of 36 floats and 2·BN rows of 32, and 1,024 bytes to align the swizzle atoms.</li>
     * </ul>
     */
    static StreamingShape streamingShape(String name) {
        java.util.regex.Matcher w = WGMMA_NAME.matcher(name);
        if (w.matches()) {
            int outTile = w.group(2).equals("s64") ? 64 : 48;
            return new StreamingShape(128, outTile, 256, 3 * (128 * 36 + 2 * outTile * 32) * 4 + 1024, true);
        }
        java.util.regex.Matcher m = STREAMING_NAME.matcher(name);
        if (!m.matches()) {
            throw new IllegalArgumentException("no streaming GEMM kernel " + name);
        }
        // 3xTF32 takes W split on the host and stages heads and tails: twice the W rows
        boolean split = m.group(1) != null;
        return shape(m.group(3).equals("s64") ? 64 : 48, 2, 8, 32, split ? 2 : 1, split);
    }

    private static final java.util.regex.Pattern STREAMING_NAME =
            java.util.regex.Pattern.compile("gemm_tf32(x3)?(_norm|_rms)?_(s64|s48)");
    private static final java.util.regex.Pattern WGMMA_NAME =
            java.util.regex.Pattern.compile("gemm_wg_tf32x3(_norm)?_(s64|s48)");

    /**
     * Whether the projections take the warpgroup-MMA kernels: the module has them (the sm_90a cubin, on sm_90
     * devices), the precision is 3xTF32, and {@value #WGMMA_PROPERTY} is not false.
     */
    static boolean usesWgmma(boolean moduleHasWgmma, GpuPrecision mode) {
        return moduleHasWgmma && mode == GpuPrecision.TF32X3 && !"false".equals(System.getProperty(WGMMA_PROPERTY));
    }

    private static StreamingShape shape(int outTile, int stages, int warps, int kTile, int wParts, boolean split) {
        int tokenTile = 32 * warps;
        return new StreamingShape(tokenTile, outTile, 32 * warps,
                stages * (tokenTile + wParts * outTile) * (kTile + 4) * 4, split);
    }

    /** The streaming GEMM of this kind and kernel prefix (the precision's, or gemm_wg_tf32x3); null for FP32. */
    private static StreamingGemm tensorKernel(GpuContext ctx, String prefix, String kind) {
        if (prefix == null) {
            return null;
        }
        return streaming(ctx, prefix + kind);
    }

    private static StreamingGemm streaming(GpuContext ctx, String name) {
        return streaming(ctx, name, streamingShape(name));
    }

    private static StreamingGemm streaming(GpuContext ctx, String name, StreamingShape shape) {
        CUfunction f = ctx.function(name);
        JCudaDriver.cuFuncSetAttribute(f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                shape.smemBytes());
        int[] blocks = new int[1];
        JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(blocks, f, shape.threads(), shape.smemBytes());
        return new StreamingGemm(f, shape, Math.max(1, blocks[0]));
    }

    /**
     * Persistent grid: one column of blocks per output tile, and as many token lanes as fit on the device at
     * once with all columns resident (so each X tile is read by all columns about together), at most one per tile.
     */
    static int streamingLanes(int tokens, int tokenTile, int columns, int multiprocessors, int blocksPerSm) {
        int tiles = ceil(tokens, tokenTile);
        return Math.max(1, Math.min(tiles, multiprocessors * blocksPerSm / columns));
    }

    private void launchStreaming(StreamingGemm g, CUdeviceptr x, int ldx, int tokens, int in, DeviceWeights.Projection p,
                                 int out, CUdeviceptr bias, CUdeviceptr y, int ldy, int mode, float eps,
                                 CUdeviceptr normW, CUdeviceptr y2, CUstream st) {
        CUdeviceptr w = g.shape().splitWeights() ? p.split() : p.plain();
        launchPersistent(g, tokens, out, st, Pointer.to(x), ints(ldx), ints(tokens), ints(in), Pointer.to(w), ints(out),
                Pointer.to(bias), Pointer.to(y), ints(ldy), ints(mode), Pointer.to(new float[] {eps}),
                Pointer.to(normW != null ? normW : new CUdeviceptr()), Pointer.to(y2 != null ? y2 : new CUdeviceptr()));
    }

    /** A persistent GEMM's grid ({@link #streamingLanes} x one column of blocks per output tile) and launch. */
    private void launchPersistent(StreamingGemm g, int tokens, int out, CUstream st, Pointer... args) {
        StreamingShape shape = g.shape();
        int columns = ceil(out, shape.outTile());
        int lanes = streamingLanes(tokens, shape.tokenTile(), columns, multiprocessors, g.blocksPerSm());
        enqueue(g.function(), lanes, columns, shape.threads(), shape.smemBytes(), st, Pointer.to(args));
    }

    void convSilu(CUdeviceptr xz, int ldxz, CUdeviceptr offsets, int seqs, CUdeviceptr states, int stateFloats,
                  int convOff, CUdeviceptr convW, CUdeviceptr convB, CUdeviceptr u, int e, int k, CUstream st) {
        if (seqs == 0) {
            return;
        }
        int block = Math.min(CHANNEL_BLOCK, ceil(e, 32) * 32);
        boolean fixed = k >= 2 && k < convFixed.length && !genericConv;
        Pointer[] args = {Pointer.to(xz), ints(ldxz), Pointer.to(offsets), ints(seqs), Pointer.to(states),
                ints(stateFloats), ints(convOff), Pointer.to(convW), Pointer.to(convB), Pointer.to(u), ints(e), ints(k)};
        launch(fixed ? convFixed[k] : conv, seqs, ceil(e, block), block, st,
                fixed ? java.util.Arrays.copyOf(args, args.length - 1) : args);
    }

    /**
     * The selective scan, y = (s·C + D·u) · g, where the gate g = SiLU(z) is read from {@code xz}'s z half (columns
     * e..2e-1) as in_proj's {@link #GEMM_MODE_GATE} epilogue stored it.
     */
    void scan(CUdeviceptr u, CUdeviceptr dt, CUdeviceptr bc, int ldbc, int r, CUdeviceptr xz, int ldxz,
              CUdeviceptr offsets, int seqs, CUdeviceptr states, int stateFloats, int ssmOff,
              CUdeviceptr aNeg, CUdeviceptr dSkip, CUdeviceptr y, int e, CUstream st) {
        if (seqs == 0) {
            return;
        }
        ScanLaunch shape = scanLaunch(e, stateSize, scanGeneric);
        Pointer[] args = {Pointer.to(u), Pointer.to(dt), Pointer.to(bc), ints(ldbc), ints(r), Pointer.to(xz),
                ints(ldxz), Pointer.to(offsets), ints(seqs), Pointer.to(states), ints(stateFloats), ints(ssmOff),
                Pointer.to(aNeg), Pointer.to(dSkip), Pointer.to(y), ints(e)};
        if (usesStagedScan(e, ldxz, ldbc, r, stateFloats, ssmOff)) {
            launchStaged(scanStaged, seqs, shape, st, args);
            return;
        }
        if (scanGeneric) {
            args = java.util.Arrays.copyOf(args, args.length + 1);
            args[args.length - 1] = ints(stateSize);
        }
        launch(scan, seqs, shape.channelBlocks(), shape.block(), st, args);
    }

    /**
     * The scan with Δ = softplus(δ·dtWᵀ + dtB) computed inside it from δ, the first r columns of the
     * x_proj output {@code bc}: no Δ buffer, no separate dt_proj launch. Only when {@link #fusesDt}. {@code tokens}
     * (of the {@code seqs} sequences) picks the staged or the lane-loading kernel.
     */
    void scanFusedDt(CUdeviceptr u, CUdeviceptr dtW, CUdeviceptr dtB, CUdeviceptr bc, int ldbc, int r, CUdeviceptr xz,
                     int ldxz, CUdeviceptr offsets, int seqs, int tokens, CUdeviceptr states, int stateFloats, int ssmOff,
                     CUdeviceptr aNeg, CUdeviceptr dSkip, CUdeviceptr y, int e, CUstream st) {
        if (seqs == 0) {
            return;
        }
        ScanLaunch shape = scanLaunch(e, stateSize, false);
        boolean staged = usesStagedFusedScan(e, ldxz, ldbc, r, stateFloats, ssmOff, seqs, tokens);
        CUfunction f = staged ? scanDtStagedByRank[r] : r < scanDtByRank.length && scanDtByRank[r] != null ? scanDtByRank[r]
                : scanDt;
        Pointer[] args = {Pointer.to(u), Pointer.to(dtW), Pointer.to(dtB),
                Pointer.to(bc), ints(ldbc), ints(r), Pointer.to(xz), ints(ldxz), Pointer.to(offsets), ints(seqs),
                Pointer.to(states), ints(stateFloats), ints(ssmOff), Pointer.to(aNeg), Pointer.to(dSkip), Pointer.to(y),
                ints(e)};
        if (staged) {
            launchStaged(f, seqs, shape, st, args);
        } else {
            launch(f, seqs, shape.channelBlocks(), shape.block(), st, args);
        }
    }

    /**
     * A staged scan: as many blocks per channel tile as stay resident (each walks a contiguous range of sequences,
     * its copies for the next chunk in flight while it scans the current one), never more than there are sequences.
     */
    private void launchStaged(CUfunction f, int seqs, ScanLaunch shape, CUstream st, Pointer... args) {
        int perSm;
        synchronized (stagedBlocksPerSm) {
            int[] bySize = stagedBlocksPerSm.computeIfAbsent(f, g -> {
                // 40-48 KB of shared memory a block: without the preference the driver keeps L1 large enough
                // that one block fewer fits per multiprocessor
                JCudaDriver.cuFuncSetAttribute(g, CUfunction_attribute.CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT,
                        jcuda.driver.CUshared_carveout.CU_SHAREDMEM_CARVEOUT_MAX_SHARED);
                return new int[STAGED_LANES / 32 + 1];
            });
            int slot = shape.block() / 32;
            if (bySize[slot] == 0) {
                int[] n = new int[1];
                JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(n, f, shape.block(), 0);
                bySize[slot] = Math.max(1, n[0]);
            }
            perSm = bySize[slot];
        }
        launch(f, stagedBlocks(seqs, shape.channelBlocks(), perSm, multiprocessors), shape.channelBlocks(), shape.block(),
                st, args);
    }

    /** Grid x of a staged scan: the resident blocks shared among the channel tiles, at most one per sequence. */
    static int stagedBlocks(int seqs, int channelBlocks, int blocksPerSm, int multiprocessors) {
        return Math.max(1, Math.min(seqs, blocksPerSm * multiprocessors / channelBlocks));
    }

    /** Grid y (blocks of channels per sequence) and block size of a scan launch; grid x is the sequence count. */
    record ScanLaunch(int channelBlocks, int block) {
    }

    /**
     * One lane per channel (scan_generic) or {@link #scanSplit} lanes per channel, in blocks of at most
     * 128 threads (the fused-Δ scans stage dt_proj rows for 128 lanes) rounded up to whole warps, so
     * that a channel's lanes share a warp for their shuffles.
     */
    static ScanLaunch scanLaunch(int channels, int stateSize, boolean generic) {
        int lanes = generic ? channels : channels * scanSplit(stateSize);
        int block = Math.min(CHANNEL_BLOCK, ceil(lanes, 32) * 32);
        return new ScanLaunch(ceil(lanes, block), block);
    }

    /** Lanes sharing one channel's state in the scan_nN kernels: max(1, N/16), as mamba.cu instantiates them. */
    static int scanSplit(int n) {
        return Math.max(1, n / 16);
    }

    boolean usesGenericScan() {
        return scanGeneric;
    }

    private void launch(CUfunction f, int gx, int gy, int block, CUstream st, Pointer... args) {
        enqueue(f, gx, gy, block, 0, st, Pointer.to(args));
    }

    /** Every launch goes through here: the listener, if any, sees it just before and just after it is enqueued. */
    private void enqueue(CUfunction f, int gx, int gy, int block, int smemBytes, CUstream st, Pointer args) {
        if (listener != null) {
            listener.launch(f, gx, gy, st, false);
        }
        JCudaDriver.cuLaunchKernel(f, gx, gy, 1, block, 1, 1, smemBytes, st, args, null);
        if (listener != null) {
            listener.launch(f, gx, gy, st, true);
        }
    }

    static Pointer ints(int v) {
        return Pointer.to(new int[] {v});
    }

    static int ceil(int a, int b) {
        return (a + b - 1) / b;
    }
}
