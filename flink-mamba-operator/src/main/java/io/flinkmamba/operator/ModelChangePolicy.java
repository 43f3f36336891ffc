package io.flinkmamba.operator;

/**
 * What to do with a key whose state was written by a different model (fingerprint mismatch).
 *
 * @deprecated {@code mamba.state.on-model-change} is read only when {@code mamba.upgrade.policy} is not
 *     set; use {@link UpgradePolicy} ({@code RESET} and {@code FAIL} mean the same there).
 */
@Deprecated
public enum ModelChangePolicy {
    /** Start the key from a fresh state and count it in the {@code stateResets} metric. */
    RESET,
    /** Fail: a state is only meaningful for the model that wrote it. */
    FAIL
}
