package io.flinkmamba.sql;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastResult;
import io.flinkmamba.kernels.forecast.ForecastScorer;
import io.flinkmamba.kernels.forecast.ForecastState;
import io.flinkmamba.kernels.forecast.Forecaster;
import org.apache.flink.types.Row;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The per-key engine run directly, key by key, in the readings' order: what SQL must reproduce. */
final class EngineReference {
    /** Relative tolerance: the same math in another thread may round differently once JIT-compiled (Vector API). */
    static final double TOL = 1e-5;

    private EngineReference() {
    }

    static Map<String, List<ForecastResult>> score(Forecaster f, CalibrationSettings c, List<Reading> readings) {
        ForecastScorer scorer = new ForecastScorer(f, c);
        Map<String, ForecastState> states = new HashMap<>();
        Map<String, List<ForecastResult>> out = new HashMap<>();
        Reading.Extractor x = new Reading.Extractor();
        for (Reading r : readings) {
            if (r.valid()) {
                ForecastState s = states.computeIfAbsent(r.key, k -> scorer.newState());
                out.computeIfAbsent(r.key, k -> new ArrayList<>()).add(scorer.score(s, x.features(r)));
            }
        }
        return out;
    }

    static void assertSame(ForecastResult e, Row r, String what) {
        assertEquals(e.eventsSeen, (long) (Long) r.getField("events_seen"), what);
        assertEquals(e.warmingUp, r.getField("warming_up"), what);
        close(e.score, (Double) r.getField("score"), what + " score");
        close(e.likelihood, (Double) r.getField("anomaly_likelihood"), what + " likelihood");
        assertEquals(e.anomaly, r.getField("is_anomaly"), what + " is_anomaly");
        if (!e.hasForecast()) {
            assertNull(r.getField("forecast"), what);
            return;
        }
        Float[] fc = (Float[]) r.getField("forecast");
        Float[] sd = (Float[]) r.getField("forecast_std");
        assertEquals(e.forecast.length, fc.length, what);
        for (int i = 0; i < fc.length; i++) {
            close(e.forecast[i], fc[i], what + " forecast[" + i + "]");
            close(e.forecastStd[i], sd[i], what + " forecast_std[" + i + "]");
        }
    }

    /** The DataStream operator's verdict ({@code MambaOperators.scoreAnomalies}) against a SQL row. */
    static void assertSame(io.flinkmamba.operator.AnomalyScore<String> e, Row r, String what) {
        assertEquals(e.eventsSeen, (long) (Long) r.getField("events_seen"), what);
        assertEquals(e.warmingUp, r.getField("warming_up"), what);
        assertEquals(e.isAnomaly, r.getField("is_anomaly"), what + " is_anomaly");
        assertEquals(e.modelVersion, r.getField("model_version"), what);
        assertEquals(e.modelFingerprint, r.getField("model_fingerprint"), what);
        close(e.score, (Double) r.getField("score"), what + " score");
        close(e.anomalyLikelihood, (Double) r.getField("anomaly_likelihood"), what + " likelihood");
        if (e.eventsSeen == 1) {
            assertNull(r.getField("forecast"), what + ": the operator's NaN forecast is NULL in SQL");
            return;
        }
        Float[] fc = (Float[]) r.getField("forecast");
        Float[] sd = (Float[]) r.getField("forecast_std");
        assertEquals(e.forecast.length, fc.length, what);
        for (int i = 0; i < fc.length; i++) {
            close(e.forecast[i], fc[i], what + " forecast[" + i + "]");
            close(e.forecastStd[i], sd[i], what + " forecast_std[" + i + "]");
        }
    }

    static void close(double expected, double got, String what) {
        double tol = TOL * Math.max(1, Math.abs(expected));
        if (!(Math.abs(expected - got) <= tol)) {
            throw new AssertionError(what + ": expected " + expected + " but got " + got);
        }
    }
}
