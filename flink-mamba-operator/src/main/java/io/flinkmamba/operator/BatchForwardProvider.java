package io.flinkmamba.operator;

import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaModel;
import org.apache.flink.configuration.ReadableConfig;

/**
 * A device implementation of the batched parallel mode, found with {@link java.util.ServiceLoader}
 * (file {@code META-INF/services/io.flinkmamba.operator.BatchForwardProvider}). The GPU module adds
 * one named "gpu"; the operator picks by the {@code mamba.device} option.
 */
public interface BatchForwardProvider {
    /** "cpu", "gpu". */
    String device();

    /** Whether this machine can run it (e.g. a CUDA driver and device are present). Must not throw. */
    boolean available();

    /** Why {@link #available()} is false, for the error message. */
    default String unavailableReason() {
        return "not available";
    }

    /** One instance per operator subtask (not thread-safe). */
    BatchForward create(MambaModel model);

    /**
     * The same with the operator's options ({@code mamba.*}, e.g. {@link MambaOptions#GPU_PRECISION}); by
     * default they are ignored.
     */
    default BatchForward create(MambaModel model, ReadableConfig options) {
        return create(model);
    }
}
