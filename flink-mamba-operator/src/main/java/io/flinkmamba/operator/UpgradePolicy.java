package io.flinkmamba.operator;

/**
 * What the operator does with a key whose state another model wrote (its fingerprint differs from the
 * loaded model's), typically after a job was restored from a savepoint with a new model
 * ({@code mamba.upgrade.policy}; docs/model-upgrades.md).
 */
public enum UpgradePolicy {
    /**
     * Keep the key's hidden states and statistics as they are, now advanced by the new model; only
     * when their shapes fit the new model (else the job fails with the shapes). For fine-tuned weights
     * of the same architecture.
     */
    CARRY,
    /**
     * Rebuild the key's state by running the new model over the key's replay buffer (its last
     * {@code mamba.upgrade.replay-window} inputs) with the batched parallel forward, then continue:
     * scores stay warm. A key with an empty buffer is reset.
     */
    REPLAY,
    /** Start the key from a fresh state: its outputs are flagged warmingUp until it has seen the warm-up count. */
    RESET,
    /** Fail the job: a state is only meaningful for the model that wrote it. */
    FAIL;

    static UpgradePolicy of(ModelChangePolicy legacy) {
        return legacy == ModelChangePolicy.FAIL ? FAIL : RESET;
    }

    /**
     * What this policy does with a key's state that another model wrote, given whether its shapes fit the new model:
     * the one place the running operator ({@link KeyedMambaOperator}) and the offline rebuilder ({@link StateRebuilder})
     * take the policies' meaning from (each then does the step its own way: metrics and logs, or a result to print).
     */
    Step stepFor(KeyState old, boolean fitsNewModel) {
        switch (this) {
            case CARRY:
                return fitsNewModel ? Step.CARRY : Step.REFUSE_SHAPE;
            case REPLAY:
                return old.replay != null && old.replay.size() > 0 ? Step.REPLAY : Step.RESET; // nothing to replay
            case RESET:
                return Step.RESET;
            case FAIL:
                return Step.REFUSE;
            default:
                throw new IllegalStateException("unknown upgrade policy " + this);
        }
    }

    /**
     * The steps of {@link #stepFor}: keep the state, rebuild it from its replay buffer, start it fresh, or refuse the
     * upgrade (FAIL; CARRY of a state whose shapes do not fit).
     */
    enum Step { CARRY, REPLAY, RESET, REFUSE, REFUSE_SHAPE }
}
