package io.flinkmamba.operator;

/** What to do with a key's state that another model (another fingerprint) produced. */
public enum ModelChangePolicy {
    /** Fail the job with a message naming both models: the safe default. */
    FAIL,
    /** Start the key from a fresh state. */
    RESET,
    /** Keep the hidden state when its shape matches the new model's (fine-tuned weights of one architecture). */
    CARRY
}
