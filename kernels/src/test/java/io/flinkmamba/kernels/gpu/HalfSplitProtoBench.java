package io.flinkmamba.kernels.gpu;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

import java.util.Random;

import static io.flinkmamba.kernels.gpu.GpuKernels.ints;

/**
 * The 3xFP16 ("half-split") projection prototypes ({@code gemm_wgh_*} in {@code kernels/src/test/cuda/wgmma_proto.cu},
 * not shipped) against the shipped 3xTF32 kernels (mma.sync gemm_tf32x3_s64, wgmma gemm_wg_tf32x3_s64) on the same
 * inputs: times, and each kernel's error against a float64 product on sampled rows. The rows of X span 2^-20 to 2^20
 * (row t scaled by 2^(t % 41 - 20)), so the row scaling is exercised; the error reported is each sampled row's
 * relative L2, its largest and its mean. Run on the GPU machine: {@code java ... HalfSplitProtoBench [kernel names]
 * [first]} (with no names every prototype runs). Needs an sm_90 device. The A-split-first prototypes it also ran until
 * commit 3563572 are shipped (row_split, gemm_whs_f16x3_n128: {@code GpuBench layers} times them in the layer).
 */
public final class HalfSplitProtoBench {
    private HalfSplitProtoBench() {
    }

    private static final int SAMPLED_ROWS = 256;

    public static void main(String[] args) {
        CUmodule module = WgmmaProtoBench.loadPrototypes();
        GpuContext ctx = GpuContext.get();
        // name, output tile, stages, k-tile (floats of A; halves of W)
        Object[][] all = {{"gemm_wgh_n64_s3_k32", 64, 3, 32}, {"gemm_wgh_n64_s4_k32", 64, 4, 32},
            {"gemm_wgh_n128_s3_k32", 128, 3, 32}, {"gemm_wgh_n64_s3_k64", 64, 3, 64}, {"gemm_wgh_n128_s3_k64", 128, 3, 64},
            {"gemm_wgh_n128_s3_k64_pd2d", 128, 3, 64}, {"gemm_wgh_n128_s4_k32_pd2", 128, 4, 32},
            {"gemm_wgh_n128_s4_k32_pd3d", 128, 4, 32}, {"gemm_wgh_n128_s5_k32_pd3", 128, 5, 32},
            {"gemm_wgh_n128_s3_k64_vk", 128, 3, 64}, {"gemm_wgh_m192_n128_s4_k32", 128, 4, 32, 192},
            {"gemm_wgh_m192_n128_s3_k32", 128, 3, 32, 192}};
        java.util.List<String> names = new java.util.ArrayList<>(java.util.List.of(args));
        boolean firstOnly = names.remove("first");
        Object[][] kernels = java.util.Arrays.stream(all).filter(k -> names.isEmpty() || names.contains((String) k[0]))
                .toArray(Object[][]::new);
        CUfunction[] fns = new CUfunction[kernels.length];
        int[] smems = new int[kernels.length], perSms = new int[kernels.length];
        for (int i = 0; i < kernels.length; i++) {
            fns[i] = new CUfunction();
            JCudaDriver.cuModuleGetFunction(fns[i], module, (String) kernels[i][0]);
            int bn = (int) kernels[i][1], kb = (int) kernels[i][3], bm = bm(kernels[i]);
            smems[i] = (int) kernels[i][2] * (bm * (kb + 16) * 4 + 2 * bn * kb * 2);
            JCudaDriver.cuFuncSetAttribute(fns[i], CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    smems[i]);
            int[] perSm = new int[1];
            JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(perSm, fns[i], 2 * bm, smems[i]);
            perSms[i] = Math.max(1, perSm[0]);
            System.out.println(kernels[i][0] + ": " + perSm[0] + " blocks per SM, " + smems[i] + " bytes");
        }
        CUfunction rowScales = new CUfunction();
        JCudaDriver.cuModuleGetFunction(rowScales, module, "row_scales");
        CUfunction mma = ctx.function("gemm_tf32x3_s64");
        GpuKernels.StreamingShape mmaShape = GpuKernels.streamingShape("gemm_tf32x3_s64");
        CUfunction wg = ctx.function("gemm_wg_tf32x3_s64");
        GpuKernels.StreamingShape wgShape = GpuKernels.streamingShape("gemm_wg_tf32x3_s64");
        JCudaDriver.cuFuncSetAttribute(wg, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                wgShape.smemBytes());
        int[][] shapes = {{262_144, 256, 1024}, {262_144, 512, 256}, {1_048_576, 64, 256}, {1_048_576, 128, 64}};
        for (int[] s : firstOnly ? new int[][] {shapes[0]} : shapes) {
            int tokens = s[0], in = s[1], out = s[2];
            float[] chunk = new float[1 << 20];   // rows of in floats, repeated over X
            Random rnd = new Random(7);
            for (int i = 0; i < chunk.length; i++) {
                chunk[i] = Math.scalb((float) rnd.nextGaussian(), (i / in) % 41 - 20);
            }
            float[] wh = new float[out * in], b = new float[out];
            for (int i = 0; i < wh.length; i++) {
                wh[i] = (float) rnd.nextGaussian() / (float) Math.sqrt(in);
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) rnd.nextGaussian() * 0.1f;
            }
            CUdeviceptr x = WgmmaProtoBench.alloc((long) tokens * in), w = WgmmaProtoBench.alloc(2L * out * in);
            CUdeviceptr bias = WgmmaProtoBench.alloc(out), y = WgmmaProtoBench.alloc((long) tokens * out);
            CUdeviceptr wHalf = WgmmaProtoBench.alloc((long) out * in), cs = WgmmaProtoBench.alloc(out);
            CUdeviceptr rs = WgmmaProtoBench.alloc(2L * tokens);
            for (long at = 0; at < (long) tokens * in; at += chunk.length) {
                JCudaDriver.cuMemcpyHtoD(x.withByteOffset(4 * at), Pointer.to(chunk), 4L * Math.min(chunk.length, (long) tokens * in - at));
            }
            JCudaDriver.cuMemcpyHtoD(w, Pointer.to(DeviceWeights.tf32Split(wh)), 8L * out * in);
            HalfSplit hs = HalfSplit.of(wh, out, in);
            JCudaDriver.cuMemcpyHtoD(wHalf, Pointer.to(hs.halves), 2L * hs.halves.length);
            JCudaDriver.cuMemcpyHtoD(cs, Pointer.to(hs.columnScale), 4L * out);
            JCudaDriver.cuMemcpyHtoD(bias, Pointer.to(b), 4L * out);
            double[][] exact = new double[SAMPLED_ROWS][out];   // rows 0.. of the chunk, in float64
            for (int t = 0; t < SAMPLED_ROWS; t++) {
                for (int o = 0; o < out; o++) {
                    double a = b[o];
                    for (int k = 0; k < in; k++) {
                        a += (double) chunk[t * in + k] * wh[o * in + k];
                    }
                    exact[t][o] = a;
                }
            }
            int columns = out / 64;
            int[] perSm = new int[1];
            JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(perSm, mma, mmaShape.threads(), mmaShape.smemBytes());
            int mmaLanes = GpuKernels.streamingLanes(tokens, mmaShape.tokenTile(), columns, ctx.multiprocessors, perSm[0]);
            Pointer mmaArgs = Pointer.to(Pointer.to(x), ints(in), ints(tokens), ints(in), Pointer.to(w), ints(out),
                    Pointer.to(bias), Pointer.to(y), ints(out), ints(0), Pointer.to(new float[] {0f}),
                    Pointer.to(new CUdeviceptr()), Pointer.to(new CUdeviceptr()));
            double mmaMs = GpuBench.bestOfFive(null, () -> JCudaDriver.cuLaunchKernel(mma, mmaLanes, columns, 1,
                    mmaShape.threads(), 1, 1, mmaShape.smemBytes(), null, mmaArgs, null));
            String mmaErr = errors(y, out, exact);
            JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(perSm, wg, wgShape.threads(), wgShape.smemBytes());
            int wgLanes = GpuKernels.streamingLanes(tokens, wgShape.tokenTile(), columns, ctx.multiprocessors, perSm[0]);
            double wgMs = GpuBench.bestOfFive(null, () -> JCudaDriver.cuLaunchKernel(wg, wgLanes, columns, 1,
                    wgShape.threads(), 1, 1, wgShape.smemBytes(), null, mmaArgs, null));
            String wgErr = errors(y, out, exact);
            Pointer rsArgs = Pointer.to(Pointer.to(x), ints(in), ints(tokens), ints(in), Pointer.to(rs));
            double rsMs = GpuBench.bestOfFive(null, () -> JCudaDriver.cuLaunchKernel(rowScales, (tokens + 7) / 8, 1, 1,
                    256, 1, 1, 0, null, rsArgs, null));
            // the shipped 3xFP16 kernels (checked and full-tile) with the shipped row_scales, on the device form of W
            CUdeviceptr wDev = new CUdeviceptr(), rs2 = WgmmaProtoBench.alloc(2L * tokens);
            JCudaDriver.cuMemAlloc(wDev, hs.deviceBytes());
            JCudaDriver.cuMemcpyHtoD(wDev, Pointer.to(hs.halves), 2L * hs.halves.length);
            JCudaDriver.cuMemcpyHtoD(wDev.withByteOffset(2L * hs.halves.length), Pointer.to(hs.columnScale), 4L * out);
            CUfunction shippedRs = ctx.function("row_scales");
            Pointer rs2Args = Pointer.to(Pointer.to(x), ints(in), ints(tokens), ints(in), Pointer.to(new float[] {-1f}),
                    Pointer.to(rs2));
            double rs2Ms = GpuBench.bestOfFive(null, () -> JCudaDriver.cuLaunchKernel(shippedRs, (tokens + 31) / 32, 1, 1,
                    256, 1, 1, 0, null, rs2Args, null));
            StringBuilder shipped = new StringBuilder(String.format("shipped row_scales %.3f ms", rs2Ms));
            for (String name : out % 128 == 0 ? new String[] {"gemm_wgh_f16x3_n128", "gemm_wgh_f16x3_n128_full"} : new String[0]) {
                CUfunction fn = ctx.function(name);
                int smem = GpuKernels.HALF_SPLIT_SHAPE.smemBytes();
                JCudaDriver.cuFuncSetAttribute(fn, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem);
                int cols = out / 128, lanes = Math.min(tokens / 128, ctx.multiprocessors / cols);
                JCudaDriver.cuMemsetD32(y, 0, (long) tokens * out);
                java.util.function.Function<CUdeviceptr, Pointer> withBias = bp -> Pointer.to(Pointer.to(x), ints(in),
                        ints(tokens), ints(in), Pointer.to(wDev), ints(out), Pointer.to(bp), Pointer.to(y), ints(out), ints(0),
                        Pointer.to(rs2));
                Pointer a = withBias.apply(bias);
                double ms = GpuBench.bestOfFive(null, () -> JCudaDriver.cuLaunchKernel(fn, lanes, cols, 1, 256, 1, 1, smem,
                        null, a, null));
                shipped.append(String.format(" | %s %.3f ms, %.2fx wgmma 3xTF32, error %s", name, ms, wgMs / ms, errors(y, out, exact)));
                // the same launch without a bias: the forward's in_proj and out_proj have none (Mamba's default), and
                // the shipped kernel timed here with one ran 1.384 ms against about 0.95 in the layer (eleventh session)
                Pointer noBias = withBias.apply(new CUdeviceptr());
                double plainMs = GpuBench.bestOfFive(null, () -> JCudaDriver.cuLaunchKernel(fn, lanes, cols, 1, 256, 1, 1,
                        smem, null, noBias, null));
                shipped.append(String.format(" (no bias: %.3f ms)", plainMs));
            }
            JCudaDriver.cuMemFree(wDev);
            JCudaDriver.cuMemFree(rs2);
            System.out.printf("tokens %d in %d out %d | mma.sync 3xTF32 %.3f ms, error %s | wgmma 3xTF32 %.3f ms (%.2fx),"
                    + " error %s | row_scales %.3f ms%n", tokens, in, out, mmaMs, mmaErr, wgMs, mmaMs / wgMs, wgErr, rsMs);
            System.out.println("  " + shipped);
            for (int i = 0; i < kernels.length; i++) {
                int bn = (int) kernels[i][1], kb = (int) kernels[i][3];
                if (out % bn != 0 || in % kb != 0) {
                    continue;
                }
                int cols = out / bn, smem = smems[i], bm = bm(kernels[i]);
                int lanes = Math.max(1, Math.min(tokens / bm, ctx.multiprocessors * perSms[i] / cols));
                CUfunction fn = fns[i];
                JCudaDriver.cuMemsetD32(y, 0, (long) tokens * out);
                Pointer a = Pointer.to(Pointer.to(x), ints(in), ints(tokens), ints(in), Pointer.to(wHalf), ints(out),
                        Pointer.to(bias), Pointer.to(y), ints(out), Pointer.to(rs), Pointer.to(cs));
                double ms = GpuBench.bestOfFive(null, () -> JCudaDriver.cuLaunchKernel(fn, lanes, cols, 1, 2 * bm, 1, 1, smem,
                        null, a, null));
                System.out.printf("  %s: %.3f ms, %.2fx mma.sync, %.2fx wgmma 3xTF32 (with row_scales: %.2fx, %.2fx) | error %s%n",
                        kernels[i][0], ms, mmaMs / ms, wgMs / ms, mmaMs / (ms + rsMs), wgMs / (ms + rsMs), errors(y, out, exact));
            }
            for (CUdeviceptr p : new CUdeviceptr[] {x, w, bias, y, wHalf, cs, rs}) {
                JCudaDriver.cuMemFree(p);
            }
        }
    }

    /** Tokens a block of the kernel takes (128 unless the entry says; a remainder of tokens / bm rows is left out). */
    private static int bm(Object[] kernel) {
        return kernel.length > 4 ? (int) kernel[4] : 128;
    }

    /** Each sampled row's relative L2 against float64: the largest and the mean, as text. */
    private static String errors(CUdeviceptr y, int out, double[][] exact) {
        float[] got = new float[exact.length * out];
        JCudaDriver.cuMemcpyDtoH(Pointer.to(got), y, 4L * got.length);
        double max = 0, sum = 0;
        for (int t = 0; t < exact.length; t++) {
            double num = 0, den = 0;
            for (int o = 0; o < out; o++) {
                double d = got[t * out + o] - exact[t][o];
                num += d * d;
                den += exact[t][o] * exact[t][o];
            }
            double e = Math.sqrt(num / den);
            max = Math.max(max, Double.isNaN(e) ? Double.POSITIVE_INFINITY : e);
            sum += e;
        }
        return String.format("max %.2e mean %.2e", max, sum / exact.length);
    }
}
