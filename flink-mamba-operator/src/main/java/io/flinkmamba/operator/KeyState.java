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
    /** Events that advanced this state: restarts at 0 on a reset; after a REPLAY, the replayed events. */
    public long eventsSeen;
    /** {@code MambaModel.fingerprint()} (or {@code Forecaster.fingerprint()}) of the model that wrote {@link #state}. */
    public String modelFingerprint;
    /** The version label ({@code MambaSpec.modelVersion()}) of the model that wrote {@link #state}; null in format 1 and 2 state. */
    public String modelVersion;
    /** The forecaster's per-key state, sharing {@link #state} as its backbone; null for plain scoring. */
    public ForecastState forecast;
    /** The key's last inputs for the replay upgrade policy; null when {@code mamba.upgrade.replay-window} is 0. */
    public ReplayBuffer replay;

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
        KeyState c = new KeyState(copy, eventsSeen, modelFingerprint, f);
        c.modelVersion = modelVersion;
        c.replay = replay == null ? null : replay.deepCopy();
        return c;
    }

    /** Appends an event to the replay buffer of {@code window} events (none when 0), resizing it if the window changed. */
    void remember(long eventTime, float[] input, int window) {
        if (window == 0) {
            replay = null;
            return;
        }
        if (replay == null) {
            replay = new ReplayBuffer(window);
        } else if (replay.capacity() != window) {
            replay = replay.withCapacity(window);
        }
        replay.add(eventTime, input.clone());
    }
}
