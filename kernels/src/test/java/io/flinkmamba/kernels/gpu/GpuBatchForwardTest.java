package io.flinkmamba.kernels.gpu;

import io.flinkmamba.kernels.BatchForwards;
import io.flinkmamba.kernels.cpu.CpuParallelForward;
import io.flinkmamba.kernels.io.Npy;
import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import io.flinkmamba.kernels.testing.RandomModels;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static io.flinkmamba.kernels.testing.Assertions2.assertClose;
import static io.flinkmamba.kernels.testing.Assertions2.relL2;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The GPU forward against the CPU parallel forward and Hugging Face's float64 outputs. Skips (by
 * assumption) where no CUDA device is usable, as on CI.
 */
class GpuBatchForwardTest {
    static final double TOL = 1e-5;
    /** Declared tolerance of the opt-in plain-TF32 GEMM mode (10-bit mantissa products). */
    static final double TF32_TOL = 1e-3;

    @BeforeAll
    static void requireDevice() {
        GpuDevices.Probe probe = GpuDevices.probe();
        assumeTrue(probe.available(), "no CUDA device: " + probe.reason());
        System.out.println("GPU tests on " + probe);
    }

    static Stream<Arguments> shapes() {
        return Stream.of(
                // hidden, state, layers, useBias, useConvBias, convKernel
                Arguments.of(16, 8, 2, false, true, 4),
                Arguments.of(64, 16, 2, false, true, 4),
                Arguments.of(64, 16, 3, true, false, 4),
                Arguments.of(16, 16, 1, true, true, 3),
                Arguments.of(24, 5, 2, false, true, 4),   // N = 5: the generic scan
                Arguments.of(32, 32, 1, false, true, 2),
                Arguments.of(16, 64, 1, false, true, 4),  // 8 lanes per channel
                Arguments.of(40, 4, 2, true, true, 4));   // E = 80: a partial channel block
    }

    @ParameterizedTest(name = "hidden {0} state {1} layers {2} bias {3} convBias {4} K {5}")
    @MethodSource("shapes")
    void matchesCpuOnRaggedBatchesWithRandomStates(int hidden, int state, int layers, boolean bias, boolean convBias,
                                                   int k) {
        MambaConfig c = new MambaConfig(hidden, state, 2 * hidden, k, (hidden + 15) / 16, layers, bias, convBias, 1e-5f);
        MambaModel m = RandomModels.model(c, 1000 + hidden + state + layers);
        Random rnd = new Random(hidden * 31L + state);
        int[] lengths = new int[40];
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = rnd.nextInt(5) == 0 ? 0 : 1 + rnd.nextInt(rnd.nextBoolean() ? 8 : 1024);
        }
        lengths[3] = 1024;
        lengths[4] = 1;
        lengths[5] = 0;
        MambaBatch cpu = randomBatch(m, lengths, rnd);
        MambaBatch gpu = copy(m, cpu);
        new CpuParallelForward(m).forward(cpu);
        try (GpuBatchForward f = new GpuBatchForward(m)) {
            f.forward(gpu);
        }
        assertAgree(m, cpu, gpu, "hidden " + hidden + " state " + state);
    }

    /**
     * The scan with Δ fused in serves time_step_rank <= 16 (ranks 4, 8 and 16 by their own compiled-rank kernels,
     * 1 by the runtime-rank one); a larger rank, and the fusion switched off, take the dt_proj GEMM + plain scan:
     * both paths agree with the CPU too.
     */
    @ParameterizedTest(name = "rank {0}, fusion property {1}")
    @org.junit.jupiter.params.provider.CsvSource({"20,true", "4,false", "16,true", "16,false", "1,true", "8,true", "4,true",
            "12,true"})
    void deltaFusedOrNotMatchesCpu(int rank, boolean fuse) {
        MambaConfig c = new MambaConfig(32, 16, 64, 4, rank, 2, false, true, 1e-5f);
        MambaModel m = RandomModels.model(c, 77 + rank);
        Random rnd = new Random(rank);
        int[] lengths = {1024, 1, 0, 37, 300, 5, 64};
        MambaBatch cpu = randomBatch(m, lengths, rnd);
        MambaBatch gpu = copy(m, cpu);
        new CpuParallelForward(m).forward(cpu);
        forwardWithProperty(m, gpu, GpuKernels.FUSE_DT_PROPERTY, String.valueOf(fuse));
        assertAgree(m, cpu, gpu, "rank " + rank + " fuse " + fuse);
    }

    /**
     * The staged scans (each warp copying its inputs into shared memory a chunk ahead, each block walking a range of
     * sequences) and the lane-loading ones they replace, fused Δ or not, on 3,000 ragged sequences: more than the
     * device holds blocks, so each block carries states across many sequences, empty ones among them, and sequences of
     * 1..8 tokens (one partial chunk) next to ones of hundreds. Staged: the plain scan at N 4, 8, 16 (E 80 and E 320 give
     * partial channel tiles: idle lanes, a warp with no channel) and the fused ones at N 16, ranks 4 and 16 (E 64: one
     * block of two warps; E 320: a partial second tile; E 512: four full tiles). The rest take the lane-loading scans:
     * ranks 8 and 12 fused (no staged kernel), rank 3 (its rows are not whole 16-byte words), and the last row, whose
     * mean length (over 64) sends its rank-4 fused scan to the lane-loading kernel; at rank 16 the staged kernel takes
     * long sequences too (the row before it).
     */
    @ParameterizedTest(name = "hidden {0} state {1} rank {2}, fuse {3}, staged property {4}, long {5}")
    @org.junit.jupiter.params.provider.CsvSource({"64,16,4,true,true,false", "64,16,4,true,false,false",
            "64,16,4,false,true,false", "40,4,4,true,true,false", "160,8,8,false,true,false", "160,8,12,true,true,false",
            "40,16,3,true,true,false", "32,16,16,true,true,false", "160,16,16,true,true,false",
            "256,16,16,true,true,false", "256,16,16,true,false,false", "256,16,16,true,true,true", "64,16,4,true,true,true"})
    void stagedScanOrNotMatchesCpu(int hidden, int state, int rank, boolean fuse, boolean staged, boolean longSeqs) {
        MambaConfig c = new MambaConfig(hidden, state, 2 * hidden, 4, rank, 2, true, true, 1e-5f);
        MambaModel m = RandomModels.model(c, 4000 + hidden + state + rank);
        Random rnd = new Random(hidden + 31L * rank);
        int[] lengths = new int[3000];
        for (int i = 0; i < lengths.length; i++) {
            int kind = rnd.nextInt(10);
            lengths[i] = kind == 0 ? 0 : kind < 8 ? 1 + rnd.nextInt(8) : 9 + rnd.nextInt(90);
            if (longSeqs) {
                lengths[i] = 60 + rnd.nextInt(60);
            }
        }
        lengths[17] = 700;
        MambaBatch cpu = randomBatch(m, lengths, rnd);
        MambaBatch gpu = copy(m, cpu);
        new CpuParallelForward(m).forward(cpu);
        forwardWithProperties(m, gpu, Map.of(GpuKernels.FUSE_DT_PROPERTY, String.valueOf(fuse),
                GpuKernels.STAGED_SCAN_PROPERTY, String.valueOf(staged)));
        assertAgree(m, cpu, gpu, "staged " + staged + " hidden " + hidden + " rank " + rank + " fuse " + fuse);
    }

    /**
     * Every GEMM mode against the CPU: the CUDA-core fp32 GEMM and the default 3xTF32 one within the
     * forward's 1e-5; plain TF32 (opt-in) within its declared {@link #TF32_TOL}. Hidden 40 gives
     * reductions (40, 80) that are not multiples of the 32-deep k-tile, and outputs (80, 160) that are
     * not multiples of the 64/128-output tiles, so the streaming GEMMs take their checked copies and stores
     * there; hidden 64 their unchecked full-tile ones for most tiles, and the ragged lengths (up to 2048)
     * partial last tiles. Hidden 34: in_proj's rows (34 floats) are not 16-byte aligned, so the streaming GEMM
     * with the fused RMSNorm stages them by 4-byte copies.
     */
    @ParameterizedTest(name = "gemm {0}, hidden {1}")
    @org.junit.jupiter.params.provider.CsvSource({"fp32,40", "tf32x3,40", "tf32,40", "fp32,64", "tf32x3,64", "tf32,64",
            "tf32x3,34", "tf32,34"})
    void everyGemmModeMatchesCpu(String mode, int hidden) {
        gemmModeMatchesCpu("gemm", mode, hidden, 500 + hidden, new Random(hidden), new int[] {1024, 1, 0, 37, 300, 5, 64, 129, 2048},
                Map.of(GpuPrecision.PROPERTY, mode));
    }

    /**
     * The warpgroup-MMA projections (sm_90 devices, 3xTF32) against the mma.sync ones on the same batch: the same
     * products in the same order, so within 1e-6 relative L2 (equal bit for bit when measured), and each within TOL of
     * the CPU. Hidden 34: rows not 16-byte aligned (4-byte copies), partial k-tiles; 40: partial output tiles and k-tiles
     * (x_proj's 35 outputs in the 48-wide kernel, out_proj's 80-deep reduction); 256: in_proj's 1,024 outputs.
     * Ragged token counts everywhere (no multiple of the 128-token tile).
     */
    @ParameterizedTest(name = "hidden {0}")
    @ValueSource(ints = {34, 40, 64, 256})
    void warpgroupMmaEqualsMmaSync(int hidden) {
        assumeTrue(GpuContext.get().warpgroupMma, "the warpgroup-MMA kernels need an sm_90 device");
        MambaConfig c = new MambaConfig(hidden, 16, 2 * hidden, 4, (hidden + 15) / 16, 2, true, true, 1e-5f);
        MambaModel m = RandomModels.model(c, 700 + hidden);
        Random rnd = new Random(hidden + 3);
        MambaBatch cpu = randomBatch(m, new int[] {1024, 1, 0, 37, 300, 5, 64, 129, 2048, 127}, rnd);
        MambaBatch wg = copy(m, cpu), sync = copy(m, cpu);
        new CpuParallelForward(m).forward(cpu);
        String half = System.setProperty(GpuKernels.HALF_SPLIT_PROPERTY, "false"); // 3xTF32 on wgmma only
        try (GpuBatchForward f = new GpuBatchForward(m)) {
            assertTrue(f.kernels.wgmma, "sm_90 and 3xTF32: the warpgroup-MMA kernels");
            assertFalse(f.kernels.halfSplits(4 * hidden, 4 * hidden), "property false: no 3xFP16");
            f.forward(wg);
        } finally {
            restoreProperty(GpuKernels.HALF_SPLIT_PROPERTY, half);
        }
        String old = System.setProperty(GpuKernels.WGMMA_PROPERTY, "false");
        try (GpuBatchForward f = new GpuBatchForward(m)) {
            assertFalse(f.kernels.wgmma, "property false: mma.sync");
            f.forward(sync);
        } finally {
            restoreProperty(GpuKernels.WGMMA_PROPERTY, old);
        }
        assertKernelFamiliesAgree("hidden " + hidden + ": wgmma vs mma.sync", c, wg, sync);
        assertAgree(m, cpu, wg, "wgmma hidden " + hidden);
    }

    /**
     * The 3xFP16 projections (the default on sm_90 where out >= 128 and in >= 128) against 3xTF32 on wgmma and
     * against the CPU. Hidden 130: in_proj's 130-deep rows (not 16-byte multiples, a partial k-tile) into 520 outputs
     * (a partial last output tile), out_proj 260 deep into 130 outputs with the residual on a partial tile; 160; 256.
     * Ragged token counts (no multiple of the 128-token tile).
     */
    @ParameterizedTest(name = "hidden {0}")
    @ValueSource(ints = {130, 160, 256})
    void halfSplitEqualsTf32x3(int hidden) {
        assumeTrue(GpuContext.get().warpgroupMma, "the 3xFP16 kernel needs an sm_90 device");
        MambaConfig c = new MambaConfig(hidden, 16, 2 * hidden, 4, (hidden + 15) / 16, 2, true, true, 1e-5f);
        MambaModel m = RandomModels.model(c, 800 + hidden);
        MambaBatch cpu = randomBatch(m, new int[] {1024, 1, 0, 37, 300, 5, 64, 129, 2048, 127}, new Random(hidden + 5));
        MambaBatch half = copy(m, cpu), tf32 = copy(m, cpu);
        new CpuParallelForward(m).forward(cpu);
        try (GpuBatchForward f = new GpuBatchForward(m)) {
            assertTrue(f.kernels.halfSplits(hidden, 4 * hidden), "in_proj on 3xFP16");
            assertTrue(f.kernels.halfSplits(2 * hidden, hidden), "out_proj on 3xFP16");
            assertFalse(f.kernels.halfSplits(64, 4 * 64), "a 64-deep reduction keeps 3xTF32");
            f.forward(half);
        }
        forwardWithProperties(m, tf32, Map.of(GpuKernels.HALF_SPLIT_PROPERTY, "false"));
        assertKernelFamiliesAgree("hidden " + hidden + ": 3xFP16 vs 3xTF32", c, half, tf32);
        assertAgree(m, cpu, half, "3xFP16 hidden " + hidden);
    }

    /**
     * in_proj from A split beforehand (row_split into h, then gemm_whs_f16x3_n128: the default where the shape is whole
     * tiles) against the kernel that splits A in registers, on one batch: the same heads and tails and the same products
     * in the same order, so within 1e-6 relative L2, and each within TOL of the CPU. Each sequence's inputs are scaled
     * by 2^-40 ... 2^40 (the row scales), one is all zeros, and the lengths are ragged (the padding rows split too).
     */
    @ParameterizedTest(name = "hidden {0}")
    @ValueSource(ints = {192, 256})
    void splitFirstEqualsTheRegisterSplit(int hidden) {
        assumeTrue(GpuContext.get().warpgroupMma, "the 3xFP16 kernels need an sm_90 device");
        MambaConfig c = new MambaConfig(hidden, 16, 2 * hidden, 4, (hidden + 15) / 16, 2, true, true, 1e-5f);
        MambaModel m = RandomModels.model(c, 900 + hidden);
        int[] lengths = {300, 1, 0, 129, 64, 77, 1024, 5};
        int[] exps = {-40, 0, 0, 40, -8, 20, 8, 0};
        MambaBatch cpu = randomBatch(m, lengths, new Random(hidden + 9));
        int d = c.hiddenSize();
        for (int i = 0; i < lengths.length; i++) {
            for (int j = cpu.offsets()[i] * d; j < cpu.offsets()[i + 1] * d; j++) {
                cpu.inputs()[j] = i == 7 ? 0f : Math.scalb(cpu.inputs()[j], exps[i]);
            }
        }
        MambaBatch first = copy(m, cpu), inRegisters = copy(m, cpu);
        new CpuParallelForward(m).forward(cpu);
        try (GpuBatchForward f = new GpuBatchForward(m)) {
            assertTrue(f.kernels.splitsFirst(256, hidden, 4 * hidden, hidden, 4 * hidden), "in_proj split first");
            assertFalse(f.kernels.splitsFirst(200, hidden, 4 * hidden, hidden, 4 * hidden), "not whole token tiles");
            assertFalse(f.kernels.splitsFirst(256, hidden + 16, 4 * hidden, hidden + 16, 4 * hidden), "not whole k-tiles");
            f.forward(first);
        }
        String old = System.setProperty(GpuKernels.SPLIT_FIRST_PROPERTY, "false");
        try (GpuBatchForward f = new GpuBatchForward(m)) {
            assertFalse(f.kernels.splitsFirst(256, hidden, 4 * hidden, hidden, 4 * hidden), "property false");
            assertTrue(f.kernels.halfSplits(hidden, 4 * hidden), "... the register split instead");
            f.forward(inRegisters);
        } finally {
            restoreProperty(GpuKernels.SPLIT_FIRST_PROPERTY, old);
        }
        assertKernelFamiliesAgree("hidden " + hidden + ": split first vs in registers", c, first, inRegisters);
        assertAgree(m, cpu, first, "split first, hidden " + hidden);
    }

    /**
     * in_proj and out_proj over whole 128-token tiles ({@link GpuKernels#projectionRows}): many chunks of ragged token
     * counts, each padded to whole tiles, then a second, smaller batch through the same slots (whose padding rows then
     * hold the first batch's rows until zeroed, and whose inputs are 2^30 larger): both agree with the CPU.
     */
    @Test
    void paddedProjectionRowsMatchCpu() {
        assumeTrue(GpuContext.get().warpgroupMma, "the 3xFP16 kernel needs an sm_90 device");
        MambaConfig c = new MambaConfig(256, 16, 512, 4, 16, 2, true, true, 1e-5f);
        MambaModel m = RandomModels.model(c, 821);
        Random rnd = new Random(822);
        int[] lengths = new int[40];
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = 1 + rnd.nextInt(300);
        }
        MambaBatch cpu = randomBatch(m, lengths, rnd);
        MambaBatch gpu = copy(m, cpu);
        new CpuParallelForward(m).forward(cpu);
        int[] small = {5, 1, 200, 77};
        MambaBatch cpu2 = randomBatch(m, small, rnd);
        for (int i = 0; i < cpu2.totalTokens() * c.hiddenSize(); i++) {
            cpu2.inputs()[i] = Math.scalb(cpu2.inputs()[i], 30);
        }
        MambaBatch gpu2 = copy(m, cpu2);
        new CpuParallelForward(m).forward(cpu2);
        // ~700 tokens a chunk: a dozen chunks, none of whole tiles but by chance
        try (GpuBatchForward f = new GpuBatchForward(m, 700 * GpuBatchForward.tokenBytes(c, true))) {
            assertEquals(256, f.kernels.projectionRows(129, 256, 512));
            assertEquals(128, f.kernels.projectionRows(1, 256, 512));
            assertEquals(0, f.kernels.projectionRows(0, 256, 512));
            assertEquals(129, f.kernels.projectionRows(129, 160, 320), "hidden 160: not whole k-tiles, no padding");
            f.forward(gpu);
            f.forward(gpu2);
        }
        assertAgree(m, cpu, gpu, "padded rows, first batch");
        assertAgree(m, cpu2, gpu2, "padded rows, a smaller batch after it");
    }

    /**
     * Two GPU runs of one batch on different projection kernels, both float32-accurate: outputs and final states
     * within 1e-6 relative L2 of each other.
     */
    private static void assertKernelFamiliesAgree(String what, MambaConfig c, MambaBatch a, MambaBatch b) {
        int d = c.hiddenSize(), sf = c.stateFloats();
        double outs = relL2(Arrays.copyOf(a.outputs(), a.totalTokens() * d), Arrays.copyOf(b.outputs(), b.totalTokens() * d));
        double states = relL2(Arrays.copyOf(a.states(), a.size() * sf), Arrays.copyOf(b.states(), b.size() * sf));
        System.out.printf("%s rel L2 outputs %.2e, states %.2e%n", what, outs, states);
        assertTrue(outs <= 1e-6 && states <= 1e-6, what + ": outputs " + outs + ", states " + states);
    }

    /**
     * The 3xFP16 kernel's row scaling across input magnitudes: each sequence's inputs scaled by 2^-40 ... 2^40 (FP16
     * alone holds 2^-24 to 65504). Every sequence's outputs and final states agree with the CPU's on their own.
     */
    @Test
    void halfSplitHoldsAcrossInputScales() {
        assumeTrue(GpuContext.get().warpgroupMma, "the 3xFP16 kernel needs an sm_90 device");
        MambaConfig c = new MambaConfig(256, 16, 512, 4, 16, 2, true, true, 1e-5f);
        MambaModel m = RandomModels.model(c, 811);
        int[] exps = {-40, -20, -8, 0, 8, 20, 40};
        int[] lengths = {200, 131, 64, 300, 1, 129, 77};
        MambaBatch cpu = randomBatch(m, lengths, new Random(12));
        int d = c.hiddenSize(), sf = c.stateFloats();
        for (int i = 0; i < lengths.length; i++) {
            for (int j = cpu.offsets()[i] * d; j < cpu.offsets()[i + 1] * d; j++) {
                cpu.inputs()[j] = Math.scalb(cpu.inputs()[j], exps[i]);
            }
        }
        MambaBatch gpu = copy(m, cpu);
        new CpuParallelForward(m).forward(cpu);
        try (GpuBatchForward f = new GpuBatchForward(m)) {
            assertTrue(f.kernels.halfSplits(d, 4 * d) && f.kernels.halfSplits(2 * d, d));
            f.forward(gpu);
        }
        for (int i = 0; i < lengths.length; i++) {
            int a = cpu.offsets()[i], b = cpu.offsets()[i + 1];
            double outs = relL2(Arrays.copyOfRange(gpu.outputs(), a * d, b * d), Arrays.copyOfRange(cpu.outputs(), a * d, b * d));
            double states = relL2(Arrays.copyOfRange(gpu.states(), i * sf, (i + 1) * sf),
                    Arrays.copyOfRange(cpu.states(), i * sf, (i + 1) * sf));
            System.out.printf("inputs x 2^%d: outputs rel L2 %.2e, states %.2e%n", exps[i], outs, states);
            assertTrue(outs <= TOL && states <= TOL, "inputs x 2^" + exps[i] + ": outputs " + outs + ", states " + states);
        }
    }

    /**
     * The final RMSNorm in the last out_proj's epilogue (hidden <= 64 on the tensor cores) and as its own kernel
     * (the property off, and hidden 96, whose rows span two output tiles): each agrees with the CPU.
     */
    @ParameterizedTest(name = "{0}, hidden {1}, fusion property {2}")
    @org.junit.jupiter.params.provider.CsvSource({"tf32x3,64,true", "tf32x3,64,false", "tf32,48,true", "tf32x3,96,true"})
    void finalNormFusedOrNotMatchesCpu(String mode, int hidden, boolean fuse) {
        gemmModeMatchesCpu("final norm", mode, hidden, 900 + hidden, new Random(hidden + 7), new int[] {300, 1, 0, 257, 64},
                Map.of(GpuPrecision.PROPERTY, mode, GpuKernels.FUSE_FINAL_NORM_PROPERTY, String.valueOf(fuse)));
    }

    /**
     * A 2-layer model of the given hidden size (biases on, rank ceil(hidden / 16)) on ragged {@code lengths}: the
     * GPU forward created under {@code properties} against the CPU, within TF32_TOL for plain tf32, else TOL.
     */
    private static void gemmModeMatchesCpu(String what, String mode, int hidden, long modelSeed, Random rnd,
                                           int[] lengths, Map<String, String> properties) {
        MambaConfig c = new MambaConfig(hidden, 16, 2 * hidden, 4, (hidden + 15) / 16, 2, true, true, 1e-5f);
        MambaModel m = RandomModels.model(c, modelSeed);
        MambaBatch cpu = randomBatch(m, lengths, rnd);
        MambaBatch gpu = copy(m, cpu);
        new CpuParallelForward(m).forward(cpu);
        forwardWithProperties(m, gpu, properties);
        assertAgree(m, cpu, gpu, what + " " + mode + " hidden " + hidden, mode.equals("tf32") ? TF32_TOL : TOL);
    }

    /**
     * time_step_rank 32 (hidden 512): too large to fuse, so dt_proj is a GEMM, and with a reduction of 32
     * it takes the tensor-core kernel with its softplus epilogue, in each precision.
     */
    @ParameterizedTest(name = "gemm {0}")
    @ValueSource(strings = {"tf32x3", "fp32", "tf32"})
    void rank32DtProjOnTheTensorCoresMatchesCpu(String mode) {
        MambaConfig c = new MambaConfig(512, 16, 1024, 4, 32, 1, true, true, 1e-5f);
        MambaModel m = RandomModels.model(c, 512);
        Random rnd = new Random(32);
        MambaBatch cpu = randomBatch(m, new int[] {200, 1, 0, 37, 64}, rnd);
        MambaBatch gpu = copy(m, cpu);
        new CpuParallelForward(m).forward(cpu);
        try (GpuBatchForward f = new GpuBatchForward(m, GpuPrecision.parse(mode))) { // the per-instance precision
            f.forward(gpu);
        }
        assertAgree(m, cpu, gpu, "rank 32, gemm " + mode, mode.equals("tf32") ? TF32_TOL : TOL);
    }

    @Test
    void anUnknownGemmModeIsAClearError() {
        System.setProperty(GpuPrecision.PROPERTY, "fp16");
        try {
            var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> new GpuBatchForward(RandomModels.model(MambaConfig.of(16, 8, 1), 3)).close());
            assertTrue(e.getMessage().contains("tf32x3, fp32 or tf32"), e.getMessage());
        } finally {
            System.clearProperty(GpuPrecision.PROPERTY);
        }
    }

    @Test
    void manySmallChunksAndReuseGiveTheSameResults() {
        MambaConfig c = MambaConfig.of(32, 16, 2);
        MambaModel m = RandomModels.model(c, 7);
        Random rnd = new Random(8);
        int[] lengths = new int[300];
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = rnd.nextInt(70);
        }
        lengths[100] = 900; // longer than a chunk: goes alone, buffers grow
        MambaBatch cpu = randomBatch(m, lengths, rnd);
        MambaBatch gpu = copy(m, cpu);
        new CpuParallelForward(m).forward(cpu);
        // a budget of ~200 tokens per chunk: dozens of chunks alternating between the two slots
        try (GpuBatchForward f = new GpuBatchForward(m, 200 * GpuBatchForward.tokenBytes(c, true))) {
            f.forward(gpu);
            assertAgree(m, cpu, gpu, "chunked");
            // the same forward object again, continuing from the final states
            MambaBatch cpu2 = continuation(m, cpu, rnd);
            MambaBatch gpu2 = copy(m, cpu2);
            new CpuParallelForward(m).forward(cpu2);
            f.forward(gpu2);
            assertAgree(m, cpu2, gpu2, "second window");
        }
    }

    @Test
    void aChunkOfOnlyEmptySequencesPassesStatesThrough() {
        MambaConfig c = MambaConfig.of(16, 8, 2);
        MambaModel m = RandomModels.model(c, 11);
        Random rnd = new Random(12);
        MambaBatch gpu = randomBatch(m, new int[] {0, 0, 0, 5, 0, 0}, rnd);
        MambaBatch cpu = copy(m, gpu);
        new CpuParallelForward(m).forward(cpu);
        // one sequence per chunk: chunks 0-2 and 4-5 have no tokens at all
        try (GpuBatchForward f = new GpuBatchForward(m, 4L * c.stateFloats() + 4)) {
            f.forward(gpu);
        }
        assertAgree(m, cpu, gpu, "empty chunks");
    }

    @Test
    void weightsAreUploadedOncePerModelAndFreedWithTheLastUser() {
        MambaModel m = RandomModels.model(MambaConfig.of(16, 8, 1), 99);
        MambaModel same = RandomModels.model(MambaConfig.of(16, 8, 1), 99);
        int before = DeviceWeights.residentModels();
        GpuBatchForward a = new GpuBatchForward(m);
        GpuBatchForward b = new GpuBatchForward(same);
        assertEquals(before + 1, DeviceWeights.residentModels(), "equal fingerprints share one upload");
        a.close();
        assertEquals(before + 1, DeviceWeights.residentModels(), "still used by the other instance");
        b.close();
        assertEquals(before, DeviceWeights.residentModels());
    }

    /**
     * in_proj's gate epilogue on each GEMM path (CUDA cores, TF32, 3xTF32; at hidden 256 on sm_90 the 3xFP16 one): the
     * same launch in {@code GEMM_MODE_STORE} and {@code GEMM_MODE_GATE}. The lower half (x) must come out bit for bit
     * the same, the upper half (z) as SiLU of the stored value to the special-function unit's accuracy. 1,000 tokens:
     * a partial last tile.
     */
    @ParameterizedTest(name = "{0} hidden {1}")
    @MethodSource("gateShapes")
    void gateModeTakesSiluOfTheUpperHalfOnly(GpuPrecision precision, int hidden) {
        MambaConfig c = MambaConfig.of(hidden, 16, 1);
        int d = c.hiddenSize(), e = c.intermediateSize(), t = 1000;
        GpuContext ctx = GpuContext.get();
        ctx.makeCurrent();
        DeviceWeights w = DeviceWeights.acquire(ctx, RandomModels.model(c, 31 + hidden));
        DeviceWeights.Layer lw = w.layers[0];
        Random rnd = new Random(hidden);
        CUdeviceptr x = upload(RandomModels.gaussian(rnd, t * d)), rs = upload(new float[2 * t]),
                y = upload(new float[t * 2 * e]), none = new CUdeviceptr();
        float[][] out = new float[2][t * 2 * e];
        jcuda.driver.CUstream st = new jcuda.driver.CUstream();
        JCudaDriver.cuStreamCreate(st, 0);
        try {
            GpuKernels k = new GpuKernels(ctx, 16, null, precision);
            int[] modes = {GpuKernels.GEMM_MODE_STORE, GpuKernels.GEMM_MODE_GATE};
            for (int i = 0; i < 2; i++) {
                k.gemm(x, d, t, d, lw.inProj, 2 * e, none, y, 2 * e, modes[i], st, rs);
                JCudaDriver.cuStreamSynchronize(st);
                JCudaDriver.cuMemcpyDtoH(jcuda.Pointer.to(out[i]), y, 4L * out[i].length);
            }
        } finally {
            for (CUdeviceptr p : new CUdeviceptr[] {x, rs, y}) {
                JCudaDriver.cuMemFree(p);
            }
            JCudaDriver.cuStreamDestroy(st);
            w.release();
        }
        double worst = 0;
        int negatives = 0;
        for (int i = 0; i < t; i++) {
            for (int o = 0; o < 2 * e; o++) {
                float stored = out[0][i * 2 * e + o], gated = out[1][i * 2 * e + o];
                if (o < e) {
                    assertEquals(Float.floatToIntBits(stored), Float.floatToIntBits(gated), "x half, token " + i + " output " + o);
                } else {
                    double silu = stored / (1 + Math.exp(-(double) stored));
                    worst = Math.max(worst, Math.abs(gated - silu) / (Math.abs(silu) + 1e-30));
                    negatives += stored < 0 ? 1 : 0;
                }
            }
        }
        System.out.printf("%s hidden %d: gate against SiLU of the stored z, worst relative error %.2e%n", precision, hidden, worst);
        assertTrue(worst <= 2e-6, "gate vs SiLU(z): " + worst);
        assertTrue(negatives > t * e / 4, "z takes both signs, so SiLU is not the identity on it: " + negatives);
    }

    static Stream<Arguments> gateShapes() {
        return Stream.of(GpuPrecision.values()).flatMap(p -> Stream.of(Arguments.of(p, 64), Arguments.of(p, 256)));
    }

    private static CUdeviceptr upload(float[] values) {
        CUdeviceptr p = new CUdeviceptr();
        JCudaDriver.cuMemAlloc(p, 4L * Math.max(1, values.length));
        JCudaDriver.cuMemcpyHtoD(p, jcuda.Pointer.to(values), 4L * values.length);
        return p;
    }

    /**
     * A CUDA failure after the weights are taken and the slots made (injected) fails the constructor with a
     * GpuForwardException and gives back what it took: the weights are no longer resident, so a task restarted into
     * the same failure does not pile up uploads; the next forward of the model sets up and runs.
     */
    @Test
    void aFailedSetupReleasesTheWeightsItTook() {
        MambaModel m = RandomModels.model(MambaConfig.of(16, 8, 1), 98);
        int before = DeviceWeights.residentModels();
        GpuBatchForward.setupFault = () -> {
            throw new jcuda.CudaException("CUDA_ERROR_OUT_OF_MEMORY (injected)");
        };
        try {
            for (int attempt = 0; attempt < 3; attempt++) {
                GpuForwardException e = assertThrows(GpuForwardException.class, () -> new GpuBatchForward(m));
                assertTrue(e.getMessage().contains("injected"), e.getMessage());
                assertEquals(before, DeviceWeights.residentModels(), "attempt " + attempt + ": weights released");
            }
        } finally {
            GpuBatchForward.setupFault = null;
        }
        MambaBatch cpu = randomBatch(m, new int[] {5, 0, 17}, new Random(98));
        MambaBatch gpu = copy(m, cpu);
        new CpuParallelForward(m).forward(cpu);
        try (GpuBatchForward f = new GpuBatchForward(m)) {
            assertEquals(before + 1, DeviceWeights.residentModels());
            f.forward(gpu);
        }
        assertEquals(before, DeviceWeights.residentModels());
        assertAgree(m, cpu, gpu, "after failed setups");
    }

    /**
     * Each projection is uploaded in the forms the kernels read, when they first read it: a 3xTF32 forward at hidden
     * 64 (norm fused into in_proj, dt_proj fused into the scan) holds in_proj·diag(norm), x_proj and out_proj split
     * (twice their size) and dt_proj plain, and never the plain in_proj; an FP32 forward of the same model then
     * adds the plain in_proj, x_proj and out_proj, and never a split form. Both agree with the CPU, before and after.
     */
    @Test
    void projectionsAreUploadedInTheFormsTheKernelsRead() {
        MambaModel m = RandomModels.model(MambaConfig.of(64, 16, 2), 123);
        MambaBatch cpu = randomBatch(m, new int[] {300, 1, 0, 64}, new Random(3));
        MambaBatch via3x = copy(m, cpu), viaFp32 = copy(m, cpu), via3xAgain = copy(m, cpu);
        new CpuParallelForward(m).forward(cpu);
        long split3x = 0, plainFp32 = 0;
        for (io.flinkmamba.kernels.model.LayerWeights l : m.weights().layers) {
            split3x += 4L * (2 * l.inProj.length + 2 * l.xProj.length + 2 * l.outProj.length + l.dtProj.length);
            plainFp32 += 4L * (l.inProj.length + l.xProj.length + l.outProj.length);
        }
        try (GpuBatchForward x3 = new GpuBatchForward(m, GpuPrecision.TF32X3)) {
            assertEquals(0, x3.weights().projectionBytes(), "nothing uploaded before a kernel reads it");
            x3.forward(via3x);
            assertEquals(split3x, x3.weights().projectionBytes(), "3xTF32: the split normed in_proj, x_proj, out_proj; plain dt_proj");
            try (GpuBatchForward fp32 = new GpuBatchForward(m, GpuPrecision.FP32)) {
                fp32.forward(viaFp32);
                assertEquals(split3x + plainFp32, fp32.weights().projectionBytes(), "FP32 adds the plain forms it reads");
                x3.forward(via3xAgain);
                assertEquals(split3x + plainFp32, x3.weights().projectionBytes(), "nothing uploaded twice");
            }
        }
        assertAgree(m, cpu, via3x, "3xTF32");
        assertAgree(m, cpu, viaFp32, "fp32 after 3xTF32's uploads");
        assertAgree(m, cpu, via3xAgain, "3xTF32 again");
    }

    @Test
    void factoryGivesTheGpuForGpuAndAuto() {
        MambaModel m = RandomModels.model(MambaConfig.of(16, 8, 1), 5);
        try (BatchForward g = BatchForwards.create(m, "gpu"); BatchForward a = BatchForwards.create(m, "auto")) {
            assertEquals("gpu:0", g.device());
            assertEquals("gpu:0", a.device());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"conv-nobias", "proj-bias", "deep", "long", "bf16", "f16", "backbone-prefix", "time-step-auto"})
    void matchesHuggingFaceFixtures(String name) throws Exception {
        var url = GpuBatchForwardTest.class.getResource("/fixtures/" + name + "/config.json");
        assertNotNull(url, "fixture " + name);
        checkAgainstHf(Path.of(url.toURI()).getParent(), name);
    }

    @Test
    void matchesTheSharedHfReference() {
        Path dir = Path.of(System.getProperty("flinkmamba.hfReference", "../../shared/reference/hf-mamba-tiny"));
        assumeTrue(Files.isDirectory(dir), "no ../shared beside the checkout");
        checkAgainstHf(dir, "hf-mamba-tiny");
    }

    private static void checkAgainstHf(Path dir, String name) {
        MambaModel m = MambaModel.load(dir);
        Npy.FloatArray in = Npy.read(dir.resolve("inputs_embeds.npy"));
        double[] expected = Npy.readDoubles(dir.resolve("last_hidden_state.npy"));
        int b = (int) in.shape[0], len = (int) in.shape[1], d = (int) in.shape[2];
        MambaBatch batch = new MambaBatch(m.config());
        for (int i = 0; i < b; i++) {
            batch.addSequence(m.newState(), len);
        }
        System.arraycopy(in.data, 0, batch.inputs(), 0, in.data.length);
        MambaBatch cpu = copy(m, batch);
        try (GpuBatchForward f = new GpuBatchForward(m)) {
            f.forward(batch);
        }
        new CpuParallelForward(m).forward(cpu);
        System.out.printf("%s: gpu vs HF float64 rel L2 %.3g%n", name, relL2(batch.outputs(), 0, expected, 0, expected.length));
        for (int i = 0; i < b; i++) {
            int off = i * len * d;
            assertClose(batch.outputs(), off, expected, off, len * d, TOL, name + " gpu, sequence " + i);
        }
        assertAgree(m, cpu, batch, name);
    }

    /** The GPU forward of {@code batch} by a GpuBatchForward created while {@code key} is {@code value}. */
    private static void forwardWithProperty(MambaModel m, MambaBatch batch, String key, String value) {
        forwardWithProperties(m, batch, Map.of(key, value));
    }

    /** The same while every property of {@code properties} is set; each is put back as it was. */
    private static void forwardWithProperties(MambaModel m, MambaBatch batch, Map<String, String> properties) {
        Map<String, String> old = new java.util.HashMap<>();
        properties.forEach((k, v) -> old.put(k, System.setProperty(k, v)));
        try (GpuBatchForward f = new GpuBatchForward(m)) {
            f.forward(batch);
        } finally {
            old.forEach(GpuBatchForwardTest::restoreProperty);
        }
    }

    /** Puts a system property back as it was ({@code old} null: unset). */
    static void restoreProperty(String key, String old) {
        if (old == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, old);
        }
    }

    static MambaBatch randomBatch(MambaModel m, int[] lengths, Random rnd) {
        MambaBatch b = new MambaBatch(m.config());
        for (int len : lengths) {
            float[] s = RandomModels.gaussian(rnd, m.config().stateFloats());
            for (int i = 0; i < s.length; i++) {
                s[i] *= 0.5f;
            }
            b.addSequence(s, len);
        }
        float[] in = RandomModels.gaussian(rnd, b.totalTokens() * m.config().hiddenSize());
        System.arraycopy(in, 0, b.inputs(), 0, in.length);
        return b;
    }

    /** A new batch whose sequences start from the final states of {@code prev}, with fresh inputs. */
    static MambaBatch continuation(MambaModel m, MambaBatch prev, Random rnd) {
        MambaBatch b = new MambaBatch(m.config());
        int sf = m.config().stateFloats();
        for (int i = 0; i < prev.size(); i++) {
            b.addSequence(prev.states(), i * sf, rnd.nextInt(40));
        }
        float[] in = RandomModels.gaussian(rnd, b.totalTokens() * m.config().hiddenSize());
        System.arraycopy(in, 0, b.inputs(), 0, in.length);
        return b;
    }

    static MambaBatch copy(MambaModel m, MambaBatch src) {
        MambaBatch b = new MambaBatch(m.config());
        int sf = m.config().stateFloats(), d = m.config().hiddenSize();
        for (int i = 0; i < src.size(); i++) {
            b.addSequence(src.states(), i * sf, src.length(i));
        }
        System.arraycopy(src.inputs(), 0, b.inputs(), 0, src.totalTokens() * d);
        return b;
    }

    /** Outputs and final states of every sequence within TOL; empty sequences keep their state exactly. */
    static void assertAgree(MambaModel m, MambaBatch cpu, MambaBatch gpu, String what) {
        assertAgree(m, cpu, gpu, what, TOL);
    }

    static void assertAgree(MambaModel m, MambaBatch cpu, MambaBatch gpu, String what, double tol) {
        int d = m.config().hiddenSize(), sf = m.config().stateFloats();
        float[] co = Arrays.copyOf(cpu.outputs(), cpu.totalTokens() * d);
        float[] go = Arrays.copyOf(gpu.outputs(), gpu.totalTokens() * d);
        double out = relL2(go, co);
        float[] cs = Arrays.copyOf(cpu.states(), cpu.size() * sf);
        float[] gs = Arrays.copyOf(gpu.states(), gpu.size() * sf);
        double st = relL2(gs, cs);
        System.out.printf("%s: outputs rel L2 %.3g, final states rel L2 %.3g%n", what, out, st);
        assertTrue(out <= tol, what + ": outputs relative L2 " + out);
        assertTrue(st <= tol, what + ": final states relative L2 " + st);
        for (int i = 0; i < cpu.size(); i++) {
            float[] a = Arrays.copyOfRange(cpu.states(), i * sf, (i + 1) * sf);
            float[] b = Arrays.copyOfRange(gpu.states(), i * sf, (i + 1) * sf);
            if (cpu.length(i) == 0) {
                assertTrue(Arrays.equals(a, b), what + ": empty sequence " + i + " changed its state");
            } else {
                assertClose(b, a, tol, what + ": final state of sequence " + i + " (length " + cpu.length(i) + ")");
            }
            if (cpu.length(i) > 0) {
                int off = cpu.tokenOffset(i) * d, n = cpu.length(i) * d;
                assertClose(Arrays.copyOfRange(go, off, off + n), Arrays.copyOfRange(co, off, off + n), tol,
                        what + ": outputs of sequence " + i + " (length " + cpu.length(i) + ")");
            }
        }
    }
}
