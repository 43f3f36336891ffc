package io.flinkmamba.sql;

import io.flinkmamba.kernels.forecast.Forecaster;
import io.flinkmamba.kernels.model.MambaModel;

import java.nio.file.Path;

/**
 * The one place that knows which engine runs which kind of model directory: a plain Hugging Face
 * Mamba checkpoint runs the bare block ({@link BlockModel}, the DataStream operator's
 * {@code MambaOperators.score}); a forecaster directory ({@code flink_mamba.kind = forecaster})
 * runs kernels' per-key forecast engine ({@link ForecasterModel}, the operator's {@code scoreAnomalies}).
 */
final class ModelKinds {
    private ModelKinds() {
    }

    static ScoringModel load(Path dir, String kind) {
        switch (kind) {
            case "block":
                return new BlockModel(MambaModel.load(dir), dir.getFileName().toString());
            case "forecaster":
                return new ForecasterModel(Forecaster.load(dir));
            default:
                throw new IllegalArgumentException("model " + dir + " is of kind '" + kind
                        + "', which MAMBA_SCORE cannot run (known: block, forecaster)");
        }
    }
}
