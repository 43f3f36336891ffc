package io.flinkmamba.operator;

/** What to do with a key whose state was written by a different model (fingerprint mismatch). */
public enum ModelChangePolicy {
    /** Start the key from a fresh state and count it in the {@code stateResets} metric. */
    RESET,
    /** Fail: a state is only meaningful for the model that wrote it. */
    FAIL
}
