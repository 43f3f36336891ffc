package io.flinkmamba.operator;

/**
 * One key's recurrent state: every layer's conv window and SSM state (the core's layout), how many
 * events advanced it, and the fingerprint of the model that wrote it. Mutable: the per-event path
 * advances it in place.
 */
public final class KeyState {
    /** {@code MambaConfig.stateFloats()} floats; see {@code MambaConfig.convStateOffset}. */
    public float[] state;
    public long eventsSeen;
    /** {@code MambaModel.fingerprint()} of the model that wrote {@link #state}. */
    public String modelFingerprint;

    public KeyState(float[] state, long eventsSeen, String modelFingerprint) {
        this.state = state;
        this.eventsSeen = eventsSeen;
        this.modelFingerprint = modelFingerprint;
    }

    KeyState deepCopy() {
        return new KeyState(state.clone(), eventsSeen, modelFingerprint);
    }
}
