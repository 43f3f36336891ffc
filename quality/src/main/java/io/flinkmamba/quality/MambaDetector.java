package io.flinkmamba.quality;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastScorer;
import io.flinkmamba.kernels.forecast.ForecastState;
import io.flinkmamba.kernels.forecast.Forecaster;

/**
 * The shipped forecaster through the same per-key engine the operator runs
 * ({@link ForecastScorer}): the detector's score is the anomaly likelihood.
 */
public final class MambaDetector implements Detector {
    private final Forecaster forecaster;
    private final CalibrationSettings calibration;

    public MambaDetector(Forecaster forecaster, CalibrationSettings calibration) {
        this.forecaster = forecaster;
        this.calibration = calibration;
    }

    @Override
    public String name() {
        return "Mamba forecaster " + forecaster.config().version() + " (likelihood window " + calibration.shortWindow() + ")";
    }

    @Override
    public Stream newStream(int features) {
        if (features != forecaster.numFeatures()) {
            throw new IllegalArgumentException("the forecaster takes " + forecaster.numFeatures() + " features, the series has "
                    + features);
        }
        ForecastScorer scorer = new ForecastScorer(forecaster, calibration);
        ForecastState state = scorer.newState();
        return x -> scorer.score(state, x).likelihood;
    }
}
