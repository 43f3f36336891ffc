package io.flinkmamba.operator;

import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaModel;

/** The core's CPU parallel implementation: always available. */
public final class CpuBatchForwardProvider implements BatchForwardProvider {
    @Override
    public String device() {
        return "cpu";
    }

    @Override
    public boolean available() {
        return true;
    }

    @Override
    public BatchForward create(MambaModel model) {
        return model.newCpuParallel();
    }
}
