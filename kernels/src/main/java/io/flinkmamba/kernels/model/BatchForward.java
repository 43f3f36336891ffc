package io.flinkmamba.kernels.model;

/**
 * The parallel mode: runs every sequence of a {@link MambaBatch} from its initial state, writing the
 * outputs and replacing each initial state with the final one. CPU and GPU implementations give the
 * same results within float32 tolerance. Not thread-safe: one instance per thread.
 */
public interface BatchForward extends AutoCloseable {
    void forward(MambaBatch batch);

    /**
     * Whether this forward accepts sequences added with {@link MambaBatch#addSequenceSharingState}
     * (reads and advances their states in place). A forward that does not refuses such batches.
     */
    default boolean sharesStates() {
        return false;
    }

    /** "cpu", "gpu:0", ...: for logs and metrics. */
    String device();

    @Override
    default void close() {
    }
}
