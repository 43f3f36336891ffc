package io.flinkmamba.kernels.gpu;

import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaBatch;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.List;

/**
 * The parallel mode on a CUDA device. The batch is cut into chunks of consecutive sequences
 * ({@link ChunkPlan}) that alternate between two slots, each with its own stream, page-locked
 * staging buffer and device buffers: while the device runs one chunk, the calling thread copies the
 * previous chunk's results out of and the next chunk's inputs into page-locked memory. A chunk
 * travels as three contiguous copies (offsets, token rows, states), never one per sequence.
 *
 * <p>Per layer on the device: rmsnorm → in_proj GEMM (one kernel with the norm folded in, on the tensor
 * cores; see {@code GpuKernels.normGemm}; its epilogue stores SiLU(z) for the z half, {@code GEMM_MODE_GATE}) →
 * conv+SiLU (carrying each sequence's window in its state) → x_proj GEMM → fused selective scan with dt_proj +
 * softplus, D skip and the gate (state in registers; Δ computed in the scan from x_proj's δ columns for
 * time_step_rank <= 16 and the register-resident state sizes (see {@code GpuKernels.fusesDt}), else a dt_proj GEMM
 * first) → out_proj
 * GEMM accumulated into the residual; then norm_f (at hidden <= 64 on the tensor cores, in the last out_proj's
 * epilogue: {@code GpuKernels.residualNormGemm}).
 * Projections with a reduction of 32 or more run on the tensor cores as 3xTF32 (each product from three
 * TF32 products of split operands; on sm_90, in_proj and out_proj from 128 x 128 as 3xFP16 of operands scaled per row
 * by powers of two, {@code GpuKernels.halfSplits}, after a row-scale pass into each slot's {@code rowScales}; in_proj
 * on whole tiles from x split beforehand into {@code h}, {@code GpuKernels.splitsFirst}), the rest
 * on the CUDA cores in float32: results match {@code CpuParallelForward} within 1e-5 relative L2. {@code -Dflinkmamba.gpu.gemm=fp32} keeps every
 * projection on the CUDA cores; {@code tf32} trades accuracy (1e-3 relative L2, tested) for speed
 * ({@link GpuPrecision}: per instance, or the JVM property).
 *
 * <p>Any CUDA error throws {@link GpuForwardException}: the caller (a Flink task) fails and restarts
 * from its checkpoint; the batch's outputs and states are then undefined. One instance per thread.
 */
public final class GpuBatchForward implements BatchForward {
    /**
     * Device bytes per slot for the chunk buffers, an upper bound (the buffers grow to the largest chunk a batch
     * needs); system property to override the default, {@link #defaultChunkBytes}.
     */
    public static final String CHUNK_BYTES_PROPERTY = "flinkmamba.gpu.chunkBytes";
    /** The largest default chunk budget a slot. */
    static final long MAX_DEFAULT_CHUNK_BYTES = 1L << 30;
    /**
     * The most bytes of states a chunk takes, whatever the chunk budget: with the token rows (under half the budget,
     * as a token's buffers hold more than twice its input row) the page-locked staging stays under 2 GiB for budgets
     * up to 2 GiB (the default's cap left the states the whole budget, so a larger budget set by the property could
     * overflow it).
     */
    static final long MAX_CHUNK_STATE_BYTES = 1008L << 20;
    /** The smallest default chunk budget a slot. */
    static final long MIN_DEFAULT_CHUNK_BYTES = 128L << 20;
    private static final long ALIGN = 256;
    /**
     * System property: {@code false} leaves a chunk's token cap as the budget gives it instead of rounding it down to
     * whole waves ({@link #wholeWaveTokens}; comparisons, default true).
     */
    static final String WHOLE_WAVES_PROPERTY = "flinkmamba.gpu.wholeWaveChunks";
    /** The projections' token tile: a wave of the persistent GEMMs is this many tokens a multiprocessor. */
    private static final int WAVE_TOKENS_PER_SM = 128;

    private final MambaConfig c;
    private final GpuContext ctx;
    private final DeviceWeights weights;
    final GpuKernels kernels;   // package-private: tests check which projection kernels serve
    /** Δ computed inside the scan (no dt_proj GEMM, no Δ buffer: the chunk buffers leave it out). */
    private final boolean fuseDt;
    /** The final RMSNorm in the last out_proj's epilogue (hidden <= 64 on the tensor cores; GpuKernels.fusesFinalNorm). */
    private final boolean fuseFinalNorm;
    private final int maxTokens;
    private final int maxSeqs;
    private final Slot[] slots = new Slot[2];
    private boolean closed;
    /** When set (benchmarks), device time of each chunk's kernels (first to last) is measured into kernelMillis. */
    boolean profileKernels;
    /**
     * With profileKernels, device time of the forwards' kernels so far: {@code kernelMillis} the union of the chunks'
     * kernel intervals (the time the device had kernels of them in flight: two slots' chunks may overlap, and then
     * both intervals hold the shared time), {@code kernelMillisSummed} their plain sum.
     */
    double kernelMillis, kernelMillisSummed;
    /** With profileKernels: recorded before a forward's first chunk; the chunks' kernel intervals, ms after it. */
    private final CUevent epoch = new CUevent();
    private final List<double[]> kernelIntervals = new java.util.ArrayList<>();
    /** When profiling: host time spent copying between the batch's arrays and page-locked memory. */
    double hostCopyMillis;

    /** The model's device weights this forward shares (tests). */
    DeviceWeights weights() {
        return weights;
    }

    /** With the precision of {@link GpuPrecision#fromSystemProperty()}. */
    public GpuBatchForward(MambaModel model) {
        this(model, GpuPrecision.fromSystemProperty());
    }

    public GpuBatchForward(MambaModel model, GpuPrecision precision) {
        this(model, Long.getLong(CHUNK_BYTES_PROPERTY, 0L), precision);
    }

    /**
     * The chunk budget a slot gets by default: a 32nd of the device's memory, between 128 MiB and 1 GiB. It bounds the
     * slot's token buffers and, separately, its state buffers (those at most {@link #MAX_CHUNK_STATE_BYTES}), so a
     * forward (two slots) holds at most an 8th. Device time per event falls with larger chunks (each kernel's last
     * wave is paid per chunk), time host to host rises (fewer chunks overlap their copies less). Measured on H200
     * (docs/benchmarks.md): 1 GiB against 512 MiB gave 162 vs 152 M events/s at 100,000 x 16 tokens, hidden 64, and 169
     * vs 154 at 100,000 x 64 (seventh session). 2 GiB against 1 GiB (tenth session, call 6): 6-12% more events/s on the
     * device at hidden 256, 4-5% at hidden 64, but host to host 11-12% slower at three of four shapes: a workload bound by the
     * device (several subtasks on one GPU) may set {@value #CHUNK_BYTES_PROPERTY} to 2 GiB.
     */
    static long defaultChunkBytes(long deviceBytes) {
        return Math.max(MIN_DEFAULT_CHUNK_BYTES, Math.min(MAX_DEFAULT_CHUNK_BYTES, deviceBytes / 32));
    }

    /**
     * With a per-slot budget of device bytes for the chunk buffers (small values force many chunks: tests; 0 or less:
     * {@link #defaultChunkBytes} of the device).
     */
    public GpuBatchForward(MambaModel model, long chunkBytes) {
        this(model, chunkBytes, GpuPrecision.fromSystemProperty()); // a bad property fails before any upload
    }

    private GpuBatchForward(MambaModel model, long chunkBytes, GpuPrecision gemmMode) {
        java.util.Objects.requireNonNull(gemmMode, "precision");
        this.c = model.config();
        this.ctx = GpuContext.get();
        DeviceWeights taken = null;
        try {
            ctx.makeCurrent();
            this.kernels = new GpuKernels(ctx, c.stateSize(), null, gemmMode);
            if (chunkBytes <= 0) {
                chunkBytes = defaultChunkBytes(ctx.memoryBytes);
            }
            this.fuseDt = kernels.fusesDt(c.timeStepRank());
            this.fuseFinalNorm = kernels.fusesFinalNorm(c.intermediateSize(), c.hiddenSize());
            // a budget too large fails here, not in the first large flush, and before the weights are taken
            checkStaging(c, chunkBytes, !fuseDt);
            taken = DeviceWeights.acquire(ctx, model);
            this.weights = taken;
            int cap = chunkTokens(c, chunkBytes, !fuseDt);
            this.maxTokens = "false".equals(System.getProperty(WHOLE_WAVES_PROPERTY)) ? cap
                    : wholeWaveTokens(cap, ctx.multiprocessors);
            this.maxSeqs = chunkSeqs(c, chunkBytes);
            for (int i = 0; i < slots.length; i++) {
                slots[i] = new Slot();
            }
            Runnable fault = setupFault;
            if (fault != null) {
                fault.run();
            }
            JCudaDriver.cuEventCreate(epoch, 0);
        } catch (RuntimeException e) {
            // what was taken goes back: a task restarted into the same failure must not pile up device weights
            undoSetup(taken);
            if (e instanceof CudaException) {
                throw new GpuForwardException("cannot set up the GPU forward on " + ctx.name + ": " + e.getMessage(), e);
            }
            throw e;
        }
    }

    /** Tests only: run after the slots are created in the constructor (a CUDA failure there, injected). */
    static volatile Runnable setupFault;

    /** After a failed constructor: destroys the slots made and releases the weights reference, if taken. */
    private void undoSetup(DeviceWeights taken) {
        for (Slot s : slots) {
            if (s != null) {
                quietly(s::destroy);
            }
        }
        if (taken != null) {
            quietly(taken::release);
        }
    }

    /** Runs a clean-up step whose own CUDA error must not hide the failure being handled. */
    private static void quietly(Runnable step) {
        try {
            step.run();
        } catch (RuntimeException ignored) {
            // the first failure is the one thrown
        }
    }

    /** Most tokens a chunk takes under a slot's budget of device bytes. */
    static int chunkTokens(MambaConfig c, long chunkBytes, boolean deltaBuffer) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE / 4, chunkBytes / tokenBytes(c, deltaBuffer)));
    }

    /**
     * A chunk's token cap rounded down to a multiple of the device's multiprocessors x 128 tokens where it holds one:
     * each kernel's last wave is paid per chunk, and a chunk of whole waves ends x_proj's lanes (two a multiprocessor),
     * out_proj's and, with sequences of a power of two up to 128 tokens, the scan's blocks (one a multiprocessor and
     * channel tile) on full rounds. Measured on H200 (docs/benchmarks.md, eleventh session): at hidden 256, 1 GiB, the
     * cap goes from 102,848 tokens (x_proj 4 rounds a chunk where 3.05 would do, the scan 13 where 12.2) to 101,376.
     */
    static int wholeWaveTokens(int cap, int multiprocessors) {
        int wave = multiprocessors * WAVE_TOKENS_PER_SM;
        return cap >= wave ? cap / wave * wave : cap;
    }

    /** Most sequences a chunk takes: their states within the budget and {@link #MAX_CHUNK_STATE_BYTES}. */
    static int chunkSeqs(MambaConfig c, long chunkBytes) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE / 4,
                Math.min(chunkBytes, MAX_CHUNK_STATE_BYTES) / (4L * c.stateFloats() + 4)));
    }

    /**
     * Fails when a full chunk under this budget would need more page-locked staging than a ByteBuffer holds (2 GiB),
     * naming the property and the largest budget that fits this model.
     */
    static void checkStaging(MambaConfig c, long chunkBytes, boolean deltaBuffer) {
        long staging = stagingBytes(c, chunkTokens(c, chunkBytes, deltaBuffer), chunkSeqs(c, chunkBytes));
        if (staging > Integer.MAX_VALUE) {
            long fits = chunkBytes;
            while (fits > MIN_DEFAULT_CHUNK_BYTES
                    && stagingBytes(c, chunkTokens(c, fits, deltaBuffer), chunkSeqs(c, fits)) > Integer.MAX_VALUE) {
                fits = fits / 8 * 7;
            }
            throw new IllegalArgumentException("-D" + CHUNK_BYTES_PROPERTY + "=" + chunkBytes + " is too large for this "
                    + "model: a full chunk would stage " + staging + " bytes in page-locked memory, more than 2 GiB; "
                    + "about " + (fits >> 20) + " MiB or less fits");
        }
    }

    /** Page-locked staging bytes of a slot for these capacities: [offsets ints][token rows][states]. */
    static long stagingBytes(MambaConfig c, long tokens, long seqs) {
        return stagingStatesAt(c, tokens, seqs) + 4L * seqs * c.stateFloats();
    }

    /** Where the token rows start in a slot's staging: after the offsets, 256-byte aligned. */
    private static long stagingRowsAt(long seqs) {
        return align(4L * (seqs + 1));
    }

    /** Where the states start in a slot's staging: after the token rows, 256-byte aligned. */
    private static long stagingStatesAt(MambaConfig c, long tokens, long seqs) {
        return stagingRowsAt(seqs) + align(4L * tokens * c.hiddenSize());
    }

    /**
     * Device bytes one token needs across the chunk buffers: x, h [D]; xz [2E]; u, y [E]; bc [R+2N]; the row scales
     * [2]; and Δ [E] unless dt_proj is fused into the scan.
     */
    static long tokenBytes(MambaConfig c, boolean deltaBuffer) {
        return 4L * (2L * c.hiddenSize() + (deltaBuffer ? 5L : 4L) * c.intermediateSize() + c.xProjRows() + 2);
    }

    /** The length of the union of intervals {from, to}. */
    static double unionMillis(List<double[]> intervals) {
        List<double[]> sorted = new java.util.ArrayList<>(intervals);
        sorted.sort(java.util.Comparator.comparingDouble(iv -> iv[0]));
        double total = 0, from = 0, to = 0;   // the run of overlapping intervals being merged (empty at first)
        for (double[] iv : sorted) {
            if (iv[0] > to) {
                total += to - from;
                from = iv[0];
                to = iv[1];
            } else {
                to = Math.max(to, iv[1]);
            }
        }
        return total + to - from;
    }

    @Override
    public String device() {
        return ctx.name;
    }

    @Override
    public void forward(MambaBatch batch) {
        if (closed) {
            throw new IllegalStateException("GpuBatchForward is closed");
        }
        if (batch.hiddenSize() != c.hiddenSize() || batch.stateFloats() != c.stateFloats()) {
            throw new IllegalArgumentException("batch was built for another model shape");
        }
        if (batch.hasSharedStates()) {
            throw new IllegalArgumentException("the GPU forward copies states from the batch: add sequences with "
                    + "addSequence, not addSequenceSharingState (sharesStates() is false)");
        }
        if (batch.size() == 0) {
            return;
        }
        try {
            ctx.makeCurrent();
            List<ChunkPlan.Chunk> chunks = ChunkPlan.plan(batch, maxTokens, maxSeqs);
            if (profileKernels) {
                kernelIntervals.clear();
                JCudaDriver.cuEventRecord(epoch, slots[0].stream);
            }
            for (int i = 0; i < chunks.size(); i++) {
                Slot slot = slots[i % slots.length];
                slot.finish(batch);
                slot.submit(batch, chunks.get(i));
            }
            for (Slot slot : slots) {
                slot.finish(batch);
            }
            if (profileKernels) {
                kernelMillis += unionMillis(kernelIntervals);
            }
        } catch (CudaException e) {
            for (Slot slot : slots) {
                slot.pending = null;
            }
            throw new GpuForwardException("CUDA error during a forward on " + ctx.name + " ("
                    + batch.size() + " sequences, " + batch.totalTokens() + " tokens): " + e.getMessage(), e);
        }
    }

    /** One stream with its page-locked staging memory and device buffers, sized for one chunk. */
    private final class Slot {
        final CUstream stream = new CUstream();
        final CUdeviceptr dev = new CUdeviceptr();
        final Pointer host = new Pointer();
        int tokenCap = -1;
        int seqCap = -1;
        long hostBytes;
        FloatBuffer hostFloats;
        IntBuffer hostInts;
        CUdeviceptr x, h, xz, u, bc, dt, y, states, offsets, rowScales;
        long hostRowsAt, hostStatesAt;
        ChunkPlan.Chunk pending;
        final CUevent kernelsStart = new CUevent();
        final CUevent kernelsEnd = new CUevent();

        Slot() {
            JCudaDriver.cuStreamCreate(stream, 0);
            try {
                JCudaDriver.cuEventCreate(kernelsStart, 0);
                try {
                    JCudaDriver.cuEventCreate(kernelsEnd, 0);
                } catch (RuntimeException e) {
                    quietly(() -> JCudaDriver.cuEventDestroy(kernelsStart));
                    throw e;
                }
            } catch (RuntimeException e) {
                quietly(() -> JCudaDriver.cuStreamDestroy(stream));
                throw e;
            }
        }

        void ensure(int tokens, int seqs) {
            if (tokens <= tokenCap && seqs <= seqCap) {
                return;
            }
            JCudaDriver.cuStreamSynchronize(stream);
            free();
            tokenCap = Math.max(tokens, Math.min(maxTokens, Math.max(tokenCap, 1) * 2));
            seqCap = Math.max(seqs, Math.min(maxSeqs, Math.max(seqCap, 1) * 2));
            int d = c.hiddenSize(), e = c.intermediateSize();
            long t = tokenCap;
            // x, h, xz, u, bc, Δ (none when fused: dt then aliases y and is never used), y, states, offsets, and the
            // 3xFP16 GEMM's row scales (2 floats a token)
            long[] sizes = {t * d, t * d, t * 2 * e, t * e, t * c.xProjRows(), fuseDt ? 0 : t * e, t * e,
                    (long) seqCap * c.stateFloats(), seqCap + 1L, 2 * t};
            long total = 0;
            long[] at = new long[sizes.length];
            for (int i = 0; i < sizes.length; i++) {
                at[i] = total;
                total += align(4 * sizes[i]);
            }
            JCudaDriver.cuMemAlloc(dev, total);
            x = dev.withByteOffset(at[0]);
            h = dev.withByteOffset(at[1]);
            xz = dev.withByteOffset(at[2]);
            u = dev.withByteOffset(at[3]);
            bc = dev.withByteOffset(at[4]);
            dt = dev.withByteOffset(at[5]);
            y = dev.withByteOffset(at[6]);
            states = dev.withByteOffset(at[7]);
            offsets = dev.withByteOffset(at[8]);
            rowScales = dev.withByteOffset(at[9]);
            // page-locked staging: [offsets ints][token rows (inputs, then outputs)][states]
            hostRowsAt = stagingRowsAt(seqCap);
            hostStatesAt = stagingStatesAt(c, t, seqCap);
            hostBytes = stagingBytes(c, t, seqCap);
            if (hostBytes > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("a chunk needs " + hostBytes + " staging bytes: lower "
                        + CHUNK_BYTES_PROPERTY);
            }
            JCudaDriver.cuMemAllocHost(host, hostBytes);
            java.nio.ByteBuffer buf = host.getByteBuffer(0, hostBytes).order(ByteOrder.nativeOrder());
            hostFloats = buf.asFloatBuffer();
            hostInts = buf.asIntBuffer();
        }

        /** Stages the chunk's inputs and enqueues copies and kernels; returns without waiting. */
        void submit(MambaBatch b, ChunkPlan.Chunk ch) {
            int seqs = ch.seqs(), tokens = ch.tokens();
            int d = c.hiddenSize(), e = c.intermediateSize(), sf = c.stateFloats();
            // in_proj and out_proj run over whole token tiles where the 3xFP16 kernel takes them: the rows past the
            // chunk's tokens are zeroed below and their outputs never read (each output row depends on its input row
            // alone), and a second, checked launch for a partial last tile is saved (a full wave for one tile row)
            int rows = kernels.projectionRows(tokens, d, e);
            ensure(rows, seqs);
            int r = c.timeStepRank(), xr = c.xProjRows(), k = c.convKernel();
            long c0 = profileKernels ? System.nanoTime() : 0;
            hostInts.put(0, b.offsets(), ch.first(), seqs + 1);
            HostCopies.put(hostFloats, (int) (hostRowsAt / 4), b.inputs(), ch.tokenStart() * d, tokens * d);
            HostCopies.put(hostFloats, (int) (hostStatesAt / 4), b.states(), ch.first() * sf, seqs * sf);
            if (profileKernels) {
                hostCopyMillis += (System.nanoTime() - c0) / 1e6;
            }
            if (tokens == 0) {
                pending = ch; // only empty sequences: the staged states go back unchanged, no device work
                return;
            }
            JCudaDriver.cuMemcpyHtoDAsync(offsets, host, 4L * (seqs + 1), stream);
            JCudaDriver.cuMemcpyHtoDAsync(states, host.withByteOffset(hostStatesAt), 4L * seqs * sf, stream);
            JCudaDriver.cuMemcpyHtoDAsync(x, host.withByteOffset(hostRowsAt), 4L * tokens * d, stream);
            if (rows > tokens) { // the padding rows of in_proj's and out_proj's inputs: zeros, so all stays finite
                JCudaDriver.cuMemsetD32Async(x.withByteOffset(4L * tokens * d), 0, (long) (rows - tokens) * d, stream);
                JCudaDriver.cuMemsetD32Async(y.withByteOffset(4L * tokens * e), 0, (long) (rows - tokens) * e, stream);
            }
            JCudaDriver.cuEventRecord(kernelsStart, stream);
            for (int l = 0; l < c.numLayers(); l++) {
                DeviceWeights.Layer w = weights.layers[l];
                if (kernels.fusesNorm(d)) { // h (rows x d floats) is free here: the planes of x split beforehand
                    kernels.normGemm(x, d, rows, d, w.inProjNormed, 2 * e, w.inProjBias, xz, 2 * e,
                            c.layerNormEpsilon(), stream, rowScales, h);
                } else {
                    kernels.rmsnorm(x, w.norm, h, rows, d, c.layerNormEpsilon(), stream);
                    kernels.gemm(h, d, rows, d, w.inProj, 2 * e, w.inProjBias, xz, 2 * e,
                            GpuKernels.GEMM_MODE_GATE, stream, rowScales);
                }
                kernels.convSilu(xz, 2 * e, offsets, seqs, states, sf, c.convStateOffset(l), w.convWeight,
                        w.convBias, u, e, k, stream);
                kernels.gemm(u, e, tokens, e, w.xProj, xr, new CUdeviceptr(), bc, xr,
                        GpuKernels.GEMM_MODE_STORE, stream);
                if (fuseDt) {
                    kernels.scanFusedDt(u, w.dtProj.plain(), w.dtProjBias, bc, xr, r, xz, 2 * e, offsets, seqs, tokens, states, sf,
                            c.ssmStateOffset(l), w.aNeg, w.d, y, e, stream);
                } else {
                    kernels.gemm(bc, xr, tokens, r, w.dtProj, e, w.dtProjBias, dt, e,
                            GpuKernels.GEMM_MODE_SOFTPLUS, stream);
                    kernels.scan(u, dt, bc, xr, r, xz, 2 * e, offsets, seqs, states, sf, c.ssmStateOffset(l),
                            w.aNeg, w.d, y, e, stream);
                }
                if (fuseFinalNorm && l == c.numLayers() - 1) {
                    kernels.residualNormGemm(y, e, tokens, e, w.outProj, d, w.outProjBias, x, d, weights.normF, h,
                            c.layerNormEpsilon(), stream);
                } else {
                    kernels.gemm(y, e, rows, e, w.outProj, d, w.outProjBias, x, d,
                            GpuKernels.GEMM_MODE_ACCUMULATE, stream, rowScales);
                }
            }
            if (!fuseFinalNorm) {
                kernels.rmsnorm(x, weights.normF, h, tokens, d, c.layerNormEpsilon(), stream);
            }
            JCudaDriver.cuEventRecord(kernelsEnd, stream);
            JCudaDriver.cuMemcpyDtoHAsync(host.withByteOffset(hostRowsAt), h, 4L * tokens * d, stream);
            JCudaDriver.cuMemcpyDtoHAsync(host.withByteOffset(hostStatesAt), states, 4L * seqs * sf, stream);
            pending = ch;
        }

        /** Waits for the slot's chunk, if any, and copies its outputs and final states into the batch. */
        void finish(MambaBatch b) {
            if (pending == null) {
                return;
            }
            JCudaDriver.cuStreamSynchronize(stream);
            ChunkPlan.Chunk ch = pending;
            pending = null;
            if (profileKernels && ch.tokens() > 0) {
                float[] from = new float[1], to = new float[1];
                JCudaDriver.cuEventElapsedTime(from, epoch, kernelsStart);
                JCudaDriver.cuEventElapsedTime(to, epoch, kernelsEnd);
                kernelIntervals.add(new double[] {from[0], to[0]});
                kernelMillisSummed += to[0] - from[0];
            }
            int d = c.hiddenSize(), sf = c.stateFloats();
            long c0 = profileKernels ? System.nanoTime() : 0;
            HostCopies.get(hostFloats, (int) (hostRowsAt / 4), b.outputs(), ch.tokenStart() * d, ch.tokens() * d);
            HostCopies.get(hostFloats, (int) (hostStatesAt / 4), b.states(), ch.first() * sf, ch.seqs() * sf);
            if (profileKernels) {
                hostCopyMillis += (System.nanoTime() - c0) / 1e6;
            }
        }

        void free() {
            if (tokenCap >= 0) {
                JCudaDriver.cuMemFree(dev);
                JCudaDriver.cuMemFreeHost(host);
                tokenCap = -1;
                seqCap = -1;
            }
        }

        void destroy() {
            JCudaDriver.cuStreamSynchronize(stream);
            free();
            JCudaDriver.cuEventDestroy(kernelsStart);
            JCudaDriver.cuEventDestroy(kernelsEnd);
            JCudaDriver.cuStreamDestroy(stream);
        }
    }

    private static long align(long bytes) {
        return (bytes + ALIGN - 1) / ALIGN * ALIGN;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        ctx.makeCurrent();
        try {
            for (Slot s : slots) {
                if (s != null) {
                    s.destroy();
                }
            }
            JCudaDriver.cuEventDestroy(epoch);
        } finally {
            weights.release();
        }
    }
}
