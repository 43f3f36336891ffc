package io.flinkmamba.kernels.gpu;

/** A CUDA error in the GPU path: the batch's results are undefined and the caller must fail. */
public final class GpuForwardException extends RuntimeException {
    public GpuForwardException(String message, Throwable cause) {
        super(message, cause);
    }
}
