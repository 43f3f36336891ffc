package io.flinkmamba.operator;

import io.flinkmamba.kernels.BatchForwards;
import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.metrics.MetricGroup;

/**
 * Picks the micro-batch implementation for {@code mamba.device}: {@code gpu} fails at start without a
 * usable GPU, {@code auto} falls back to the CPU with one log line (kernels' {@link BatchForwards}),
 * and the {@code gpuInUse} gauge says which one runs.
 */
final class BatchForwardSelector {
    private BatchForwardSelector() {
    }

    static BatchForward create(MambaModel model, String device, MetricGroup metrics) {
        BatchForward f = BatchForwards.create(model, device);
        int onGpu = f.device().startsWith("gpu") ? 1 : 0;
        metrics.gauge("gpuInUse", () -> onGpu);
        return f;
    }
}
