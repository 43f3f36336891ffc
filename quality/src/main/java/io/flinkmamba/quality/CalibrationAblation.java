package io.flinkmamba.quality;

import io.flinkmamba.kernels.forecast.AnomalyCalibration;
import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.ForecastResult;
import io.flinkmamba.kernels.forecast.ForecastScorer;
import io.flinkmamba.kernels.forecast.ForecastState;
import io.flinkmamba.kernels.forecast.Forecaster;

import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.DoubleUnaryOperator;

/** Development aid: the forecaster's raw scores once, then calibration variants on top (tuning F1 and held-out F1). */
public final class CalibrationAblation {
    public static void main(String[] args) throws Exception {
        Forecaster f = Forecaster.load(Paths.get(args.length > 0 ? args[0] : "models/general-univariate"));
        int keys = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        List<Series> tune = Datasets.generated(keys, 1, 3000, 1000);
        List<Series> test = Datasets.generated(keys, 1, 3000, 1001);
        List<Series> rtune = Datasets.real(2000, true);
        List<Series> rtest = Datasets.real(2000, false);
        List<double[]> nTune = nll(f, tune), nTest = nll(f, test), rnTune = nll(f, rtune), rnTest = nll(f, rtest);
        double floor = 0.5 * (Math.log(2 * Math.PI) + f.config().logVarMin());
        String[] names = {"raw", "log"};
        DoubleUnaryOperator[] tf = {x -> x, x -> Math.log(x - floor + 1e-3)};
        for (int v = 0; v < names.length; v++) {
            for (int w : new int[] {1, 3, 5, 10}) {
                for (double alpha : new double[] {0.002, 0.01}) {
                    CalibrationSettings c = new CalibrationSettings(w, alpha, 0, 0.5);
                    String gen = run(tune, test, nTune, nTest, c, tf[v]);
                    String real = run(rtune, rtest, rnTune, rnTest, c, tf[v]);
                    System.out.printf(Locale.ROOT, "%-4s window %2d alpha %.3f | generated %s | real %s%n", names[v], w, alpha, gen, real);
                }
            }
        }
    }

    static String run(List<Series> tune, List<Series> test, List<double[]> nTune, List<double[]> nTest,
                      CalibrationSettings c, DoubleUnaryOperator tf) {
        List<double[]> lTune = likelihoods(nTune, c, tf), lTest = likelihoods(nTest, c, tf);
        Evaluation.Result t = Evaluation.tune(tune, lTune, 200, 5, 200);
        Evaluation.Result r = Evaluation.evaluate(test, lTest, t.threshold, 200, 5);
        return String.format(Locale.ROOT, "tune F1 %.3f test P %.3f R %.3f F1 %.3f (thr 1-%.1e)", t.f1(), r.precision(), r.recall(),
                r.f1(), 1 - t.threshold);
    }

    static List<double[]> nll(Forecaster f, List<Series> series) {
        List<double[]> out = new ArrayList<>();
        for (Series s : series) {
            ForecastScorer scorer = new ForecastScorer(f, CalibrationSettings.DEFAULT);
            ForecastState st = scorer.newState();
            double[] sc = new double[s.length()];
            for (int t = 0; t < s.length(); t++) {
                ForecastResult r = scorer.score(st, s.values[t]);
                sc[t] = r.score;
            }
            out.add(sc);
        }
        return out;
    }

    static List<double[]> likelihoods(List<double[]> nll, CalibrationSettings c, DoubleUnaryOperator tf) {
        List<double[]> out = new ArrayList<>();
        for (double[] n : nll) {
            ForecastState st = new ForecastState(null, 1, c.shortWindow());
            double[] l = new double[n.length];
            for (int t = 0; t < n.length; t++) {
                l[t] = t == 0 ? 0.5 : AnomalyCalibration.observe(c, st, t, tf.applyAsDouble(n[t]));
            }
            out.add(l);
        }
        return out;
    }
}
