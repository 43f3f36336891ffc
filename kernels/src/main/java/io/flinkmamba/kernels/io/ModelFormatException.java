package io.flinkmamba.kernels.io;

/** A model file (config.json, safetensors, .npy) that is malformed, inconsistent or hostile. */
public class ModelFormatException extends RuntimeException {
    public ModelFormatException(String message) {
        super(message);
    }

    public ModelFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
