package io.flinkmamba.quality;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Event-window scoring of alarms against labelled episodes (an episode = a maximal run of labelled
 * events of one series):
 * <ul>
 *   <li>an alarm is an event with score &gt;= threshold, at or after the warm-up, in the split's range;</li>
 *   <li>an episode is detected when an alarm falls in [start, end + grace]; its time to detection is
 *       the first such alarm's index minus start (events);</li>
 *   <li>alarms outside every episode's [start, end + grace] are false; consecutive false alarms form
 *       one false alert;</li>
 *   <li>recall = detected / episodes; precision = detected / (detected + false alerts); F1 their
 *       harmonic mean.</li>
 * </ul>
 */
public final class Evaluation {
    private Evaluation() {
    }

    /** What one threshold gives on a set of series. */
    public static final class Result {
        public final double threshold;
        public int episodes;
        public int detected;
        public int falseAlerts;
        public final List<Integer> delays = new ArrayList<>();
        public final Map<String, int[]> byKind = new TreeMap<>(); // kind -> {episodes, detected}

        Result(double threshold) {
            this.threshold = threshold;
        }

        public double precision() {
            return detected + falseAlerts == 0 ? 0 : detected / (double) (detected + falseAlerts);
        }

        public double recall() {
            return episodes == 0 ? 0 : detected / (double) episodes;
        }

        public double f1() {
            double p = precision(), r = recall();
            return p + r == 0 ? 0 : 2 * p * r / (p + r);
        }

        public double meanDelay() {
            return delays.stream().mapToInt(Integer::intValue).average().orElse(Double.NaN);
        }

        public double medianDelay() {
            if (delays.isEmpty()) {
                return Double.NaN;
            }
            int[] d = delays.stream().mapToInt(Integer::intValue).sorted().toArray();
            return d.length % 2 == 1 ? d[d.length / 2] : (d[d.length / 2 - 1] + d[d.length / 2]) / 2.0;
        }
    }

    public static Result evaluate(List<Series> series, List<double[]> scores, double threshold, int warmup, int grace) {
        Result r = new Result(threshold);
        for (int i = 0; i < series.size(); i++) {
            evaluate(series.get(i), scores.get(i), threshold, warmup, grace, r);
        }
        return r;
    }

    static void evaluate(Series s, double[] score, double threshold, int warmup, int grace, Result r) {
        int n = s.length();
        int from = Math.max(s.evalFrom, warmup);
        boolean[] covered = new boolean[n];
        int t = 0;
        while (t < n) {
            if (!s.anomalous[t]) {
                t++;
                continue;
            }
            int start = t;
            while (t < n && s.anomalous[t]) {
                t++;
            }
            int end = t - 1;
            int windowEnd = Math.min(n - 1, end + grace);
            for (int u = start; u <= windowEnd; u++) {
                covered[u] = true;
            }
            if (start < from || start >= s.evalTo) {
                continue;
            }
            r.episodes++;
            int[] k = r.byKind.computeIfAbsent(s.kind[start], x -> new int[2]);
            k[0]++;
            for (int u = start; u <= windowEnd; u++) {
                if (score[u] >= threshold) {
                    r.detected++;
                    k[1]++;
                    r.delays.add(u - start);
                    break;
                }
            }
        }
        boolean inAlert = false;
        for (int u = from; u < s.evalTo; u++) {
            boolean falseAlarm = score[u] >= threshold && !covered[u];
            if (falseAlarm && !inAlert) {
                r.falseAlerts++;
            }
            inAlert = falseAlarm;
        }
    }

    /**
     * The threshold with the best F1 on {@code series} among candidates taken as quantiles of the
     * scores in the evaluated ranges (the same candidate rule for every detector); ties go to the
     * higher threshold.
     */
    public static Result tune(List<Series> series, List<double[]> scores, int warmup, int grace, int candidates) {
        List<Double> pool = new ArrayList<>();
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            for (int t = Math.max(s.evalFrom, warmup); t < s.evalTo; t++) {
                pool.add(scores.get(i)[t]);
            }
        }
        double[] sorted = pool.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double[] thresholds = new double[candidates + 1];
        for (int c = 0; c < candidates; c++) {
            // quantiles 0.5 .. 1 - 1e-5, denser towards the top where thresholds live
            double q = 1 - 0.5 * Math.pow(1e-5 / 0.5, c / (double) (candidates - 1));
            thresholds[c] = sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
        }
        thresholds[candidates] = sorted[sorted.length - 1];
        thresholds = Arrays.stream(thresholds).distinct().sorted().toArray();
        Result best = null;
        for (double th : thresholds) {
            Result r = evaluate(series, scores, th, warmup, grace);
            if (best == null || r.f1() >= best.f1()) {
                best = r;
            }
        }
        return best;
    }
}
