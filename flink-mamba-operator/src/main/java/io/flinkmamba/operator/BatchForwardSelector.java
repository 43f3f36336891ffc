package io.flinkmamba.operator;

import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.metrics.MetricGroup;

/** Picks the micro-batch implementation for {@code mamba.device}. */
final class BatchForwardSelector {
    private BatchForwardSelector() {
    }

    static BatchForward create(MambaModel model, String device, MetricGroup metrics) {
        if (!device.equals("cpu")) {
            throw new IllegalStateException(MambaOptions.DEVICE.key() + "=" + device + " is not available in this build");
        }
        BatchForward f = model.newCpuParallel();
        metrics.gauge("gpuInUse", () -> 0);
        return f;
    }
}
