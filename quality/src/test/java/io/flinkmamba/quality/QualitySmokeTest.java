package io.flinkmamba.quality;

import io.flinkmamba.kernels.forecast.CalibrationSettings;
import io.flinkmamba.kernels.forecast.Forecaster;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.testing.RandomForecasters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The benchmark end to end on a little data with a random forecaster: it runs and its numbers are sane. */
class QualitySmokeTest {
    @TempDir
    Path tmp;

    @Test
    void runsEveryDetectorAndReportsEveryFamily() throws Exception {
        Forecaster f = Forecaster.load(RandomForecasters.write(tmp.resolve("m"), MambaConfig.of(8, 4, 1), 1, 3));
        String report = QualityBenchmark.run(f, null, 1, 700, 20, 0);
        assertTrue(report.contains("#### generated") && !report.contains("#### real"), report);
        assertTrue(report.contains("| rolling z-score |") && report.contains("| Random Cut Forest |") && report.contains("untuned")
                && report.contains("| Mamba random-test |"), report);
    }

    @Test
    void generatedSplitsHaveEpisodesOfEveryKindAndDifferBySeed() {
        List<Series> a = Datasets.generated(6, 1, 3000, 1000);
        List<Series> b = Datasets.generated(6, 1, 3000, 1001);
        assertEquals(6, a.size());
        assertTrue(a.get(0).values[500][0] != b.get(0).values[500][0]);
        Evaluation.Result r = Evaluation.evaluate(a, a.stream().map(s -> new double[s.length()]).toList(), 1, 0, 0);
        assertTrue(r.episodes > 20, "episodes: " + r.episodes);
        assertEquals(6, r.byKind.size(), r.byKind.keySet().toString());
    }

    @Test
    void realSeriesLoadAndCarryInjectedEpisodes() throws Exception {
        List<Series> tune = Datasets.real(2000, true);
        List<Series> test = Datasets.real(2000, false);
        assertEquals(7, tune.size());
        assertEquals(8759, tune.get(0).length());
        assertEquals(1461, tune.get(3).length());
        Evaluation.Result r = Evaluation.evaluate(test, test.stream().map(s -> new double[s.length()]).toList(), 1, 0, 0);
        assertTrue(r.episodes > 20, "episodes: " + r.episodes);
        // the z-score peer sees a spike of the injected size on a quiet stretch
        Map<String, int[]> kinds = r.byKind;
        assertTrue(kinds.containsKey("SPIKE") && kinds.containsKey("STUCK"), kinds.keySet().toString());
        assertTrue(new MambaDetector(loadRandom(), CalibrationSettings.DEFAULT).name().contains("window 3"));
    }

    private Forecaster loadRandom() throws Exception {
        return Forecaster.load(RandomForecasters.write(tmp.resolve("r"), MambaConfig.of(8, 4, 1), 1, 4));
    }
}
