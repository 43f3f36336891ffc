package io.flinkmamba.kernels.forecast;

import io.flinkmamba.kernels.cpu.RecurrentStepper;
import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaBatch;

import java.util.Arrays;
import java.util.List;

/**
 * The per-key anomaly scorer: applies the forecaster's five per-event steps and the calibration to a
 * key's {@link ForecastState}, either one event at a time (recurrent backbone step) or for a run of a
 * key's events whose backbone outputs come from one batched parallel call. Both ways go through the
 * same {@link #prepare} and {@link #finish}, so given the same backbone outputs they give identical
 * results, bit for bit.
 *
 * <p>Holds scratch buffers and a recurrent stepper: one instance per thread.
 *
 * <pre>{@code
 * ForecastScorer scorer = new ForecastScorer(Forecaster.load(dir), CalibrationSettings.DEFAULT);
 * ForecastState s = scorer.newState();                  // one per key
 * ForecastResult r = scorer.score(s, new float[] {42f});
 * }</pre>
 */
public final class ForecastScorer {
    private final Forecaster forecaster;
    private final ForecasterConfig config;
    private final CalibrationSettings calibration;
    private final int features;
    private final int hidden;
    private final int stateFloats;
    private RecurrentStepper stepper;
    private final float[] y;

    public ForecastScorer(Forecaster forecaster, CalibrationSettings calibration) {
        this.forecaster = forecaster;
        this.config = forecaster.config();
        this.calibration = calibration;
        this.features = forecaster.numFeatures();
        this.hidden = forecaster.hiddenSize();
        this.stateFloats = forecaster.backbone().config().stateFloats();
        this.y = new float[hidden];
    }

    public Forecaster forecaster() {
        return forecaster;
    }

    public CalibrationSettings calibration() {
        return calibration;
    }

    /** A key's state before its first event. */
    public ForecastState newState() {
        return new ForecastState(forecaster.backbone().newState(), features, calibration.shortWindow());
    }

    /** Whether {@code s} has the shapes of this forecaster's states (a restored state may come from another model). */
    public boolean fits(ForecastState s) {
        return s.backbone != null && s.backbone.length == stateFloats && s.mean.length == features
                && s.var.length == features && s.mu.length == features && s.logVar.length == features;
    }

    /** Null when the features can be scored, else the reason (wrong count, NaN or infinite). */
    public String invalidReason(float[] x) {
        if (x == null) {
            return "missing features (null)";
        }
        if (x.length != features) {
            return "expected " + features + " features (" + String.join(", ", config.featureNames()) + ") but got "
                    + x.length;
        }
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i])) {
                return "feature " + i + " (" + config.featureNames().get(i) + ") is " + x[i] + " (NaN or infinite)";
            }
        }
        return null;
    }

    /** Per-event mode: scores one event and advances the key's state (recurrent backbone step). */
    public ForecastResult score(ForecastState s, float[] x) {
        PreparedRun run = prepare(s, List.of(x));
        if (stepper == null) {
            stepper = forecaster.backbone().newStepper();
        }
        stepper.step(s.backbone, 0, run.inputs, 0, y, 0);
        return finish(s, run, y, 0, null, 0)[0];
    }

    /**
     * Micro-batch, phase 1: normalises a run of the key's events (steps 1 and 3, which need no model
     * output) and computes their backbone inputs (step 4's projection). Does not change {@code s}.
     */
    public PreparedRun prepare(ForecastState s, List<float[]> xs) {
        int len = xs.size();
        String bad;
        for (float[] x : xs) {
            if ((bad = invalidReason(x)) != null) {
                throw new IllegalArgumentException(bad);
            }
        }
        double[] z = new double[len * features];
        double[] mean = new double[len * features];
        double[] scale = new double[len * features];
        float[] inputs = new float[len * hidden];
        float[][] events = new float[len][];
        long n = s.events;
        double[] m = s.mean.clone();
        double[] v = s.var.clone();
        for (int t = 0; t < len; t++) {
            float[] x = xs.get(t);
            events[t] = x.clone();
            System.arraycopy(m, 0, mean, t * features, features);
            Normaliser.normalise(config, n, m, v, x, z, scale, t * features);
            n = Normaliser.update(config, n, m, v, x);
            forecaster.project(z, t * features, inputs, t * hidden);
        }
        return new PreparedRun(len, events, z, mean, scale, inputs, n, m, v);
    }

    /** Micro-batch: appends the run to {@code batch} from the key's backbone state; returns its sequence index. */
    public int addTo(MambaBatch batch, ForecastState s, PreparedRun run) {
        int seq = batch.addSequence(s.backbone, 0, run.length);
        System.arraycopy(run.inputs, 0, batch.inputs(), batch.tokenOffset(seq) * hidden, run.length * hidden);
        return seq;
    }

    /** Micro-batch, phase 2, after the batched call: scores the run's events and advances the key's state. */
    public ForecastResult[] finish(ForecastState s, PreparedRun run, MambaBatch batch, int seq) {
        if (batch.length(seq) != run.length) {
            throw new IllegalArgumentException("sequence " + seq + " has " + batch.length(seq) + " events, the run " + run.length);
        }
        return finish(s, run, batch.outputs(), batch.tokenOffset(seq) * hidden, batch.states(), seq * stateFloats);
    }

    /**
     * Phase 2 given the backbone outputs ({@code run.length} rows of hidden_size floats from
     * {@code outOff}) and the backbone's final state ({@code finalBackbone} at {@code stateOff}; null
     * when {@code s.backbone} already holds it). Steps 2 and 5 and the calibration, event by event.
     */
    public ForecastResult[] finish(ForecastState s, PreparedRun run, float[] outputs, int outOff,
                                   float[] finalBackbone, int stateOff) {
        ForecastResult[] results = new ForecastResult[run.length];
        for (int t = 0; t < run.length; t++) {
            int zOff = t * features;
            float[] forecast = new float[features];
            float[] std = new float[features];
            double score;
            double likelihood;
            if (s.events == 0) {
                Arrays.fill(forecast, Float.NaN);
                Arrays.fill(std, Float.NaN);
                score = 0;
                likelihood = 0.5;
            } else {
                for (int f = 0; f < features; f++) {
                    double sc = run.scale[zOff + f];
                    forecast[f] = (float) (run.mean[zOff + f] + sc * s.mu[f]);
                    std[f] = (float) (sc * Math.exp(0.5 * s.logVar[f]));
                }
                score = Normaliser.nll(run.z, zOff, s.mu, s.logVar);
                likelihood = AnomalyCalibration.observe(calibration, s, s.events, score);
            }
            s.events++;
            boolean warmingUp = s.events <= calibration.warmupEvents();
            boolean anomaly = !warmingUp && likelihood >= calibration.threshold();
            results[t] = new ForecastResult(forecast, std, score, likelihood, anomaly, warmingUp, s.events);
            forecaster.head(outputs, outOff + t * hidden, s.mu, s.logVar);
        }
        if (s.events != run.eventsAfter) {
            throw new IllegalStateException("the key's state changed between prepare and finish (" + s.events
                    + " events, the run expected " + run.eventsAfter + ")");
        }
        s.mean = run.meanAfter.clone();
        s.var = run.varAfter.clone();
        if (finalBackbone != null) {
            System.arraycopy(finalBackbone, stateOff, s.backbone, 0, stateFloats);
        }
        return results;
    }

    /** Micro-batch for one key: prepare, one call of {@code forward}, finish. */
    public ForecastResult[] scoreRun(ForecastState s, List<float[]> xs, BatchForward forward) {
        PreparedRun run = prepare(s, xs);
        MambaBatch batch = new MambaBatch(forecaster.backbone().config());
        int seq = addTo(batch, s, run);
        forward.forward(batch);
        return finish(s, run, batch, seq);
    }
}
