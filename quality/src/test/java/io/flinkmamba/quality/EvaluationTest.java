package io.flinkmamba.quality;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class EvaluationTest {
    /** 30 events, episodes at [10, 12] (LEVEL_SHIFT) and [20, 20] (SPIKE). */
    static Series series() {
        int n = 30;
        float[][] v = new float[n][1];
        boolean[] a = new boolean[n];
        String[] k = new String[n];
        for (int t = 10; t <= 12; t++) {
            a[t] = true;
            k[t] = "LEVEL_SHIFT";
        }
        a[20] = true;
        k[20] = "SPIKE";
        return new Series("s", v, a, k, 0, n);
    }

    @Test
    void windowsGraceFalseAlertsAndDelaysFollowTheStatedRules() {
        double[] score = new double[30];
        score[3] = 1;               // false alert
        score[4] = 1;               // same false alert (consecutive)
        score[12] = 1;              // detects the first episode, 2 events late
        score[15] = 1;              // within grace (end 12 + 3): not false
        score[26] = 1;              // 6 after the spike: outside grace 5 -> false; the spike is missed
        Evaluation.Result r = Evaluation.evaluate(List.of(series()), List.of(score), 0.5, 0, 3);
        assertEquals(2, r.episodes);
        assertEquals(1, r.detected);
        assertEquals(2, r.falseAlerts);
        assertEquals(List.of(2), r.delays);
        assertEquals(1 / 3.0, r.precision(), 1e-12);
        assertEquals(0.5, r.recall(), 1e-12);
        assertEquals(2 * (1 / 3.0) * 0.5 / (1 / 3.0 + 0.5), r.f1(), 1e-12);
        assertEquals(1, r.byKind.get("LEVEL_SHIFT")[1]);
        assertEquals(0, r.byKind.get("SPIKE")[1]);
        // with grace 6, the alarm at 26 detects the spike
        r = Evaluation.evaluate(List.of(series()), List.of(score), 0.5, 0, 6);
        assertEquals(2, r.detected);
        assertEquals(1, r.falseAlerts);
    }

    @Test
    void warmUpAndSplitRangesExcludeEventsAndEpisodes() {
        double[] score = new double[30];
        score[3] = 1;
        score[10] = 1;
        Evaluation.Result r = Evaluation.evaluate(List.of(series()), List.of(score), 0.5, 5, 3);
        assertEquals(0, r.falseAlerts, "the alarm at 3 is in the warm-up");
        Evaluation.Result second = Evaluation.evaluate(List.of(series().range(15, 30)), List.of(score), 0.5, 0, 3);
        assertEquals(1, second.episodes, "only the spike starts in [15, 30)");
        assertEquals(0, second.detected);
    }

    @Test
    void tuningPicksTheThresholdWithTheBestF1() {
        double[] score = new double[30];
        for (int t = 0; t < 30; t++) {
            score[t] = 0.1 * (t % 7);
        }
        score[10] = 5;
        score[20] = 4;
        Evaluation.Result r = Evaluation.tune(List.of(series()), List.of(score), 0, 3, 50);
        assertEquals(1.0, r.f1(), 1e-12);
        assertEquals(4.0, r.threshold, 1e-12);
    }
}
