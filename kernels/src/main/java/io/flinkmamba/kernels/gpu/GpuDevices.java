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
