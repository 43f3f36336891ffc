package io.flinkmamba.kernels.gpu;

import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * The JVM-wide handle on device 0: its primary context (shared by every thread, as the runtime API
 * shares it) and the kernel module, loaded once. The sm_90a cubin is used on sm_90 devices (H100, H200: it adds the
 * warpgroup-MMA projection kernels), the PTX (JIT-compiled by the driver, mma.sync projections) elsewhere.
 */
final class GpuContext {
    static final String RESOURCE_DIR = "/io/flinkmamba/kernels/gpu/";

    private static GpuContext instance;
    /** Names of the functions looked up, by handle (JCuda's handles compare by their native pointer). */
    private final java.util.Map<CUfunction, String> functionNames = new java.util.concurrent.ConcurrentHashMap<>();

    final CUdevice device = new CUdevice();
    final CUcontext context = new CUcontext();
    final CUmodule module = new CUmodule();
    final String name;
    /** Streaming multiprocessors: the persistent GEMMs size their grids to what runs at once. */
    final int multiprocessors;
    /** The device's total memory in bytes (the default chunk budget is a share of it). */
    final long memoryBytes;
    /** Whether the module is the sm_90a cubin, with the warpgroup-MMA (gemm_wg_*) kernels. */
    final boolean warpgroupMma;

    private GpuContext(GpuDevices.Probe probe) {
        JCudaDriver.setExceptionsEnabled(true);
        JCudaDriver.cuDeviceGet(device, 0);
        JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
        JCudaDriver.cuCtxSetCurrent(context);
        boolean sm90 = probe.computeMajor() == 9 && probe.computeMinor() == 0;
        byte[] image = sm90 ? resource("mamba.sm_90a.cubin") : withNul(resource("mamba.ptx"));
        this.warpgroupMma = sm90;
        JCudaDriver.cuModuleLoadData(module, image);
        int[] sms = new int[1];
        JCudaDriver.cuDeviceGetAttribute(sms, jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
        this.multiprocessors = sms[0];
        long[] mem = new long[1];
        JCudaDriver.cuDeviceTotalMem(mem, device);
        this.memoryBytes = mem[0];
        this.name = "gpu:0";
    }

    /** The shared context, created on first use; throws IllegalStateException naming why when no device. */
    static synchronized GpuContext get() {
        if (instance == null) {
            GpuDevices.Probe probe = GpuDevices.probe();
            if (!probe.available()) {
                throw new IllegalStateException("no usable CUDA device: " + probe.reason());
            }
            instance = new GpuContext(probe);
        }
        return instance;
    }

    /** Makes the context current on the calling thread (each thread must, before any driver call). */
    void makeCurrent() {
        JCudaDriver.cuCtxSetCurrent(context);
    }

    CUfunction function(String name) {
        CUfunction f = new CUfunction();
        JCudaDriver.cuModuleGetFunction(f, module, name);
        functionNames.put(f, name);
        return f;
    }

    /** The kernel name a function was looked up by (for traces and messages), or "?" for one not from {@link #function}. */
    String functionName(CUfunction f) {
        return functionNames.getOrDefault(f, "?");
    }

    /** A kernel image: shipped gzip-compressed as {@code name.gz} (scripts/build-ptx.sh), returned inflated. */
    static byte[] resource(String name) {
        try (InputStream in = GpuContext.class.getResourceAsStream(RESOURCE_DIR + name + ".gz")) {
            if (in == null) {
                throw new IllegalStateException("kernel resource " + RESOURCE_DIR + name + ".gz missing from the classpath");
            }
            try (InputStream inflated = new GZIPInputStream(in)) {
                return inflated.readAllBytes();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("kernel resource " + RESOURCE_DIR + name + ".gz unreadable", e);
        }
    }

    /** cuModuleLoadData needs PTX text to end with a NUL byte. */
    static byte[] withNul(byte[] ptx) {
        return ptx.length > 0 && ptx[ptx.length - 1] == 0 ? ptx : Arrays.copyOf(ptx, ptx.length + 1);
    }
}
