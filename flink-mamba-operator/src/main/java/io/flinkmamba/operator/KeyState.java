package io.flinkmamba.operator;

import io.flinkmamba.kernels.forecast.ForecastState;

/**
 * One key's recurrent state: every layer's conv window and SSM state (the core's layout), how many
 * events advanced it, and the fingerprint of the model that wrote it. Mutable: the per-event path
 * advances it in place.
 *
 * <p>Under {@link MambaOperators#scoreAnomalies} it also holds the forecaster's per-key state
 * ({@link #forecast}: normaliser, last forecast, calibration), whose backbone array is {@link #state}
 * itself.
 */
public final class KeyState {
    /** {@code MambaConfig.stateFloats()} floats; see {@code MambaConfig.convStateOffset}. */
    public float[] state;
    public long eventsSeen;
    /** {@code MambaModel.fingerprint()} (or {@code Forecaster.fingerprint()}) of the model that wrote {@link #state}. */
    public String modelFingerprint;
    /** The forecaster's per-key state, sharing {@link #state} as its backbone; null for plain scoring. */
    public ForecastState forecast;

    public KeyState(float[] state, long eventsSeen, String modelFingerprint) {
        this(state, eventsSeen, modelFingerprint, null);
    }

    public KeyState(float[] state, long eventsSeen, String modelFingerprint, ForecastState forecast) {
        this.state = state;
        this.eventsSeen = eventsSeen;
        this.modelFingerprint = modelFingerprint;
        this.forecast = forecast;
        if (forecast != null) {
            forecast.backbone = state;
        }
    }

    KeyState deepCopy() {
        float[] copy = state.clone();
        ForecastState f = null;
        if (forecast != null) {
            f = forecast.deepCopy();
        }
        return new KeyState(copy, eventsSeen, modelFingerprint, f);
    }
}
