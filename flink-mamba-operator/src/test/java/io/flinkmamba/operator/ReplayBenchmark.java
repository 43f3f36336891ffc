package io.flinkmamba.operator;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastScorer;
import io.flinkmamba.kernels.forecast.ForecastState;
import io.flinkmamba.kernels.forecast.Forecaster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Cost of the REPLAY upgrade per key: StateRebuilder (fresh state + one batched parallel forward over
 * the key's W buffered inputs, what the operator and the offline tool run) against the peer, the
 * recurrent per-event loop over the same W inputs, on the shipped general-univariate forecaster.
 * Not a unit test (timings); run:
 * <pre>mvn -B -o test -pl flink-mamba-operator -am -Dtest=ReplayBenchmark -Dsurefire.failIfNoSpecifiedTests=false -Dflinkmamba.bench=true</pre>
 */
class ReplayBenchmark {
    static final int KEYS = 200;

    @Test
    @EnabledIfSystemProperty(named = "flinkmamba.bench", matches = "true")
    void replayCostPerKey() throws Exception {
        Path dir = Paths.get("..", "models", "general-univariate").toAbsolutePath().normalize();
        Forecaster fc = Forecaster.load(dir);
        StringBuilder report = new StringBuilder("model general-univariate (" + fc.fingerprint().substring(0, 16) + "), "
                + KEYS + " keys, times per key (median of 5 rounds)\n");
        for (int w : new int[] {64, 256}) {
            List<KeyState> olds = new ArrayList<>();
            Random rnd = new Random(w);
            for (int k = 0; k < KEYS; k++) {
                KeyState s = new KeyState(new float[0], 0, "old-model");
                for (int t = 0; t < w; t++) {
                    s.remember(t, new float[] {(float) (20 + 3 * Math.sin(t / 9.0 + k) + rnd.nextGaussian())}, w);
                }
                olds.add(s);
            }
            StateRebuilder rb = StateRebuilder.load(dir, "v2", w, CalibrationSettings.DEFAULT);
            ForecastScorer scorer = new ForecastScorer(fc, CalibrationSettings.DEFAULT);
            double[] batched = new double[5];
            double[] recurrent = new double[5];
            for (int round = -2; round < 5; round++) { // two warm-up rounds
                long t0 = System.nanoTime();
                for (KeyState s : olds) {
                    rb.upgrade("k", s.deepCopy(), UpgradePolicy.REPLAY);
                }
                long t1 = System.nanoTime();
                for (KeyState s : olds) {
                    ForecastState f = scorer.newState();
                    for (PendingEvent e : s.replay.events()) {
                        scorer.score(f, e.input);
                    }
                }
                long t2 = System.nanoTime();
                if (round >= 0) {
                    batched[round] = (t1 - t0) / 1e3 / KEYS;
                    recurrent[round] = (t2 - t1) / 1e3 / KEYS;
                }
            }
            java.util.Arrays.sort(batched);
            java.util.Arrays.sort(recurrent);
            report.append(String.format("W=%d: REPLAY rebuild (batched forward) %.1f us/key, recurrent per-event loop %.1f us/key, "
                    + "ratio recurrent/batched %.2f%n", w, batched[2], recurrent[2], recurrent[2] / batched[2]));
        }
        System.out.println("REPLAY-BENCH " + report);
        java.nio.file.Files.writeString(Paths.get("target", "replay-bench.txt"), report.toString());
    }
}
