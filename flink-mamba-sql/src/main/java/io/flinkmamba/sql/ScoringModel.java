package io.flinkmamba.sql;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import org.apache.flink.table.types.DataType;

/**
 * A model MAMBA_SCORE can run. Loaded once per JVM and path ({@link ModelCache}) and shared by every
 * function instance there: immutable and thread-safe. The per-key work happens in the
 * {@link KeyScorer}s it creates (one per function instance).
 */
interface ScoringModel {
    /** Where it was loaded from, for messages. */
    String source();

    /** How many feature columns the call's {@code features => DESCRIPTOR(...)} must name. */
    int numFeatures();

    String version();

    String fingerprint();

    /**
     * The function's own output columns for this model (the input columns, passed through, come
     * before them); the last one is {@code rejected_reason}.
     */
    DataType outputType();

    /** Whether the model has an anomaly calibration (the anomaly_threshold and warmup_events arguments apply). */
    boolean calibrated();

    /** A scorer for one function instance; {@code calibration} matters only when {@link #calibrated()}. */
    KeyScorer newScorer(CalibrationSettings calibration);
}
