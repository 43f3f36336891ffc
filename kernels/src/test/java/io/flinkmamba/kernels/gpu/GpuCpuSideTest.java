package io.flinkmamba.kernels.gpu;

import io.flinkmamba.kernels.BatchForwards;
import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import io.flinkmamba.kernels.testing.RandomModels;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** The host-side logic of the GPU path, which runs everywhere. */
class GpuCpuSideTest {
    @Test
    void probeAnswersWithoutThrowingAndIsCached() {
        GpuDevices.Probe p = GpuDevices.probe();
        assertNotNull(p.reason());
        assertTrue(p == GpuDevices.probe(), "asked once");
        if (!p.available()) {
            assertFalse(p.reason().isBlank());
            assertTrue(p.toString().startsWith("no usable CUDA device: "));
        }
    }

    @Test
    void gpuWithoutDeviceFailsAtCreationNamingWhy() {
        GpuDevices.Probe p = GpuDevices.probe();
        assumeFalse(p.available(), "this machine has a device");
        MambaModel m = RandomModels.model(MambaConfig.of(8, 4, 1), 1);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> BatchForwards.create(m, "gpu"));
        assertTrue(e.getMessage().contains(p.reason()), e.getMessage());
        assertTrue(e.getMessage().contains("device=auto"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> new GpuBatchForward(m));
    }

    @Test
    void autoWithoutDeviceFallsBackToTheCpuAndCounts() {
        assumeFalse(GpuDevices.probe().available(), "this machine has a device");
        MambaModel m = RandomModels.model(MambaConfig.of(8, 4, 1), 1);
        long before = BatchForwards.autoFallbacks();
        try (BatchForward f = BatchForwards.create(m, "AUTO")) {
            assertEquals("cpu", f.device());
            MambaBatch b = new MambaBatch(m.config());
            b.addSequence(m.newState(), 3);
            b.inputs()[0] = 1f;
            f.forward(b);
            assertTrue(b.outputs()[0] != 0f, "the fallback computes");
        }
        assertEquals(before + 1, BatchForwards.autoFallbacks());
    }

    @Test
    void deviceOptionIsParsedStrictly() {
        assertEquals(BatchForwards.Device.CPU, BatchForwards.Device.parse(" cpu "));
        assertEquals(BatchForwards.Device.GPU, BatchForwards.Device.parse("GPU"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BatchForwards.Device.parse("cuda"));
        assertTrue(e.getMessage().contains("gpu, cpu, auto"));
        assertThrows(IllegalArgumentException.class, () -> BatchForwards.Device.parse(null));
        MambaModel m = RandomModels.model(MambaConfig.of(8, 4, 1), 1);
        assertEquals("cpu", BatchForwards.create(m, "cpu").device());
    }

    @Test
    void stagedScansTakeOnlyLayoutsOfWhole16ByteRows() {
        // hidden 64 (E 128, rank 4, N 16, K 4): per layer 3 x 128 conv floats, then 128 x 16 SSM floats
        int sf = 2 * (3 * 128 + 128 * 16);
        assertTrue(GpuKernels.stagedScanFits(128, 256, 36, 4, sf, 3 * 128));
        assertTrue(GpuKernels.stagedScanFits(128, 256, 36, 4, sf, sf / 2 + 3 * 128)); // the second layer
        assertFalse(GpuKernels.stagedScanFits(128, 256, 33, 1, sf, 3 * 128));         // rank 1: B starts mid-word
        assertFalse(GpuKernels.stagedScanFits(30, 60, 36, 4, 2 * (3 * 30 + 30 * 16), 90)); // E 30: rows of 120 bytes
        assertFalse(GpuKernels.stagedScanFits(128, 256, 36, 4, sf + 2, 3 * 128));     // odd state stride
    }

    @Test
    void theDefaultChunkBudgetIsA32ndOfTheDeviceBetweenItsBounds() {
        assertEquals(1L << 30, GpuBatchForward.defaultChunkBytes(141L << 30));   // H200: capped
        assertEquals(768L << 20, GpuBatchForward.defaultChunkBytes(24L << 30));  // a 24 GiB card
        assertEquals(128L << 20, GpuBatchForward.defaultChunkBytes(2L << 30));   // floored
    }

    @Test
    void aChunkBudgetOf2GiBStagesUnder2GiB() {
        // a ByteBuffer views the staging: at a budget of 2 GiB (twice the default's cap, set by the property), whatever
        // the model (tiny hidden with a huge state per sequence, or the reverse), a full chunk's token rows and states
        // stay under 2^31 bytes
        long budget = 2L << 30;
        for (int hidden : new int[] {4, 64, 256, 2048, 8192}) {
            for (int state : new int[] {1, 16, 256}) {
                for (int layers : new int[] {1, 8, 64}) {
                    io.flinkmamba.kernels.model.MambaConfig c = io.flinkmamba.kernels.model.MambaConfig.of(hidden, state, layers);
                    for (boolean delta : new boolean[] {false, true}) {
                        long staging = GpuBatchForward.stagingBytes(c, GpuBatchForward.chunkTokens(c, budget, delta),
                                GpuBatchForward.chunkSeqs(c, budget));
                        assertTrue(staging <= Integer.MAX_VALUE, c + ": " + staging + " staging bytes");
                    }
                }
            }
        }
        io.flinkmamba.kernels.model.MambaConfig c = io.flinkmamba.kernels.model.MambaConfig.of(256, 16, 2);
        GpuBatchForward.checkStaging(c, budget, false);
        assertEquals(205_697, GpuBatchForward.chunkTokens(c, budget, false), "hidden 256: 10,440 device bytes a token");
        assertEquals((1008 << 20) / (4 * c.stateFloats() + 4), GpuBatchForward.chunkSeqs(c, budget), "states capped");
        assertEquals((64 << 20) / (4 * c.stateFloats() + 4), GpuBatchForward.chunkSeqs(c, 64L << 20), "under the cap: the budget");
    }

    @Test
    void chunkCapsAreWholeWavesWhereTheyHoldOne() {
        // H200, hidden 256 at the default 1 GiB: 102,848 tokens fit, 6 waves of 132 x 128 are taken
        io.flinkmamba.kernels.model.MambaConfig c = io.flinkmamba.kernels.model.MambaConfig.of(256, 16, 2);
        int cap = GpuBatchForward.chunkTokens(c, 1L << 30, false);
        assertEquals(102_848, cap);
        assertEquals(101_376, GpuBatchForward.wholeWaveTokens(cap, 132));
        assertEquals(101_376 / 64 % 132, 0, "64-token sequences: the scan's blocks on whole rounds");
        assertEquals(16_896, GpuBatchForward.wholeWaveTokens(16_896, 132), "exactly a wave: kept");
        assertEquals(16_896, GpuBatchForward.wholeWaveTokens(33_791, 132));
        assertEquals(16_895, GpuBatchForward.wholeWaveTokens(16_895, 132), "under a wave: the budget's cap");
        assertEquals(1, GpuBatchForward.wholeWaveTokens(1, 132));
        for (int sms : new int[] {1, 46, 108, 132, 144}) {
            for (int budgetCap : new int[] {1, 700, 128 * sms, 128 * sms + 1, 1_000_003, Integer.MAX_VALUE / 4}) {
                int t = GpuBatchForward.wholeWaveTokens(budgetCap, sms);
                assertTrue(t >= 1 && t <= budgetCap && (t == budgetCap || t % (128 * sms) == 0),
                        sms + " SMs, cap " + budgetCap + ": " + t);
                assertTrue(budgetCap < 128 * sms || budgetCap - t < 128 * sms, "at most a wave less");
            }
        }
    }

    @Test
    void aChunkBudgetWhoseStagingOverflowsFailsAtConstructionNamingTheProperty() {
        // 32 GiB a slot at hidden 256: a full chunk's token rows alone would stage 3.2 GB
        io.flinkmamba.kernels.model.MambaConfig c = io.flinkmamba.kernels.model.MambaConfig.of(256, 16, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GpuBatchForward.checkStaging(c, 32L << 30, false));
        assertTrue(e.getMessage().contains(GpuBatchForward.CHUNK_BYTES_PROPERTY), e.getMessage());
        long fits = Long.parseLong(e.getMessage().replaceAll(".*about (\\d+) MiB.*", "$1")) << 20;
        GpuBatchForward.checkStaging(c, fits, false); // the size it names does fit
        assertTrue(fits >= 2L << 30, "at least the 2 GiB the other test allows: " + fits);
    }

    @Test
    void onlyRank4KeepsLongSequencesOnTheLaneLoadingFusedScan() {
        assertEquals(GpuKernels.STAGED_FUSED_MAX_MEAN_TOKENS, GpuKernels.stagedFusedMaxMeanTokens(4));
        assertTrue(GpuKernels.stagedFusedMaxMeanTokens(16) >= Integer.MAX_VALUE); // 2^31 - 1 tokens a sequence: any
    }

    @Test
    void aFusedScanVariantServesTheRankItsNameSays() {
        assertEquals(16, GpuKernels.compiledRank("scan_dt_staged_n16_r16"));
        assertEquals(4, GpuKernels.compiledRank("scan_dt_staged_n16_r4_unrolled"));
        assertEquals(4, GpuKernels.compiledRank("scan_dt_staged_n16"));   // no rank named: hidden 64's
    }

    @Test
    void stagedScanGridsShareTheResidentBlocksAndNeverExceedTheSequences() {
        assertEquals(660, GpuKernels.stagedBlocks(100_000, 1, 5, 132));
        assertEquals(165, GpuKernels.stagedBlocks(16_384, 4, 5, 132)); // E 512: four channel tiles
        assertEquals(7, GpuKernels.stagedBlocks(7, 1, 5, 132));        // one block a sequence
        assertEquals(1, GpuKernels.stagedBlocks(1, 8, 1, 1));          // a tile count above the resident blocks
    }

    @Test
    void scanLaunchesCoverEveryLaneInWholeWarpsOfAtMost128() {
        assertEquals(new GpuKernels.ScanLaunch(1, 128), GpuKernels.scanLaunch(128, 16, false));
        assertEquals(new GpuKernels.ScanLaunch(1, 96), GpuKernels.scanLaunch(80, 16, false));
        assertEquals(new GpuKernels.ScanLaunch(16, 128), GpuKernels.scanLaunch(512, 64, false)); // 4 lanes a channel
        assertEquals(new GpuKernels.ScanLaunch(1, 64), GpuKernels.scanLaunch(48, 5, true));
        for (int e : new int[] {1, 31, 32, 33, 80, 128, 200, 512, 1536}) {
            for (int n : new int[] {4, 8, 16, 32, 64}) {
                GpuKernels.ScanLaunch l = GpuKernels.scanLaunch(e, n, false);
                int lanes = e * GpuKernels.scanSplit(n);
                assertTrue(l.block() % 32 == 0 && l.block() <= 128, e + "/" + n + ": " + l);
                assertTrue((long) l.block() * l.channelBlocks() >= lanes, e + "/" + n + ": " + l);
                assertTrue((long) l.block() * (l.channelBlocks() - 1) < lanes, e + "/" + n + ": no empty block " + l);
            }
        }
    }

    @Test
    void precisionIsParsedInAnyCaseAndNothingElse() {
        assertEquals(GpuPrecision.TF32X3, GpuPrecision.parse(" TF32x3 "));
        assertEquals(GpuPrecision.FP32, GpuPrecision.parse("fp32"));
        assertEquals(GpuPrecision.TF32, GpuPrecision.parse("TF32"));
        for (String bad : new String[] {"fp16", "", "tf32x2"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GpuPrecision.parse(bad));
            assertTrue(e.getMessage().contains("expected tf32x3, fp32 or tf32"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> GpuPrecision.parse(null));
    }

    @Test
    void gemmModeIsParsedStrictlyWithTf32x3ByDefault() {
        String old = System.clearProperty(GpuPrecision.PROPERTY);
        try {
            assertEquals(GpuPrecision.TF32X3, GpuPrecision.fromSystemProperty());
            System.setProperty(GpuPrecision.PROPERTY, " fp32 ");
            assertEquals(GpuPrecision.FP32, GpuPrecision.fromSystemProperty());
            System.setProperty(GpuPrecision.PROPERTY, "tf32");
            assertEquals(GpuPrecision.TF32, GpuPrecision.fromSystemProperty());
            System.setProperty(GpuPrecision.PROPERTY, "TF32X3");
            assertEquals(GpuPrecision.TF32X3, GpuPrecision.fromSystemProperty());
            System.setProperty(GpuPrecision.PROPERTY, "fp16");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, GpuPrecision::fromSystemProperty);
            assertTrue(e.getMessage().contains("-Dflinkmamba.gpu.gemm=fp16: expected tf32x3, fp32 or tf32"), e.getMessage());
        } finally {
            GpuBatchForwardTest.restoreProperty(GpuPrecision.PROPERTY, old);
        }
    }

    @Test
    void chunksCoverTheBatchInOrderWithinLimits() {
        MambaConfig c = MambaConfig.of(4, 2, 1);
        MambaBatch b = new MambaBatch(c);
        Random rnd = new Random(3);
        float[] s = new float[c.stateFloats()];
        for (int i = 0; i < 500; i++) {
            b.addSequence(s, i == 250 ? 5000 : rnd.nextInt(4) == 0 ? 0 : rnd.nextInt(100));
        }
        List<ChunkPlan.Chunk> chunks = ChunkPlan.plan(b, 300, 40);
        int next = 0;
        for (ChunkPlan.Chunk ch : chunks) {
            assertEquals(next, ch.first(), "contiguous, in order");
            assertTrue(ch.last() > ch.first(), "never empty");
            assertEquals(b.offsets()[ch.first()], ch.tokenStart());
            assertEquals(b.offsets()[ch.last()], ch.tokenEnd());
            assertTrue(ch.seqs() <= 40);
            assertTrue(ch.tokens() <= 300 || ch.seqs() == 1, "only a lone long sequence exceeds the budget");
            next = ch.last();
        }
        assertEquals(500, next);
        assertTrue(chunks.stream().anyMatch(ch -> ch.first() == 250 && ch.seqs() == 1));
        // a greedy cut: each chunk could not take the next sequence
        for (int i = 0; i + 1 < chunks.size(); i++) {
            ChunkPlan.Chunk ch = chunks.get(i);
            int withNext = b.offsets()[ch.last() + 1] - ch.tokenStart();
            assertTrue(ch.seqs() == 40 || withNext > 300);
        }
        assertThrows(IllegalArgumentException.class, () -> ChunkPlan.plan(b, 0, 1));
    }

    @Test
    void hostCopiesRoundTripAcrossSlices() {
        int n = 3 * HostCopies.SLICE + 12345;
        float[] src = RandomModels.gaussian(new Random(4), n + 7);
        java.nio.FloatBuffer buf = java.nio.ByteBuffer.allocateDirect(4 * (n + 100))
                .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        HostCopies.put(buf, 50, src, 7, n);
        assertEquals(src[7], buf.get(50));
        assertEquals(src[7 + n - 1], buf.get(50 + n - 1));
        assertEquals(0f, buf.get(50 + n), "nothing written past the range");
        float[] back = new float[n + 3];
        HostCopies.get(buf, 50, back, 3, n);
        assertArrayEquals(java.util.Arrays.copyOfRange(src, 7, 7 + n), java.util.Arrays.copyOfRange(back, 3, 3 + n));
        HostCopies.get(buf, 50, back, 0, 5); // one slice: the single-thread path
        assertEquals(src[11], back[4]);
    }

    @Test
    void ptxIsNulTerminatedForTheDriver() {
        byte[] ptx = GpuContext.resource("mamba.ptx");
        byte[] z = GpuContext.withNul(ptx);
        assertEquals(ptx.length + 1, z.length);
        assertEquals(0, z[z.length - 1]);
        assertArrayEquals(z, GpuContext.withNul(z), "already terminated: unchanged");
        String text = new String(ptx, StandardCharsets.US_ASCII);
        List<String> names = new java.util.ArrayList<>(List.of("rmsnorm_rows", "gemm_xwt_n64", "gemm_xwt_n128", "conv_silu",
                "scan_generic", "conv_silu_k2", "conv_silu_k3", "conv_silu_k4"));
        for (int n : new int[] {4, 8, 16, 32, 64}) {
            names.add("scan_n" + n);
            names.add("scan_dt_n" + n);
        }
        for (int rank : GpuKernels.FUSED_DT_COMPILED_RANKS) {
            names.add("scan_dt_n16_r" + rank);
        }
        for (int n : new int[] {4, 8, 16}) {
            names.add("scan_staged_n" + n);
        }
        for (int rank : GpuKernels.STAGED_FUSED_RANKS) {
            names.add("scan_dt_staged_n16_r" + rank);
        }
        for (GpuPrecision mode : GpuPrecision.values()) {
            if (mode.kernelName != null) {
                names.add(mode.kernelName + "_s64");
                names.add(mode.kernelName + "_norm_s64");
                names.add(mode.kernelName + "_rms_s64");
                names.add(mode.kernelName + "_s48");
            }
        }
        for (String k : names) { // every kernel GpuKernels loads: a missing one would fail only on a GPU
            assertTrue(text.contains(".entry " + k + "("), "PTX has kernel " + k);
        }
        byte[] cubin = GpuContext.resource("mamba.sm_90a.cubin"); // shipped gzipped: inflated, an ELF image
        assertArrayEquals(new byte[] {0x7f, 'E', 'L', 'F'}, Arrays.copyOf(cubin, 4));
        // the sm_90a cubin adds the warpgroup-MMA kernels; the PTX (other GPUs) must not have wgmma at all
        String symbols = new String(cubin, StandardCharsets.ISO_8859_1);
        for (String k : List.of("gemm_wg_tf32x3_s64", "gemm_wg_tf32x3_norm_s64", "gemm_wg_tf32x3_s48", "gemm_tf32x3_rms_s64",
                "gemm_wgh_f16x3_n128", "gemm_wgh_f16x3_n128_full", "row_scales")) {
            assertTrue(symbols.contains(k + "\0"), "sm_90a cubin has kernel " + k);
        }
        assertFalse(text.contains("wgmma"), "compute_90 PTX has no sm_90a instruction");
        assertFalse(text.contains("gemm_wgh"), "nor the 3xFP16 kernel");
        assertTrue(text.startsWith("//"), "inflated PTX text");
    }

    @Test
    void tf32SplitCarriesEachWeightToTwoToTheMinus21() {
        Random rnd = new Random(5);
        float[] w = new float[4096];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(9) - 4));
        }
        w[0] = 0f;
        w[1] = -1.9999999f; // rounds up across a power of two
        float[] s = DeviceWeights.tf32Split(w);
        assertEquals(2 * w.length, s.length);
        for (int i = 0; i < w.length; i++) {
            float head = s[i], tail = s[w.length + i];
            assertEquals(0, Float.floatToRawIntBits(head) & 0x1fff, "head is TF32 (10 mantissa bits)");
            assertEquals(0, Float.floatToRawIntBits(tail) & 0x1fff, "tail is TF32");
            assertTrue(Math.abs(head - w[i]) <= Math.ulp(w[i]) * 4096, "head rounds to nearest TF32");
            assertTrue(Math.abs((double) head + tail - w[i]) <= Math.abs(w[i]) * 0x1p-21, "head + tail carries w: " + w[i]);
        }
        assertEquals(-2f, s[1]);
    }

    @Test
    void streamingGemmShapesMatchTheKernelsInstantiations() {
        // gemm_tcs_impl<BN, P, STAGES, NORM, NW, KB>: 32 * NW tokens; STAGES * (32 * NW + BN) rows of KB + 4 floats
        // 3xTF32 takes W split on the host: heads and tails staged, twice the W rows; plain TF32 stages W as it is
        GpuKernels.StreamingShape s64 = new GpuKernels.StreamingShape(256, 64, 256, 2 * 384 * 36 * 4, true);
        assertEquals(s64, GpuKernels.streamingShape("gemm_tf32x3_s64"));
        assertEquals(s64, GpuKernels.streamingShape("gemm_tf32x3_norm_s64"));
        assertEquals(s64, GpuKernels.streamingShape("gemm_tf32x3_rms_s64"));
        assertEquals(new GpuKernels.StreamingShape(256, 48, 256, 2 * 352 * 36 * 4, true), GpuKernels.streamingShape("gemm_tf32x3_s48"));
        assertEquals(new GpuKernels.StreamingShape(256, 64, 256, 2 * 320 * 36 * 4, false), GpuKernels.streamingShape("gemm_tf32_norm_s64"));
        assertEquals(new GpuKernels.StreamingShape(256, 48, 256, 2 * 304 * 36 * 4, false), GpuKernels.streamingShape("gemm_tf32_s48"));
        assertThrows(IllegalArgumentException.class, () -> GpuKernels.streamingShape("gemm_tf32x3_s96"));
        // gemm_wg_impl<BN, NORM>: 128 tokens, 256 threads, 3 stages of 128 rows of 36 floats and 2 * BN of 32, + 1,024
        GpuKernels.StreamingShape wg64 = new GpuKernels.StreamingShape(128, 64, 256, 3 * (128 * 36 + 128 * 32) * 4 + 1024, true);
        assertEquals(wg64, GpuKernels.streamingShape("gemm_wg_tf32x3_s64"));
        assertEquals(wg64, GpuKernels.streamingShape("gemm_wg_tf32x3_norm_s64"));
        assertEquals(new GpuKernels.StreamingShape(128, 48, 256, 3 * (128 * 36 + 96 * 32) * 4 + 1024, true),
                GpuKernels.streamingShape("gemm_wg_tf32x3_s48"));
        assertThrows(IllegalArgumentException.class, () -> GpuKernels.streamingShape("gemm_wg_tf32x3_rms_s64"));
        assertThrows(IllegalArgumentException.class, () -> GpuKernels.streamingShape("gemm_wg_tf32_s64"));
        // two blocks fit an H200 SM (228 KB, 1 KB reserved a block)
        assertTrue(2 * (wg64.smemBytes() + 1024) <= 228 * 1024);
        // gemm_wgh_f16x3_n128: 3 stages of 128 rows of 80 floats and 2 x 128 rows of 64 halves, + 1,024; one block
        // an SM, within the 227 KB a block may take
        assertEquals(new GpuKernels.StreamingShape(128, 128, 256, 3 * (128 * 80 * 4 + 2 * 128 * 64 * 2) + 1024, true),
                GpuKernels.HALF_SPLIT_SHAPE);
        assertTrue(GpuKernels.HALF_SPLIT_SHAPE.smemBytes() <= 227 * 1024);
        assertEquals(HalfSplit.K_TILE, 64, "WGH_KB in mamba.cu: W rows padded to it");
    }

    @Test
    void kernelTimeIsTheUnionOfTheChunksIntervals() {
        assertEquals(0.0, GpuBatchForward.unionMillis(List.of()));
        assertEquals(4.0, GpuBatchForward.unionMillis(List.of(new double[] {5, 6}, new double[] {0, 2}, new double[] {1, 3})));
        assertEquals(3.0, GpuBatchForward.unionMillis(List.of(new double[] {0, 3}, new double[] {1, 2})), "nested");
        assertEquals(2.0, GpuBatchForward.unionMillis(List.of(new double[] {0, 1}, new double[] {1, 2})), "touching");
    }

    @Test
    void theUncheckedHalfSplitKernelTakesOnlyWholeTilesOfAlignedShapes() {
        assertEquals(262_144, GpuKernels.halfFullTokens(262_144, 256, 1024, 256, 1024));
        assertEquals(1280, GpuKernels.halfFullTokens(1300, 512, 256, 512, 256), "the partial last tile: checked kernel");
        assertEquals(0, GpuKernels.halfFullTokens(127, 256, 1024, 256, 1024));
        assertEquals(0, GpuKernels.halfFullTokens(1300, 130, 520, 130, 520), "a reduction not of whole k-tiles");
        assertEquals(0, GpuKernels.halfFullTokens(1300, 256, 160, 256, 160), "a partial output tile");
        assertEquals(0, GpuKernels.halfFullTokens(1300, 256, 1024, 258, 1024), "rows not 16-byte aligned");
    }

    @Test
    void halfSplitServesOnlyTheWarpgroupMmaTf32x3PathUnlessSwitchedOff() {
        withProperty(GpuKernels.HALF_SPLIT_PROPERTY, null, () -> {
            assertTrue(GpuKernels.usesHalfSplit(true, GpuPrecision.TF32X3));
            assertFalse(GpuKernels.usesHalfSplit(false, GpuPrecision.TF32X3), "no wgmma (PTX module, or switched off)");
            assertFalse(GpuKernels.usesHalfSplit(true, GpuPrecision.TF32), "plain TF32 keeps its own kernels");
        });
        withProperty(GpuKernels.HALF_SPLIT_PROPERTY, "false",
                () -> assertFalse(GpuKernels.usesHalfSplit(true, GpuPrecision.TF32X3)));
    }

    /** Runs body with a system property set (null: cleared), then puts back what it was. */
    private static void withProperty(String name, String value, Runnable body) {
        String before = System.getProperty(name);
        try {
            if (value == null) {
                System.clearProperty(name);
            } else {
                System.setProperty(name, value);
            }
            body.run();
        } finally {
            if (before == null) {
                System.clearProperty(name);
            } else {
                System.setProperty(name, before);
            }
        }
    }

    @Test
    void aDriverOlderThanTheKernelsToolkitMakesTheDeviceUnusableNamingBoth() {
        // a device with such a driver would fail at module load: the probe says so instead, and auto takes the CPU
        assertNull(GpuDevices.driverProblem(13000));
        assertNull(GpuDevices.driverProblem(13020));
        String why = GpuDevices.driverProblem(12080);
        assertNotNull(why);
        assertTrue(why.contains("CUDA 12.8") && why.contains("CUDA 13.0"), why);
        // the shipped PTX's ISA is the one CUDA 13.0 writes: a rebuild with another toolkit must move the minimum too
        String ptx = new String(GpuContext.resource("mamba.ptx"), StandardCharsets.US_ASCII);
        assertTrue(ptx.contains("\n.version 9.0\n"), "PTX ISA 9.0 (CUDA 13.0): GpuDevices.MIN_DRIVER_VERSION matches");
    }

    @Test
    void warpgroupMmaServesOnlyTf32x3OnTheSm90aModuleUnlessSwitchedOff() {
        withProperty(GpuKernels.WGMMA_PROPERTY, null, () -> {
            assertTrue(GpuKernels.usesWgmma(true, GpuPrecision.TF32X3));
            assertFalse(GpuKernels.usesWgmma(false, GpuPrecision.TF32X3), "PTX module: mma.sync");
            assertFalse(GpuKernels.usesWgmma(true, GpuPrecision.TF32));
            assertFalse(GpuKernels.usesWgmma(true, GpuPrecision.FP32));
        });
        withProperty(GpuKernels.WGMMA_PROPERTY, "false", () -> assertFalse(GpuKernels.usesWgmma(true, GpuPrecision.TF32X3)));
    }

    @Test
    void streamingGemmGridFillsTheDeviceOnceAndNeverExceedsTheTiles() {
        // 132 SMs x 2 blocks, in_proj at hidden 64 (256 outputs = 4 columns): 66 lanes of token tiles
        assertEquals(66, GpuKernels.streamingLanes(1 << 20, 256, 4, 132, 2));
        assertEquals(2, GpuKernels.streamingLanes(300, 256, 4, 132, 2), "2 tiles: one lane each");
        assertEquals(1, GpuKernels.streamingLanes(1, 256, 1, 132, 2));
        assertEquals(1, GpuKernels.streamingLanes(1 << 20, 256, 1000, 132, 2), "more columns than fit: one lane");
    }

    @Test
    void normWeightFoldsIntoInProjColumns() {
        float[] w = {1, 2, 3, 4, 5, 6}; // [2, 3]
        float[] g = {10, 0.5f, -1};
        assertArrayEquals(new float[] {10, 1, -3, 40, 2.5f, -6}, DeviceWeights.scaledColumns(w, g));
    }
}
