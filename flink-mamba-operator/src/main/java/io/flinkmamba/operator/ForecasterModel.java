package io.flinkmamba.operator;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastScorer;
import io.flinkmamba.kernels.forecast.ForecastState;
import io.flinkmamba.kernels.forecast.Forecaster;
import io.flinkmamba.kernels.model.MambaModel;

/**
 * A forecaster with its scorer as the operators and the offline rebuilder see it: the state a key
 * starts from and which states it can advance ({@link AnomalyScoringOperator}, {@link StateRebuilder}).
 */
final class ForecasterModel implements KeyedMambaOperator.LoadedModel {
    final Forecaster forecaster;
    final ForecastScorer scorer;

    ForecasterModel(Forecaster forecaster, CalibrationSettings calibration) {
        this.forecaster = forecaster;
        this.scorer = new ForecastScorer(forecaster, calibration);
    }

    @Override
    public MambaModel backbone() {
        return forecaster.backbone();
    }

    @Override
    public String fingerprint() {
        return forecaster.fingerprint();
    }

    @Override
    public int inputWidth() {
        return forecaster.numFeatures();
    }

    @Override
    public KeyState freshState() {
        ForecastState f = scorer.newState();
        return new KeyState(f.backbone, 0, forecaster.fingerprint(), f);
    }

    @Override
    public boolean fits(KeyState s) {
        return s.forecast != null && s.forecast.backbone == s.state && scorer.fits(s.forecast);
    }
}
