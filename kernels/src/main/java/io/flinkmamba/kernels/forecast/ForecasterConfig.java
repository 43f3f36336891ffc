package io.flinkmamba.kernels.forecast;

import com.fasterxml.jackson.databind.JsonNode;
import io.flinkmamba.kernels.io.ModelFormatException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The {@code flink_mamba} block of a forecaster's {@code config.json}: feature count and names, the
 * model's version label, the normaliser's constants and the log-variance clamp. Immutable.
 */
public final class ForecasterConfig {
    /** Upper bound on the feature count: protects against hostile configs asking for huge arrays. */
    static final int MAX_FEATURES = 4096;
    public static final int FORMAT_VERSION = 1;

    private final int numFeatures;
    private final List<String> featureNames;
    private final String version;
    private final double alpha;
    private final double minScaleRel;
    private final double clip;
    private final double logVarMin;
    private final double logVarMax;

    public ForecasterConfig(int numFeatures, List<String> featureNames, String version, double alpha,
                            double minScaleRel, double clip, double logVarMin, double logVarMax) {
        if (numFeatures < 1 || numFeatures > MAX_FEATURES) {
            throw new IllegalArgumentException("num_features must be in [1, " + MAX_FEATURES + "], got " + numFeatures);
        }
        if (featureNames.size() != numFeatures) {
            throw new IllegalArgumentException("feature_names has " + featureNames.size() + " names but num_features is "
                    + numFeatures);
        }
        if (!(alpha > 0 && alpha <= 1)) {
            throw new IllegalArgumentException("normaliser.alpha must be in (0, 1], got " + alpha);
        }
        if (!(minScaleRel > 0) || !Double.isFinite(minScaleRel)) {
            throw new IllegalArgumentException("normaliser.min_scale_rel must be a positive finite number, got " + minScaleRel);
        }
        if (!(clip > 0) || !Double.isFinite(clip)) {
            throw new IllegalArgumentException("normaliser.clip must be a positive finite number, got " + clip);
        }
        if (!Double.isFinite(logVarMin) || !Double.isFinite(logVarMax) || !(logVarMin < logVarMax)) {
            throw new IllegalArgumentException("log_var_min < log_var_max must be finite numbers, got "
                    + logVarMin + " and " + logVarMax);
        }
        this.numFeatures = numFeatures;
        this.featureNames = Collections.unmodifiableList(new ArrayList<>(featureNames));
        this.version = version;
        this.alpha = alpha;
        this.minScaleRel = minScaleRel;
        this.clip = clip;
        this.logVarMin = logVarMin;
        this.logVarMax = logVarMax;
    }

    /** Reads the {@code flink_mamba} object of a parsed config.json; errors name the file and the field. */
    static ForecasterConfig fromJson(Path configJson, JsonNode root) {
        JsonNode fm = root.get("flink_mamba");
        if (fm == null || !fm.isObject()) {
            throw new ModelFormatException(configJson + ": missing the 'flink_mamba' object of a forecaster "
                    + "(is this a plain Mamba checkpoint? MambaOperators.score takes those)");
        }
        try {
            String kind = text(fm, "kind");
            if (!kind.equals("forecaster")) {
                throw new IllegalArgumentException("flink_mamba.kind must be 'forecaster', got '" + kind + "'");
            }
            int format = integer(fm, "format_version");
            if (format != FORMAT_VERSION) {
                throw new IllegalArgumentException("flink_mamba.format_version " + format + " is not supported (this release reads "
                        + FORMAT_VERSION + ")");
            }
            int f = integer(fm, "num_features");
            List<String> names = new ArrayList<>();
            JsonNode n = fm.get("feature_names");
            if (n == null || n.isNull()) {
                for (int i = 0; i < f; i++) {
                    names.add("f" + i);
                }
            } else {
                if (!n.isArray()) {
                    throw new IllegalArgumentException("flink_mamba.feature_names must be an array of strings");
                }
                for (JsonNode e : n) {
                    if (!e.isTextual()) {
                        throw new IllegalArgumentException("flink_mamba.feature_names must be an array of strings, got " + e);
                    }
                    names.add(e.asText());
                }
            }
            String version = fm.hasNonNull("version") ? text(fm, "version") : "unversioned";
            JsonNode norm = fm.get("normaliser");
            if (norm == null || !norm.isObject()) {
                throw new IllegalArgumentException("flink_mamba.normaliser must be an object with alpha, min_scale_rel, clip");
            }
            return new ForecasterConfig(f, names, version, number(norm, "normaliser.", "alpha"),
                    number(norm, "normaliser.", "min_scale_rel"), number(norm, "normaliser.", "clip"),
                    number(fm, "", "log_var_min"), number(fm, "", "log_var_max"));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(configJson + ": " + e.getMessage(), e);
        }
    }

    private static String text(JsonNode o, String name) {
        JsonNode n = o.get(name);
        if (n == null || !n.isTextual()) {
            throw new IllegalArgumentException("flink_mamba." + name + " must be a string, got " + n);
        }
        return n.asText();
    }

    private static int integer(JsonNode o, String name) {
        JsonNode n = o.get(name);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new IllegalArgumentException("flink_mamba." + name + " must be an integer, got " + n);
        }
        return n.intValue();
    }

    private static double number(JsonNode o, String prefix, String name) {
        JsonNode n = o.get(name);
        if (n == null || !n.isNumber()) {
            throw new IllegalArgumentException("flink_mamba." + prefix + name + " must be a number, got " + n);
        }
        return n.doubleValue();
    }

    public int numFeatures() { return numFeatures; }
    public List<String> featureNames() { return featureNames; }
    public String version() { return version; }
    public double alpha() { return alpha; }
    public double minScaleRel() { return minScaleRel; }
    public double clip() { return clip; }
    public double logVarMin() { return logVarMin; }
    public double logVarMax() { return logVarMax; }

    @Override
    public String toString() {
        return "ForecasterConfig{num_features=" + numFeatures + ", feature_names=" + featureNames + ", version=" + version
                + ", alpha=" + alpha + ", min_scale_rel=" + minScaleRel + ", clip=" + clip
                + ", log_var_min=" + logVarMin + ", log_var_max=" + logVarMax + "}";
    }
}
