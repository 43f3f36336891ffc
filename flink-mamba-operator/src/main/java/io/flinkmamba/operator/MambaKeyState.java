package io.flinkmamba.operator;

/**
 * What the operator keeps per key: the model's recurrent state (conv windows and SSM states of all
 * layers, layout of {@code MambaConfig}), how many events advanced it, and which model wrote it.
 */
public final class MambaKeyState {
    public float[] state;
    public long eventsSeen;
    public String modelFingerprint;
    public String modelVersion;

    public MambaKeyState(float[] state, long eventsSeen, String modelFingerprint, String modelVersion) {
        this.state = state;
        this.eventsSeen = eventsSeen;
        this.modelFingerprint = modelFingerprint;
        this.modelVersion = modelVersion;
    }

    public MambaKeyState copy() {
        return new MambaKeyState(state.clone(), eventsSeen, modelFingerprint, modelVersion);
    }

    /** Serialized size in bytes, for the state-size metric. */
    public long serializedBytes() {
        return 1 + 8 + 4 + 4L * state.length + utfBytes(modelFingerprint) + utfBytes(modelVersion);
    }

    private static long utfBytes(String s) {
        return 2 + s.length();
    }
}
