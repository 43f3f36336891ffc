package io.flinkmamba.kernels.gpu;

import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

import java.nio.charset.StandardCharsets;

/**
 * Whether this JVM can use a CUDA device, asked once and cached. Without an NVIDIA driver the first
 * JCuda call throws {@link UnsatisfiedLinkError} (no libcuda.so.1) and later ones
 * {@link NoClassDefFoundError}, so the probe catches every {@link Throwable} and turns it into a reason.
 * Setting the system property {@value #DISABLE_PROPERTY} to true answers "no device" without asking.
 */
public final class GpuDevices {
    public static final String DISABLE_PROPERTY = "flinkmamba.gpu.disable";

    private static Probe cached;

    private GpuDevices() {
    }

    /** The answer for device 0. */
    public static synchronized Probe probe() {
        if (cached == null) {
            cached = ask();
        }
        return cached;
    }

    private static Probe ask() {
        if (Boolean.getBoolean(DISABLE_PROPERTY)) {
            return Probe.none("disabled by -D" + DISABLE_PROPERTY + "=true");
        }
        try {
            JCudaDriver.setExceptionsEnabled(true);
            JCudaDriver.cuInit(0);
            int[] driver = new int[1];
            JCudaDriver.cuDriverGetVersion(driver);
            String driverProblem = driverProblem(driver[0]);
            if (driverProblem != null) {
                return Probe.none(driverProblem);
            }
            int[] count = new int[1];
            JCudaDriver.cuDeviceGetCount(count);
            if (count[0] < 1) {
                return Probe.none("the CUDA driver reports no device");
            }
            CUdevice dev = new CUdevice();
            JCudaDriver.cuDeviceGet(dev, 0);
            byte[] name = new byte[256];
            JCudaDriver.cuDeviceGetName(name, name.length, dev);
            int len = 0;
            while (len < name.length && name[len] != 0) {
                len++;
            }
            int[] major = new int[1], minor = new int[1];
            JCudaDriver.cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
            JCudaDriver.cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
            if (major[0] < 9) {
                // the shipped PTX targets compute_90
                return Probe.none("device 0 has compute capability " + major[0] + "." + minor[0]
                        + "; the shipped kernels need 9.0 or newer");
            }
            return new Probe(true, "ok", count[0], new String(name, 0, len, StandardCharsets.UTF_8),
                    major[0], minor[0]);
        } catch (Throwable t) {
            // JCuda's messages carry nested stack traces: the first line says it
            String msg = String.valueOf(t.getMessage()).lines().findFirst().orElse("").trim();
            return Probe.none(t.getClass().getSimpleName() + ": " + msg
                    + (t instanceof UnsatisfiedLinkError ? " (no NVIDIA driver / libcuda.so.1?)" : ""));
        }
    }

    /**
     * The CUDA version (as cuDriverGetVersion reports it: 1000 x major + 10 x minor) the shipped kernels need: they are
     * built by CUDA 13.0, whose PTX (ISA 9.0) no older driver JIT-compiles, and the cubin comes from the same toolkit.
     * An older driver would fail at module load on every start; the probe names it instead, so {@code auto} takes the
     * CPU and {@code gpu} fails at start with the reason.
     */
    static final int MIN_DRIVER_VERSION = 13000;

    /** Null when a driver of this CUDA version loads the shipped kernels, else why not. */
    static String driverProblem(int driverVersion) {
        if (driverVersion >= MIN_DRIVER_VERSION) {
            return null;
        }
        return "the NVIDIA driver supports CUDA " + driverVersion / 1000 + "." + driverVersion % 1000 / 10
                + "; the shipped kernels are built by CUDA 13.0 and need a driver for CUDA 13.0 or newer";
    }

    /** The probe's answer: usable or not, and why. */
    public static final class Probe {
        private final boolean available;
        private final String reason;
        private final int deviceCount;
        private final String deviceName;
        private final int major;
        private final int minor;

        Probe(boolean available, String reason, int deviceCount, String deviceName, int major, int minor) {
            this.available = available;
            this.reason = reason;
            this.deviceCount = deviceCount;
            this.deviceName = deviceName;
            this.major = major;
            this.minor = minor;
        }

        static Probe none(String reason) {
            return new Probe(false, reason, 0, null, 0, 0);
        }

        public boolean available() { return available; }
        /** "ok" or why no device can be used. */
        public String reason() { return reason; }
        public int deviceCount() { return deviceCount; }
        public String deviceName() { return deviceName; }
        public int computeMajor() { return major; }
        public int computeMinor() { return minor; }

        @Override
        public String toString() {
            return available ? deviceName + " (sm_" + major + minor + ", " + deviceCount + " device(s))"
                    : "no usable CUDA device: " + reason;
        }
    }
}
