package io.flinkmamba.operator;

import io.flinkmamba.kernels.gpu.GpuBatchForward;
import io.flinkmamba.kernels.gpu.GpuDevices;
import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaModel;

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
}
