package io.flinkmamba.kernels.gpu;

import io.flinkmamba.kernels.testing.Assertions2;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

import java.util.Random;

import static io.flinkmamba.kernels.gpu.GpuKernels.ints;

/**
 * The wgmma 3xTF32 projection prototypes ({@code kernels/src/test/cuda/wgmma_proto.cu}, not shipped) and the shipped
 * gemm_wg_tf32x3_s64 against the shipped mma.sync kernel gemm_tf32x3_s64 on the same device buffers: agreement
 * (relative L2, and the prototypes' largest difference over the largest output) and times, at four projection shapes.
 * Run on the GPU machine: {@code java ... io.flinkmamba.kernels.gpu.WgmmaProtoBench [kernel names] [first]}. Needs an
 * sm_90 device.
 */
public final class WgmmaProtoBench {
    private WgmmaProtoBench() {
    }

    public static void main(String[] args) {
        CUmodule module = loadPrototypes();
        GpuContext ctx = GpuContext.get();
        // name, output tile, stages, token tile (wgmma_proto.cu's instantiations: 64 tokens a warpgroup of 128 threads)
        Object[][] all = {{"gemm_wgp_n64_s3", 64, 3, 128},
            {"gemm_wgp_n64_s3_g2", 64, 3, 128}, {"gemm_wgp_n64_s3_g1", 64, 3, 128}, {"gemm_wgp_n64_s4", 64, 4, 128},
            {"gemm_wgp_n128_s3", 128, 3, 128}, {"gemm_wgp_n128_s3_g2", 128, 3, 128}, {"gemm_wgp_n128_s4", 128, 4, 128},
            {"gemm_wgp_m256_n128_s3_g1", 128, 3, 256}, {"gemm_wgp_m256_n64_s4_g2", 64, 4, 256},
            {"gemm_wgp_n64_s3_g1_sw", 64, 3, 128}, {"gemm_wgp_n128_s3_g2_sw", 128, 3, 128},
            {"gemm_wgp_m256_n128_s3_g1_sw", 128, 3, 256}, {"gemm_wgp_m256_n64_s4_g2_sw", 64, 4, 256}};
        // arguments: kernel names to run (all when none); "first": only the first shape
        java.util.List<String> names = new java.util.ArrayList<>(java.util.List.of(args));
        boolean firstOnly = names.remove("first");
        Object[][] kernels = java.util.Arrays.stream(all).filter(k -> names.isEmpty() || names.contains((String) k[0]))
                .toArray(Object[][]::new);
        CUfunction[] protos = new CUfunction[kernels.length];
        int[] smems = new int[kernels.length], perSms = new int[kernels.length];
        for (int i = 0; i < kernels.length; i++) {
            protos[i] = new CUfunction();
            JCudaDriver.cuModuleGetFunction(protos[i], module, (String) kernels[i][0]);
            int bm = (int) kernels[i][3];
            smems[i] = (int) kernels[i][2] * (bm * 36 + 2 * (int) kernels[i][1] * 32) * 4;
            JCudaDriver.cuFuncSetAttribute(protos[i], CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    smems[i]);
            int[] perSm = new int[1];
            JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(perSm, protos[i], 2 * bm, smems[i]);
            perSms[i] = Math.max(1, perSm[0]);
            System.out.println(kernels[i][0] + ": " + perSm[0] + " blocks of " + 2 * bm + " threads per SM, " + smems[i] + " bytes");
        }
        CUfunction shipped = ctx.function("gemm_tf32x3_s64");
        GpuKernels.StreamingShape shape = GpuKernels.streamingShape("gemm_tf32x3_s64");
        int[] shippedPerSm = new int[1];
        JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(shippedPerSm, shipped, shape.threads(), shape.smemBytes());
        // tokens, in, out: in_proj and out_proj at hidden 256 and at hidden 64
        int[][] shapes = {{262_144, 256, 1024}, {262_144, 512, 256}, {1_048_576, 64, 256}, {1_048_576, 128, 64}};
        for (int[] s : firstOnly ? new int[][] {shapes[0]} : shapes) {
            int tokens = s[0], in = s[1], out = s[2];
            CUdeviceptr x = alloc((long) tokens * in), w = alloc(2L * out * in), bias = alloc(out);
            CUdeviceptr yRef = alloc((long) tokens * out), y = alloc((long) tokens * out);
            fill(x, (long) tokens * in, 7);
            Random rnd = new Random(out + in);
            float[] wh = new float[out * in], b = new float[out];
            for (int i = 0; i < wh.length; i++) {
                wh[i] = (float) rnd.nextGaussian() / (float) Math.sqrt(in);
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) rnd.nextGaussian() * 0.1f;
            }
            JCudaDriver.cuMemcpyHtoD(w, Pointer.to(DeviceWeights.tf32Split(wh)), 8L * out * in);
            JCudaDriver.cuMemcpyHtoD(bias, Pointer.to(b), 4L * out);
            int columns = out / 64;
            int lanes = GpuKernels.streamingLanes(tokens, shape.tokenTile(), columns, ctx.multiprocessors, shippedPerSm[0]);
            Pointer refArgs = Pointer.to(Pointer.to(x), ints(in), ints(tokens), ints(in), Pointer.to(w), ints(out),
                    Pointer.to(bias), Pointer.to(yRef), ints(out), ints(0), Pointer.to(new float[] {0f}),
                    Pointer.to(new CUdeviceptr()), Pointer.to(new CUdeviceptr()));
            double refMs = GpuBench.bestOfFive(null, () -> JCudaDriver.cuLaunchKernel(shipped, lanes, columns, 1, shape.threads(), 1, 1,
                    shape.smemBytes(), null, refArgs, null));
            float[] ref = sample(yRef, (long) tokens * out);
            if (ctx.warpgroupMma) { // the shipped warpgroup-MMA kernel (mamba.cu's gemm_wg_impl) on the same buffers
                CUfunction wg = ctx.function("gemm_wg_tf32x3_s64");
                GpuKernels.StreamingShape wgShape = GpuKernels.streamingShape("gemm_wg_tf32x3_s64");
                JCudaDriver.cuFuncSetAttribute(wg, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                        wgShape.smemBytes());
                int[] wgPerSm = new int[1];
                JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(wgPerSm, wg, wgShape.threads(), wgShape.smemBytes());
                int wgLanes = GpuKernels.streamingLanes(tokens, wgShape.tokenTile(), columns, ctx.multiprocessors, wgPerSm[0]);
                JCudaDriver.cuMemsetD32(y, 0, (long) tokens * out);
                Pointer wgArgs = Pointer.to(Pointer.to(x), ints(in), ints(tokens), ints(in), Pointer.to(w), ints(out),
                        Pointer.to(bias), Pointer.to(y), ints(out), ints(0), Pointer.to(new float[] {0f}),
                        Pointer.to(new CUdeviceptr()), Pointer.to(new CUdeviceptr()));
                double wgMs = GpuBench.bestOfFive(null, () -> JCudaDriver.cuLaunchKernel(wg, wgLanes, columns, 1,
                        wgShape.threads(), 1, 1, wgShape.smemBytes(), null, wgArgs, null));
                System.out.printf("tokens %d in %d out %d | shipped mma.sync %.3f ms | shipped gemm_wg_tf32x3_s64 (%d blocks"
                        + " per SM) %.3f ms, %.2fx | rel L2 %.2e%n", tokens, in, out, refMs, wgPerSm[0], wgMs, refMs / wgMs,
                        Assertions2.relL2(sample(y, (long) tokens * out), ref));
            }
            for (int kIdx = 0; kIdx < kernels.length; kIdx++) {
                int bn = (int) kernels[kIdx][1], bm = (int) kernels[kIdx][3];
                if (out % bn != 0) {
                    continue;
                }
                int cols = out / bn, smem = smems[kIdx];
                int protoLanes = Math.max(1, Math.min(tokens / bm, ctx.multiprocessors * perSms[kIdx] / cols));
                CUfunction proto = protos[kIdx];
                // lbo 128: the next core matrix along k; sbo 8 x 128 bytes: along n (call 11: the other reading is wrong)
                int[] offs = {128, 1024};
                JCudaDriver.cuMemsetD32(y, 0, (long) tokens * out);
                Pointer args2 = Pointer.to(Pointer.to(x), ints(in), ints(tokens), ints(in), Pointer.to(w), ints(out),
                        Pointer.to(bias), Pointer.to(y), ints(out), ints(offs[0]), ints(offs[1]));
                double ms = GpuBench.bestOfFive(null, () -> JCudaDriver.cuLaunchKernel(proto, protoLanes, cols, 1, 2 * bm, 1, 1, smem,
                        null, args2, null));
                float[] got = sample(y, (long) tokens * out);
                double num = 0, den = 0, maxDiff = 0, maxRef = 0;
                for (int i = 0; i < ref.length; i++) {
                    double d = got[i] - ref[i];
                    num += d * d;
                    den += (double) ref[i] * ref[i];
                    maxDiff = Math.max(maxDiff, Math.abs(d));
                    maxRef = Math.max(maxRef, Math.abs(ref[i]));
                }
                System.out.printf("tokens %d in %d out %d | shipped mma.sync %.3f ms | %s (lbo %d, sbo %d) %.3f ms,"
                                + " %.2fx | rel L2 %.2e, max diff / max %.2e%n", tokens, in, out, refMs, kernels[kIdx][0],
                        offs[0], offs[1], ms, refMs / ms, Math.sqrt(num / den), maxDiff / maxRef);
            }
            for (CUdeviceptr p : new CUdeviceptr[] {x, w, bias, yRef, y}) {
                JCudaDriver.cuMemFree(p);
            }
        }
    }

    /**
     * For the prototype benches: probes the device (exit status 2 without one), makes its context current, sets the
     * shipped mma.sync GEMMs' shared-memory limits (they run beside the prototypes) and loads the prototype cubin.
     */
    static CUmodule loadPrototypes() {
        GpuDevices.Probe probe = GpuDevices.probe();
        System.out.println("device: " + probe);
        if (!probe.available()) {
            System.exit(2);
        }
        GpuContext ctx = GpuContext.get();
        ctx.makeCurrent();
        System.setProperty(GpuKernels.WGMMA_PROPERTY, "false");
        new GpuKernels(ctx, 16, null, GpuPrecision.TF32X3);
        System.clearProperty(GpuKernels.WGMMA_PROPERTY);
        CUmodule module = new CUmodule();
        JCudaDriver.cuModuleLoadData(module, GpuContext.resource("wgmma_proto.sm_90a.cubin"));
        return module;
    }

    static CUdeviceptr alloc(long floats) {
        CUdeviceptr p = new CUdeviceptr();
        JCudaDriver.cuMemAlloc(p, 4 * floats);
        return p;
    }

    private static void fill(CUdeviceptr p, long floats, int seed) {
        float[] chunk = new float[1 << 20];
        Random rnd = new Random(seed);
        for (int i = 0; i < chunk.length; i++) {
            chunk[i] = (float) rnd.nextGaussian();
        }
        for (long at = 0; at < floats; at += chunk.length) {
            JCudaDriver.cuMemcpyHtoD(p.withByteOffset(4 * at), Pointer.to(chunk), 4 * Math.min(chunk.length, floats - at));
        }
    }

    /** The first 8M and the last 1M outputs (a layout error shows in either). */
    static float[] sample(CUdeviceptr p, long floats) {
        int head = (int) Math.min(floats, 8L << 20), tail = (int) Math.min(floats - head, 1 << 20);
        float[] s = new float[head + tail];
        JCudaDriver.cuMemcpyDtoH(Pointer.to(s), p, 4L * head);
        if (tail > 0) {
            float[] t = new float[tail];
            JCudaDriver.cuMemcpyDtoH(Pointer.to(t), p.withByteOffset(4 * (floats - tail)), 4L * tail);
            System.arraycopy(t, 0, s, head, tail);
        }
        return s;
    }
}
