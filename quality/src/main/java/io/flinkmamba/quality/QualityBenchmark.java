package io.flinkmamba.quality;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.Forecaster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Anomaly-detection quality of a forecaster (through the operator's per-key engine) next to a rolling
 * z-score and Random Cut Forest, on labelled series. Every detector gets the same tuning budget: three
 * values of its one main hyperparameter, and for each a threshold among the same number of score
 * quantiles, all picked for the best F1 on the tuning split; the report is on the held-out split.
 *
 * <pre>
 * java ... io.flinkmamba.quality.QualityBenchmark [--model models/general-univariate] [--keys 20]
 *     [--events 3000] [--candidates 200] [--real-max-events N] [--multivariate-model models/sensor-multivariate|none]
 *     [--out quality/target/quality.md]
 * </pre>
 * Generated data: SENSOR family, one channel, tuning seed 1000, held-out seed 1001 (training used seeds below 1000).
 */
public final class QualityBenchmark {
    static final int WARMUP = 200;
    static final int GRACE = 5;

    public static void main(String[] args) throws IOException {
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        Path model = Paths.get(a.getOrDefault("model", "models/general-univariate"));
        int keys = Integer.parseInt(a.getOrDefault("keys", "20"));
        int events = Integer.parseInt(a.getOrDefault("events", "3000"));
        int candidates = Integer.parseInt(a.getOrDefault("candidates", "200"));
        Path out = Paths.get(a.getOrDefault("out", "quality/target/quality.md"));
        int realMax = Integer.parseInt(a.getOrDefault("real-max-events", String.valueOf(Integer.MAX_VALUE)));
        String multi = a.getOrDefault("multivariate-model", "models/sensor-multivariate");
        Forecaster multivariate = multi.equals("none") ? null : Forecaster.load(Paths.get(multi));
        String report = run(Forecaster.load(model), multivariate, keys, events, candidates, realMax);
        System.out.println(report);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, report);
    }

    /** The detectors' families, each with its three configurations. */
    static Map<String, List<Detector>> detectors(Forecaster forecaster) {
        Map<String, List<Detector>> d = new LinkedHashMap<>();
        List<Detector> mamba = new ArrayList<>();
        for (int w : new int[] {1, 3, 5}) {
            mamba.add(new MambaDetector(forecaster, CalibrationSettings.DEFAULT.withShortWindow(w).withWarmupEvents(0)));
        }
        d.put("Mamba " + forecaster.config().version(), mamba);
        d.put("rolling z-score", List.of(new RollingZScore(20), new RollingZScore(50), new RollingZScore(200)));
        d.put("Random Cut Forest", List.of(new RandomCutForestDetector(1, 42), new RandomCutForestDetector(4, 42),
                new RandomCutForestDetector(8, 42)));
        return d;
    }

    static String run(Forecaster forecaster, Forecaster multivariate, int keys, int events, int candidates, int realMaxEvents)
            throws IOException {
        StringBuilder sb = new StringBuilder();
        List<String[]> sets = new ArrayList<>(List.of(new String[] {"generated", "generator SENSOR, 1 channel, " + keys + " keys x "
                        + events + " events per split (tuning seed 1000, held-out seed 1001)"},
                new String[] {"real", "NOAA Seattle hourly normals (pressure, temperature, wind) and daily weather of Seattle "
                        + "and New York (temp_max, wind), vega-datasets 3.2.1, with injected labelled anomalies (seed 2000); "
                        + "first half of each series tunes, second half held out"}));
        if (multivariate != null) {
            sets.add(new String[] {"generated-3-channels", "generator SENSOR, 3 channels, " + keys + " keys x " + events
                    + " events per split (tuning seed 1000, held-out seed 1001), model " + multivariate.config().version()});
        }
        for (String[] set : sets) {
            if (set[0].equals("real") && realMaxEvents <= 0) {
                continue; // quick runs: generated data only
            }
            List<Series> tune, test;
            Forecaster model = forecaster;
            if (set[0].equals("generated")) {
                tune = Datasets.generated(keys, 1, events, 1000);
                test = Datasets.generated(keys, 1, events, 1001);
            } else if (set[0].equals("real")) {
                tune = Datasets.real(2000, true, realMaxEvents);
                test = Datasets.real(2000, false, realMaxEvents);
            } else {
                tune = Datasets.generated(keys, 3, events, 1000);
                test = Datasets.generated(keys, 3, events, 1001);
                model = multivariate;
            }
            sb.append("#### ").append(set[0]).append(": ").append(set[1]).append("\n\n");
            sb.append("| detector | chosen on tuning split | tuning F1 | precision | recall | **F1** | time to detection, mean / median (events) | episodes | false alerts | seconds |\n");
            sb.append("|---|---|---|---|---|---|---|---|---|---|\n");
            Map<String, Evaluation.Result> held = new LinkedHashMap<>();
            for (Map.Entry<String, List<Detector>> fam : detectors(model).entrySet()) {
                long start = System.nanoTime();
                Evaluation.Result bestTune = null;
                Detector best = null;
                Map<Detector, Map<float[][], double[]>> cache = new IdentityHashMap<>();
                for (Detector d : fam.getValue()) {
                    Evaluation.Result r = Evaluation.tune(tune, scores(d, tune, cache), WARMUP, GRACE, candidates);
                    if (bestTune == null || r.f1() > bestTune.f1()) {
                        bestTune = r;
                        best = d;
                    }
                }
                Evaluation.Result r = Evaluation.evaluate(test, scores(best, test, cache), bestTune.threshold, WARMUP, GRACE);
                double secs = (System.nanoTime() - start) / 1e9;
                held.put(fam.getKey(), r);
                sb.append(String.format(Locale.ROOT, "| %s | %s, threshold %s | %.3f | %.3f | %.3f | **%.3f** | %.1f / %.1f | %d | %d | %.0f |\n",
                        fam.getKey(), best.name(), fmt(bestTune.threshold), bestTune.f1(), r.precision(), r.recall(), r.f1(),
                        r.meanDelay(), r.medianDelay(), r.episodes, r.falseAlerts, secs));
            }
            // what a user gets without any tuning: the operator's defaults
            Detector dflt = new MambaDetector(model, CalibrationSettings.DEFAULT.withWarmupEvents(0));
            Evaluation.Result r = Evaluation.evaluate(test, scores(dflt, test, new IdentityHashMap<>()),
                    CalibrationSettings.DEFAULT_THRESHOLD, WARMUP, GRACE);
            sb.append(String.format(Locale.ROOT, "| (Mamba %s at the operator's defaults, untuned) | window %d, threshold %s | - | %.3f | %.3f | **%.3f** | %.1f / %.1f | %d | %d | - |\n",
                    model.config().version(), CalibrationSettings.DEFAULT_SHORT_WINDOW, fmt(CalibrationSettings.DEFAULT_THRESHOLD),
                    r.precision(), r.recall(), r.f1(), r.meanDelay(), r.medianDelay(), r.episodes, r.falseAlerts));
            sb.append("\nRecall by anomaly kind (held-out split, detected / episodes):\n\n| detector |");
            List<String> kinds = new ArrayList<>(held.values().iterator().next().byKind.keySet());
            for (String k : kinds) {
                sb.append(' ').append(k).append(" |");
            }
            sb.append("\n|---|").append("---|".repeat(kinds.size())).append('\n');
            for (Map.Entry<String, Evaluation.Result> e : held.entrySet()) {
                sb.append("| ").append(e.getKey()).append(" |");
                for (String k : kinds) {
                    int[] c = e.getValue().byKind.getOrDefault(k, new int[2]);
                    sb.append(' ').append(c[1]).append('/').append(c[0]).append(" |");
                }
                sb.append('\n');
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static String fmt(double t) {
        return t > 0.99 && t < 1 ? String.format(Locale.ROOT, "1 - %.1e", 1 - t) : String.format(Locale.ROOT, "%.4g", t);
    }

    /** Each series' scores, computed once per detector and series (a split's series share their values). */
    static List<double[]> scores(Detector d, List<Series> series, Map<Detector, Map<float[][], double[]>> cache) {
        Map<float[][], double[]> mine = cache.computeIfAbsent(d, x -> new IdentityHashMap<>());
        List<double[]> out = new ArrayList<>();
        for (Series s : series) {
            out.add(mine.computeIfAbsent(s.values, v -> {
                Detector.Stream st = d.newStream(s.features());
                double[] sc = new double[v.length];
                for (int t = 0; t < v.length; t++) {
                    sc[t] = st.score(v[t]);
                }
                return sc;
            }));
        }
        return out;
    }
}
