package io.flinkmamba.kernels.gpu;

import io.flinkmamba.kernels.model.LayerWeights;
import io.flinkmamba.kernels.model.MambaModel;
import io.flinkmamba.kernels.model.MambaWeights;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's weights in device memory, uploaded once per model per JVM and shared by every {@link GpuBatchForward}
 * of that model (every operator instance of a TaskManager), keyed by {@link MambaModel#fingerprint()} and reference
 * counted; the last {@link #release()} frees it. The norms, biases, conv weights, A and D are uploaded at once; each
 * projection in the form a kernel first asks for (see {@link Projection}), so a precision uploads only what its
 * kernels read.
 */
final class DeviceWeights {
    private static final Map<String, DeviceWeights> CACHE = new HashMap<>();

    private final String fingerprint;
    private final CUdeviceptr base = new CUdeviceptr();
    private final long bytes;
    /** The projections' uploads so far (guarded by this). */
    private final List<CUdeviceptr> projectionCopies = new ArrayList<>();
    private long projectionBytes;
    private int references;
    final Layer[] layers;
    final CUdeviceptr normF;

    /**
     * Device pointers of one layer's tensors; null pointer (address 0) for absent biases. {@code inProjNormed}
     * is in_proj · diag(norm weight), for the in_proj GEMM with the RMSNorm fused (GpuKernels.normGemm).
     */
    static final class Layer {
        CUdeviceptr norm, inProjBias, convWeight, convBias, dtProjBias, aNeg, d, outProjBias;
        Projection inProj, xProj, dtProj, outProj, inProjNormed;
    }

    /**
     * A projection matrix [out][in], uploaded in the form a kernel first asks for: {@link #plain()} as float32
     * (CUDA-core GEMM, fused-Δ scan, plain TF32), {@link #split()} as [2][out][in], TF32 heads then tails (the
     * 3xTF32 tensor-core GEMMs, see {@link #tf32Split}), or {@link #half} (the 3xFP16 GEMM on sm_90). FP32 never uploads the split form, 3xTF32 with the norm
     * fused never the plain in_proj: what the kernels read, with no table of it per precision to keep in step. The
     * first call uploads, on the calling thread (its context current: a forward's); later calls only read.
     */
    final class Projection {
        private final java.util.function.Supplier<float[]> host;
        private volatile CUdeviceptr plain, split, half;

        private Projection(java.util.function.Supplier<float[]> host) {
            this.host = host;
        }

        CUdeviceptr plain() {
            CUdeviceptr p = plain;
            return p != null ? p : upload(this, false);
        }

        CUdeviceptr split() {
            CUdeviceptr p = split;
            return p != null ? p : upload(this, true);
        }

        /** The half-split form ({@link HalfSplit}: FP16 heads and tails, then column scales) of W [out][in]. */
        CUdeviceptr half(int out, int in) {
            CUdeviceptr p = half;
            return p != null ? p : uploadHalf(this, out, in);
        }
    }

    private synchronized CUdeviceptr uploadHalf(Projection p, int out, int in) {
        if (p.half == null) {
            HalfSplit h = HalfSplit.of(p.host.get(), out, in);
            CUdeviceptr d = allocProjection(h.deviceBytes());
            JCudaDriver.cuMemcpyHtoD(d, Pointer.to(h.halves), 2L * h.halves.length);
            JCudaDriver.cuMemcpyHtoD(d.withByteOffset(2L * h.halves.length), Pointer.to(h.columnScale),
                    4L * h.columnScale.length);
            p.half = d;
        }
        return p.half;
    }

    private synchronized CUdeviceptr upload(Projection p, boolean split) {
        CUdeviceptr d = split ? p.split : p.plain;
        if (d == null) {
            float[] a = split ? tf32Split(p.host.get()) : p.host.get();
            d = allocProjection(4L * a.length);
            JCudaDriver.cuMemcpyHtoD(d, Pointer.to(a), 4L * a.length);
            if (split) {
                p.split = d;
            } else {
                p.plain = d;
            }
        }
        return d;
    }

    /** Device memory for a projection's form, counted and freed by release() (even if the copy into it fails). */
    private CUdeviceptr allocProjection(long bytes) {
        CUdeviceptr d = new CUdeviceptr();
        JCudaDriver.cuMemAlloc(d, bytes);
        projectionCopies.add(d);
        projectionBytes += bytes;
        return d;
    }

    private DeviceWeights(MambaModel model) {
        this.fingerprint = model.fingerprint();
        MambaWeights w = model.weights();
        List<float[]> tensors = new ArrayList<>();
        for (LayerWeights l : w.layers) {
            tensors.addAll(Arrays.asList(l.norm, l.inProjBias, l.convWeight, l.convBias, l.dtProjBias, l.aNeg, l.d,
                    l.outProjBias));
        }
        tensors.add(w.normF);
        List<CUdeviceptr> ptrs = new ArrayList<>();
        this.bytes = upload(tensors, base, ptrs);
        layers = new Layer[w.layers.length];
        int i = 0;
        for (int l = 0; l < layers.length; l++) {
            LayerWeights lw = w.layers[l];
            Layer x = new Layer();
            x.norm = ptrs.get(i++);
            x.inProjBias = ptrs.get(i++);
            x.convWeight = ptrs.get(i++);
            x.convBias = ptrs.get(i++);
            x.dtProjBias = ptrs.get(i++);
            x.aNeg = ptrs.get(i++);
            x.d = ptrs.get(i++);
            x.outProjBias = ptrs.get(i++);
            x.inProj = new Projection(() -> lw.inProj);
            x.xProj = new Projection(() -> lw.xProj);
            x.dtProj = new Projection(() -> lw.dtProj);
            x.outProj = new Projection(() -> lw.outProj);
            x.inProjNormed = new Projection(() -> scaledColumns(lw.inProj, lw.norm));
            layers[l] = x;
        }
        normF = ptrs.get(i);
    }

    /** One allocation at {@code into} holding the tensors in 256-byte aligned slots; their pointers (0 for null). */
    private static long upload(List<float[]> tensors, CUdeviceptr into, List<CUdeviceptr> ptrs) {
        long total = 0;
        for (float[] a : tensors) {
            total += aligned(a);
        }
        JCudaDriver.cuMemAlloc(into, Math.max(total, 4));
        long off = 0;
        for (float[] a : tensors) {
            if (a == null) {
                ptrs.add(new CUdeviceptr());
                continue;
            }
            CUdeviceptr p = into.withByteOffset(off);
            JCudaDriver.cuMemcpyHtoD(p, Pointer.to(a), 4L * a.length);
            ptrs.add(p);
            off += aligned(a);
        }
        return total;
    }

    /**
     * w as the tensor-core GEMMs take it: the TF32 head of every value (rounded to 10 mantissa bits, as a float)
     * and then its tail (w - head, truncated to TF32), so head + tail carries w to about 2^-21, and the kernels
     * need not split each W fragment in every warp. Bit for bit what mamba.cu's tf32_head/tf32_tail give.
     */
    static float[] tf32Split(float[] w) {
        float[] out = new float[2 * w.length];
        for (int i = 0; i < w.length; i++) {
            int head = (Float.floatToRawIntBits(w[i]) + 0x1000) & 0xffffe000;
            out[i] = Float.intBitsToFloat(head);
            out[w.length + i] = Float.intBitsToFloat(Float.floatToRawIntBits(w[i] - out[i]) & 0xffffe000);
        }
        return out;
    }

    /** w · diag(g): row-major w [rows, g.length] with column k scaled by g[k]. */
    static float[] scaledColumns(float[] w, float[] g) {
        float[] out = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            out[i] = w[i] * g[i % g.length];
        }
        return out;
    }

    /** 256-byte aligned slots, as cudaMalloc would give each tensor. */
    private static long aligned(float[] a) {
        return a == null ? 0 : (4L * a.length + 255) / 256 * 256;
    }

    /** The device copy of the model's weights, uploading it if this JVM has none; pair with {@link #release()}. */
    static DeviceWeights acquire(GpuContext ctx, MambaModel model) {
        synchronized (CACHE) {
            DeviceWeights w = CACHE.get(model.fingerprint());
            if (w == null) {
                ctx.makeCurrent();
                w = new DeviceWeights(model);
                CACHE.put(model.fingerprint(), w);
            }
            w.references++;
            return w;
        }
    }

    void release() {
        synchronized (CACHE) {
            if (--references == 0) {
                CACHE.remove(fingerprint);
                GpuContext.get().makeCurrent();
                JCudaDriver.cuMemFree(base);
                synchronized (this) {
                    for (CUdeviceptr p : projectionCopies) {
                        JCudaDriver.cuMemFree(p);
                    }
                    projectionCopies.clear();
                }
            }
        }
    }

    /** Models currently resident (for tests and metrics). */
    static int residentModels() {
        synchronized (CACHE) {
            return CACHE.size();
        }
    }

    /** Device bytes of the projections' forms uploaded so far. */
    synchronized long projectionBytes() {
        return projectionBytes;
    }

    /** Device bytes held: the tensors uploaded at once, and the projections' forms uploaded so far. */
    synchronized long bytes() {
        return bytes + projectionBytes;
    }
}
