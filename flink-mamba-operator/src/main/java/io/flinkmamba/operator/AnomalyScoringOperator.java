package io.flinkmamba.operator;

import io.flinkmamba.kernels.forecast.ForecastResult;
import io.flinkmamba.kernels.forecast.ForecastScorer;
import io.flinkmamba.kernels.forecast.Forecaster;
import io.flinkmamba.kernels.forecast.PreparedRun;
import io.flinkmamba.kernels.model.BatchForward;
import io.flinkmamba.kernels.model.MambaBatch;
import org.apache.flink.metrics.Counter;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Scores every event of a keyed stream with a forecaster ({@link MambaOperators#scoreAnomalies}):
 * the key's forecast of the event, its negative log-likelihood, and the likelihood calibrated against
 * the key's own history. The per-key math is the kernels' {@link ForecastScorer}; this class only
 * keeps its state in Flink keyed state and batches the backbone calls of many keys in the
 * micro-batch mode. Both modes give the same results (the backbone's parallel and recurrent forms
 * agree to float32 rounding).
 */
public class AnomalyScoringOperator<K, IN> extends KeyedMambaOperator<K, IN, AnomalyScore<K>> {
    private static final long serialVersionUID = 1L;

    private transient Forecaster forecaster;
    private transient ForecastScorer scorer;
    private transient Counter anomaliesFlagged;
    private transient Counter eventsWarmingUp;

    public AnomalyScoringOperator(MambaSpec<IN> spec, MambaSettings settings) {
        super(spec, settings);
    }

    @Override
    public void open() throws Exception {
        anomaliesFlagged = getMetricGroup().counter("anomaliesFlagged");
        eventsWarmingUp = getMetricGroup().counter("eventsWarmingUp");
        super.open();
    }

    @Override
    protected LoadedModel load(Path dir) {
        return new ForecasterModel(Forecaster.load(dir), settings.calibration);
    }

    @Override
    protected void use(LoadedModel loaded) {
        forecaster = ((ForecasterModel) loaded).forecaster;
        scorer = ((ForecasterModel) loaded).scorer;
    }

    @Override
    protected long stateBytesPerKey() {
        int f = forecaster.numFeatures();
        return forecaster.backbone().stateBytes() + Long.BYTES + forecaster.fingerprint().length() + 8
                + 16L * f + 8L * f + 64 + 8L * settings.calibration.shortWindow() + modelVersion().length()
                + (long) settings.replayWindow * (Long.BYTES + Integer.BYTES + (long) Float.BYTES * f);
    }

    @Override
    protected float[] modelInput(float[] features) throws InvalidEventException {
        String reason = scorer.invalidReason(features);
        if (reason != null) {
            throw new InvalidEventException(reason);
        }
        return features;
    }

    @Override
    protected AnomalyScore<K> scoreOne(K key, KeyState s, long eventTime, float[] input) {
        return toScore(key, eventTime, input, scorer.score(s.forecast, input));
    }

    @Override
    protected List<List<AnomalyScore<K>>> scoreRuns(BatchForward batchForward, MambaBatch batch, List<K> keys,
                                                    List<KeyState> states, List<List<PendingEvent>> runs) {
        int n = keys.size();
        List<PreparedRun> prepared = new ArrayList<>(n);
        int[] seqs = new int[n];
        batch.clear();
        for (int i = 0; i < n; i++) {
            List<float[]> xs = new ArrayList<>(runs.get(i).size());
            for (PendingEvent e : runs.get(i)) {
                xs.add(e.input);
            }
            PreparedRun run = scorer.prepare(states.get(i).forecast, xs);
            prepared.add(run);
            seqs[i] = scorer.addTo(batch, states.get(i).forecast, run);
        }
        batchForward.forward(batch);
        List<List<AnomalyScore<K>>> outputs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ForecastResult[] results = scorer.finish(states.get(i).forecast, prepared.get(i), batch, seqs[i]);
            List<PendingEvent> evs = runs.get(i);
            List<AnomalyScore<K>> outs = new ArrayList<>(evs.size());
            for (int t = 0; t < evs.size(); t++) {
                outs.add(toScore(keys.get(i), evs.get(t).eventTime, evs.get(t).input, results[t]));
            }
            outputs.add(outs);
        }
        return outputs;
    }

    private AnomalyScore<K> toScore(K key, long eventTime, float[] input, ForecastResult r) {
        AnomalyScore<K> a = new AnomalyScore<>();
        a.key = key;
        a.eventTime = eventTime;
        a.input = input.clone();
        a.forecast = r.forecast;
        a.forecastStd = r.forecastStd;
        a.score = r.score;
        a.anomalyLikelihood = r.likelihood;
        a.isAnomaly = r.anomaly;
        a.warmingUp = r.warmingUp;
        a.modelVersion = modelVersion();
        a.modelFingerprint = forecaster.fingerprint();
        a.eventsSeen = r.eventsSeen;
        return a;
    }

    @Override
    protected void onEmit(AnomalyScore<K> out) {
        if (out.isAnomaly) {
            anomaliesFlagged.inc();
        }
        if (out.warmingUp) {
            eventsWarmingUp.inc();
        }
    }

    /** The loaded forecaster, for tests. */
    Forecaster forecaster() {
        return forecaster;
    }
}
