package io.flinkmamba.kernels;

import io.flinkmamba.kernels.cpu.CpuParallelForward;
import io.flinkmamba.kernels.gpu.GpuBatchForward;
import io.flinkmamba.kernels.gpu.GpuDevices;
import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Picks the parallel-mode implementation for the micro-batch mode's {@code device} option:
 * <ul>
 *   <li>{@code cpu}: {@link CpuParallelForward};</li>
 *   <li>{@code gpu}: {@link GpuBatchForward}, or an {@link IllegalStateException} naming why no CUDA
 *       device can be used (fail at start, not at the first flush);</li>
 *   <li>{@code auto}: the GPU when usable, else the CPU with one log line (per JVM) and
 *       {@link #autoFallbacks()} incremented, for the operator's metric.</li>
 * </ul>
 */
public final class BatchForwards {
    private static final Logger LOG = LoggerFactory.getLogger(BatchForwards.class);
    private static final AtomicLong AUTO_FALLBACKS = new AtomicLong();

    private BatchForwards() {
    }

    /** The accepted values of the device option. */
    public enum Device {
        CPU, GPU, AUTO;

        public static Device parse(String value) {
            if (value != null) {
                for (Device d : values()) {
                    if (d.name().equalsIgnoreCase(value.trim())) {
                        return d;
                    }
                }
            }
            throw new IllegalArgumentException("device must be one of gpu, cpu, auto; got '" + value + "'");
        }
    }

    public static BatchForward create(MambaModel model, String device) {
        return create(model, Device.parse(device));
    }

    public static BatchForward create(MambaModel model, Device device) {
        switch (device) {
            case CPU:
                return new CpuParallelForward(model);
            case GPU: {
                GpuDevices.Probe probe = GpuDevices.probe();
                if (!probe.available()) {
                    throw new IllegalStateException("device=gpu was requested but there is no usable CUDA device: "
                            + probe.reason() + " (use device=auto to fall back to the CPU)");
                }
                return new GpuBatchForward(model);
            }
            case AUTO: {
                GpuDevices.Probe probe = GpuDevices.probe();
                if (probe.available()) {
                    return new GpuBatchForward(model);
                }
                if (AUTO_FALLBACKS.getAndIncrement() == 0) {
                    LOG.warn("device=auto: no usable CUDA device ({}); running the micro-batch mode on the CPU",
                            probe.reason());
                }
                return new CpuParallelForward(model);
            }
            default:
                throw new AssertionError(device);
        }
    }

    /** How many times {@code auto} fell back to the CPU in this JVM. */
    public static long autoFallbacks() {
        return AUTO_FALLBACKS.get();
    }

    /** Lower-case name of a device option, as configs spell it. */
    public static String name(Device d) {
        return d.name().toLowerCase(Locale.ROOT);
    }
}
