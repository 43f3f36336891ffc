package io.flinkmamba.operator;

import io.flinkmamba.kernels.gpu.GpuBatchForward;
import io.flinkmamba.kernels.gpu.GpuDevices;
import io.flinkmamba.kernels.gpu.GpuPrecision;
import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.configuration.ReadableConfig;

/** The kernels' JCuda implementation; available when a CUDA driver and a device answer (probed once per JVM). */
public final class GpuBatchForwardProvider implements BatchForwardProvider {
    @Override
    public String device() {
        return "gpu";
    }

    @Override
    public boolean available() {
        return GpuDevices.probe().available();
    }

    @Override
    public String unavailableReason() {
        return GpuDevices.probe().reason();
    }

    @Override
    public BatchForward create(MambaModel model) {
        return new GpuBatchForward(model);
    }

    /** {@code mamba.gpu.precision} when set, else the JVM property's or the default precision. */
    @Override
    public BatchForward create(MambaModel model, ReadableConfig options) {
        return new GpuBatchForward(model, precision(options));
    }

    static GpuPrecision precision(ReadableConfig options) {
        return options.getOptional(MambaOptions.GPU_PRECISION).orElseGet(GpuPrecision::fromSystemProperty);
    }
}
