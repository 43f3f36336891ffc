package io.flinkmamba.operator;

/**
 * What one subtask did with a {@link ModelUpdate} ({@link MambaOperators#MODEL_UPDATES}): accepted
 * (the subtask scores with the new model from now on) or refused (it keeps the previous one), with
 * the reason. Every subtask reports every update it receives.
 */
public class ModelUpdateOutcome {
    public int subtask;
    public boolean accepted;
    /** Why the update was refused (null when accepted). */
    public String reason;
    public String modelUri;
    public String version;
    /** The new model's fingerprint (null when it could not be loaded). */
    public String fingerprint;
    /** The version the subtask scored with before (and, when refused, still scores with). */
    public String previousVersion;
    /** The policy that upgrades keys of the previous model (the update's, else the job's). */
    public UpgradePolicy policy;

    public ModelUpdateOutcome() {
    }

    @Override
    public String toString() {
        return "ModelUpdateOutcome{subtask=" + subtask + ", accepted=" + accepted + ", reason=" + reason
                + ", modelUri=" + modelUri + ", version=" + version + ", fingerprint=" + fingerprint
                + ", previousVersion=" + previousVersion + ", policy=" + policy + "}";
    }
}
