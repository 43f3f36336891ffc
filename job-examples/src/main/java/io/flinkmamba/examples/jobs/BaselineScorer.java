package io.flinkmamba.examples.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.operator.AnomalyScore;
import io.flinkmamba.operator.FeatureExtractor;
import io.flinkmamba.operator.MambaOperators;
import io.flinkmamba.operator.MambaSpec;
import io.flinkmamba.operator.RejectedEvent;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * INTERIM stand-in for the forecaster operator (see {@link Scoring}): per key, steps 1-3 of the
 * forecaster contract (exponentially weighted mean and variance, alpha 0.01 after the first 100
 * events) with the forecast of the next event fixed at "the running mean, with the running standard
 * deviation" (mu = 0, logvar = 0 in normalised space). Score = mean Gaussian NLL over features;
 * likelihood = (2 Phi(max |z|) - 1)^F, the probability that no feature is this far out under the
 * forecast; an anomaly when it reaches the threshold after the warm-up.
 *
 * <p>State per key: one {@code double[]} {@code [n, m_0..m_F-1, v_0..v_F-1]}.
 */
final class BaselineScorer<IN> extends KeyedProcessFunction<String, IN, AnomalyScore<String>> {
    private static final long serialVersionUID = 1L;
    static final String VERSION = "baseline-running-mean (interim, not the Mamba forecaster)";
    private static final double ALPHA = 0.01;
    private static final double MIN_SCALE_REL = 1e-3;

    private final FeatureExtractor<IN> extractor;
    private final String modelPath;
    private final double threshold;
    private final int warmupEvents;
    private transient int expectedFeatures;
    private transient ValueState<double[]> stats;

    private BaselineScorer(MambaSpec<IN> spec, double threshold, int warmupEvents) {
        this.extractor = spec.extractor();
        this.modelPath = spec.modelPath();
        this.threshold = threshold;
        this.warmupEvents = warmupEvents;
    }

    static <IN> SingleOutputStreamOperator<AnomalyScore<String>> apply(KeyedStream<IN, String> stream, MambaSpec<IN> spec) {
        Configuration conf = Configuration.fromMap(stream.getExecutionEnvironment().getConfiguration().toMap());
        double threshold = Double.parseDouble(conf.toMap().getOrDefault("mamba.anomaly.threshold", "0.9995"));
        int warmup = Integer.parseInt(conf.toMap().getOrDefault("mamba.anomaly.warmup-events", "50"));
        return stream.process(new BaselineScorer<>(spec, threshold, warmup), MambaOperators.anomalyScoreType(stream.getKeyType()))
                .name(spec.name()).uid(spec.uid());
    }

    @Override
    public void open(OpenContext context) throws Exception {
        expectedFeatures = -1;
        Path config = Path.of(modelPath, "config.json");
        if (Files.isRegularFile(config)) {
            JsonNode node = new ObjectMapper().readTree(config.toFile()).path("flink_mamba").path("num_features");
            expectedFeatures = node.isInt() ? node.intValue() : -1;
        }
        stats = getRuntimeContext().getState(new ValueStateDescriptor<>("baseline-stats",
                PrimitiveArrayTypeInfo.DOUBLE_PRIMITIVE_ARRAY_TYPE_INFO));
    }

    @Override
    public void processElement(IN event, Context ctx, Collector<AnomalyScore<String>> out) throws Exception {
        String key = ctx.getCurrentKey();
        long time = ctx.timestamp() == null ? FeatureExtractor.NO_TIMESTAMP : ctx.timestamp();
        float[] x;
        try {
            time = extractor.eventTime(event, time);
            x = extractor.features(event);
        } catch (RuntimeException e) {
            reject(ctx, key, time, "feature extractor failed: " + e, event);
            return;
        }
        if (x == null) {
            reject(ctx, key, time, "no features", event);
            return;
        }
        if (expectedFeatures > 0 && x.length != expectedFeatures) {
            reject(ctx, key, time, "expected " + expectedFeatures + " features, got " + x.length, event);
            return;
        }
        for (int f = 0; f < x.length; f++) {
            if (!Float.isFinite(x[f])) {
                reject(ctx, key, time, "feature " + f + " is not finite: " + x[f], event);
                return;
            }
        }
        int nf = x.length;
        double[] s = stats.value();
        if (s == null) {
            s = new double[1 + 2 * nf];
        } else if (s.length != 1 + 2 * nf) {
            reject(ctx, key, time, "expected " + (s.length - 1) / 2 + " features (as before for this key), got " + nf, event);
            return;
        }
        long n = (long) s[0];
        AnomalyScore<String> r = new AnomalyScore<>();
        r.key = key;
        r.eventTime = time;
        r.input = x.clone();
        r.forecast = new float[nf];
        r.forecastStd = new float[nf];
        r.modelVersion = VERSION;
        r.modelFingerprint = "none";
        r.eventsSeen = n + 1;
        r.warmingUp = n + 1 <= warmupEvents;
        double maxAbsZ = 0, nll = 0;
        for (int f = 0; f < nf; f++) {
            double m = s[1 + f], v = s[1 + nf + f];
            double scale = Math.max(Math.sqrt(v), MIN_SCALE_REL * (1 + Math.abs(m)));
            r.forecast[f] = (float) m;
            r.forecastStd[f] = (float) scale;
            double z = n == 0 ? 0 : (x[f] - m) / scale;
            maxAbsZ = Math.max(maxAbsZ, Math.abs(z));
            nll += 0.5 * (Math.log(2 * Math.PI) + z * z);
        }
        r.score = n == 0 ? 0 : nll / nf;
        r.anomalyLikelihood = n == 0 ? 0 : Math.pow(2 * phi(maxAbsZ) - 1, nf);
        r.isAnomaly = !r.warmingUp && r.anomalyLikelihood >= threshold;
        double a = Math.max(ALPHA, 1.0 / (n + 1));
        for (int f = 0; f < nf; f++) {
            double d = x[f] - s[1 + f];
            s[1 + f] += a * d;
            s[1 + nf + f] = (1 - a) * (s[1 + nf + f] + a * d * d);
        }
        s[0] = n + 1;
        stats.update(s);
        out.collect(r);
    }

    private void reject(Context ctx, String key, long time, String reason, IN event) {
        ctx.output(MambaOperators.REJECTED, new RejectedEvent(key, time, reason, String.valueOf(event)));
    }

    /** Standard normal CDF (Abramowitz-Stegun 26.2.17, |error| < 7.5e-8). */
    static double phi(double z) {
        double t = 1 / (1 + 0.2316419 * Math.abs(z));
        double d = 0.3989422804014327 * Math.exp(-z * z / 2);
        double p = d * t * (0.319381530 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
        return z >= 0 ? 1 - p : p;
    }

    @Override
    public String toString() {
        return "BaselineScorer" + Arrays.asList(modelPath, threshold, warmupEvents);
    }
}
