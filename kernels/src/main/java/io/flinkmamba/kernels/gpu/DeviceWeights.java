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
 * A model's weights in device memory: one allocation, uploaded once per model per JVM and shared
 * by every {@link GpuBatchForward} of that model (every operator instance of a TaskManager), keyed
 * by {@link MambaModel#fingerprint()} and reference counted; the last {@link #release()} frees it.
 */
final class DeviceWeights {
    private static final Map<String, DeviceWeights> CACHE = new HashMap<>();

    private final String fingerprint;
    private final MambaModel model;
    private final CUdeviceptr base = new CUdeviceptr();
    private final CUdeviceptr splitBase = new CUdeviceptr();
    private final long bytes;
    private long splitBytes;
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
     * A projection matrix [out][in] as float32 ({@code plain}: CUDA-core GEMM, fused-Δ scan, plain TF32) and split
     * for the 3xTF32 tensor-core GEMMs ({@code split}: [2][out][in], TF32 heads then tails, see {@link #tf32Split};
     * null until a 3xTF32 forward of the model acquires the weights).
     */
    record Projection(CUdeviceptr plain, CUdeviceptr split) {
    }

    private DeviceWeights(MambaModel model) {
        this.fingerprint = model.fingerprint();
        this.model = model;
        MambaWeights w = model.weights();
        List<float[]> tensors = new ArrayList<>();
        for (LayerWeights l : w.layers) {
            tensors.addAll(Arrays.asList(l.norm, l.inProj, l.inProjBias, l.convWeight, l.convBias, l.xProj, l.dtProj,
                    l.dtProjBias, l.aNeg, l.d, l.outProj, l.outProjBias, scaledColumns(l.inProj, l.norm)));
        }
        tensors.add(w.normF);
        List<CUdeviceptr> ptrs = new ArrayList<>();
        this.bytes = upload(tensors, base, ptrs);
        layers = new Layer[w.layers.length];
        int i = 0;
        for (int l = 0; l < layers.length; l++) {
            Layer x = new Layer();
            x.norm = ptrs.get(i++);
            x.inProj = new Projection(ptrs.get(i++), null);
            x.inProjBias = ptrs.get(i++);
            x.convWeight = ptrs.get(i++);
            x.convBias = ptrs.get(i++);
            x.xProj = new Projection(ptrs.get(i++), null);
            x.dtProj = new Projection(ptrs.get(i++), null);
            x.dtProjBias = ptrs.get(i++);
            x.aNeg = ptrs.get(i++);
            x.d = ptrs.get(i++);
            x.outProj = new Projection(ptrs.get(i++), null);
            x.outProjBias = ptrs.get(i++);
            x.inProjNormed = new Projection(ptrs.get(i++), null);
            layers[l] = x;
        }
        normF = ptrs.get(i);
    }

    /**
     * Uploads the TF32-split projections (3xTF32 only: twice each projection's size) unless they are resident
     * already; the first 3xTF32 forward of the model calls it under the cache's lock. Until then {@code split} is
     * null, and FP32/TF32 forwards never read it.
     */
    private void ensureSplit() {
        if (splitBytes > 0) {
            return;
        }
        List<float[]> tensors = new ArrayList<>();
        for (LayerWeights l : model.weights().layers) {
            float[] inProjNormed = scaledColumns(l.inProj, l.norm);
            tensors.addAll(Arrays.asList(tf32Split(l.inProj), tf32Split(l.xProj), tf32Split(l.dtProj),
                    tf32Split(l.outProj), tf32Split(inProjNormed)));
        }
        List<CUdeviceptr> ptrs = new ArrayList<>();
        splitBytes = upload(tensors, splitBase, ptrs);
        int i = 0;
        for (Layer x : layers) {
            x.inProj = new Projection(x.inProj.plain(), ptrs.get(i++));
            x.xProj = new Projection(x.xProj.plain(), ptrs.get(i++));
            x.dtProj = new Projection(x.dtProj.plain(), ptrs.get(i++));
            x.outProj = new Projection(x.outProj.plain(), ptrs.get(i++));
            x.inProjNormed = new Projection(x.inProjNormed.plain(), ptrs.get(i++));
        }
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

    /**
     * The device copy of the model's weights, uploading it if this JVM has none, with the TF32-split projections
     * when {@code precision} is 3xTF32; pair with {@link #release()}.
     */
    static DeviceWeights acquire(GpuContext ctx, MambaModel model, GpuPrecision precision) {
        synchronized (CACHE) {
            DeviceWeights w = CACHE.get(model.fingerprint());
            ctx.makeCurrent();
            if (w == null) {
                w = new DeviceWeights(model);
                CACHE.put(model.fingerprint(), w);
            }
            if (precision == GpuPrecision.TF32X3) {
                w.ensureSplit();
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
                if (splitBytes > 0) {
                    JCudaDriver.cuMemFree(splitBase);
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

    long bytes() {
        return bytes + splitBytes;
    }
}
