package io.flinkmamba.kernels.forecast;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.kernels.io.ModelFormatException;
import io.flinkmamba.kernels.io.SafetensorsFile;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Set;

/**
 * A loaded forecaster: the Mamba backbone, the input projection from F features to hidden_size and
 * the head from hidden_size to the next event's (mean, log-variance) per feature. Immutable and
 * shareable between threads; the per-thread work happens in {@link ForecastScorer}.
 *
 * <p>Directory format: {@code config.json} (Hugging Face {@code MambaConfig} plus a
 * {@code flink_mamba} object, see {@link ForecasterConfig}) and {@code model.safetensors} (the
 * backbone under HF names, optionally {@code backbone.}-prefixed, an ignored embedding, and exactly
 * {@code input_proj.weight} [H, F], {@code input_proj.bias} [H], {@code head.weight} [2F, H],
 * {@code head.bias} [2F]).
 */
public final class Forecaster {
    public static final String INPUT_PROJ_WEIGHT = "input_proj.weight";
    public static final String INPUT_PROJ_BIAS = "input_proj.bias";
    public static final String HEAD_WEIGHT = "head.weight";
    public static final String HEAD_BIAS = "head.bias";
    private static final Set<String> OWN_TENSORS = Set.of(INPUT_PROJ_WEIGHT, INPUT_PROJ_BIAS, HEAD_WEIGHT, HEAD_BIAS);

    private final ForecasterConfig config;
    private final MambaModel backbone;
    private final float[] inputWeight; // [H, F]
    private final float[] inputBias;   // [H]
    private final float[] headWeight;  // [2F, H]
    private final float[] headBias;    // [2F]
    private final String source;
    private final String fingerprint;

    public Forecaster(ForecasterConfig config, MambaModel backbone, float[] inputWeight, float[] inputBias,
                      float[] headWeight, float[] headBias, String source) {
        int h = backbone.config().hiddenSize(), f = config.numFeatures();
        checkLength(INPUT_PROJ_WEIGHT, inputWeight, (long) h * f);
        checkLength(INPUT_PROJ_BIAS, inputBias, h);
        checkLength(HEAD_WEIGHT, headWeight, 2L * f * h);
        checkLength(HEAD_BIAS, headBias, 2L * f);
        this.config = config;
        this.backbone = backbone;
        this.inputWeight = inputWeight;
        this.inputBias = inputBias;
        this.headWeight = headWeight;
        this.headBias = headBias;
        this.source = source;
        this.fingerprint = computeFingerprint();
    }

    private static void checkLength(String name, float[] a, long expected) {
        if (a == null || a.length != expected) {
            throw new IllegalArgumentException(name + ": expected " + expected + " floats, got "
                    + (a == null ? "none" : a.length));
        }
    }

    /** Loads a forecaster directory; any defect is a {@link ModelFormatException} naming the file and the tensor or field. */
    public static Forecaster load(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new ModelFormatException(dir + ": not a forecaster directory (expected config.json and model.safetensors)");
        }
        Path configPath = dir.resolve("config.json");
        Path weightsPath = dir.resolve("model.safetensors");
        if (!Files.isRegularFile(configPath)) {
            throw new ModelFormatException(configPath + ": missing");
        }
        if (!Files.isRegularFile(weightsPath)) {
            throw new ModelFormatException(weightsPath + ": missing (only single-file safetensors checkpoints are supported)");
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readAllBytes(configPath));
        } catch (IOException e) {
            throw new ModelFormatException(configPath + ": cannot read or parse JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(configPath + ": expected a JSON object");
        }
        ForecasterConfig fc = ForecasterConfig.fromJson(configPath, root);
        MambaConfig mc = MambaConfig.fromJson(configPath);
        int h = mc.hiddenSize(), f = fc.numFeatures();
        try (SafetensorsFile st = SafetensorsFile.open(weightsPath)) {
            for (String name : st.tensors().keySet()) {
                if (name.startsWith("lm_head.")) {
                    throw new ModelFormatException(weightsPath + ": tensor '" + name
                            + "' does not belong in a forecaster (it has a head, no lm_head)");
                }
            }
            MambaModel backbone = MambaModel.loadBackbone(mc, st, OWN_TENSORS, dir.toString());
            float[] inW = read(st, INPUT_PROJ_WEIGHT, h, f);
            float[] inB = read(st, INPUT_PROJ_BIAS, h);
            float[] hW = read(st, HEAD_WEIGHT, 2L * f, h);
            float[] hB = read(st, HEAD_BIAS, 2L * f);
            return new Forecaster(fc, backbone, inW, inB, hW, hB, dir.toString());
        }
    }

    private static float[] read(SafetensorsFile st, String name, long... shape) {
        if (!st.tensors().containsKey(name)) {
            throw new ModelFormatException(st.path() + ": missing forecaster tensor '" + name + "' with shape "
                    + java.util.Arrays.toString(shape) + " (hidden_size from config.json, num_features from flink_mamba)");
        }
        float[] a = st.readFloats(name, shape);
        for (int i = 0; i < a.length; i++) {
            if (!Float.isFinite(a[i])) {
                throw new ModelFormatException(st.path() + ": tensor '" + name + "' holds a non-finite value ("
                        + a[i] + ") at flat index " + i);
            }
        }
        return a;
    }

    public ForecasterConfig config() {
        return config;
    }

    public MambaModel backbone() {
        return backbone;
    }

    public int numFeatures() {
        return config.numFeatures();
    }

    public int hiddenSize() {
        return backbone.config().hiddenSize();
    }

    /** Where it was loaded from, for messages. */
    public String source() {
        return source;
    }

    /** SHA-256 (hex) over the backbone's fingerprint, the four forecaster tensors and the flink_mamba constants. */
    public String fingerprint() {
        return fingerprint;
    }

    /**
     * Step 4's projection: {@code u = input_proj(clip(z, -clip, clip))}, hidden_size floats written at
     * {@code out[outOff..]}. {@code z} is F doubles at {@code zOff}. Float32 weights, float64 sums.
     */
    public void project(double[] z, int zOff, float[] out, int outOff) {
        int h = hiddenSize(), f = numFeatures();
        double c = config.clip();
        for (int i = 0; i < h; i++) {
            double acc = 0;
            int row = i * f;
            for (int j = 0; j < f; j++) {
                float zc = (float) Math.max(-c, Math.min(c, z[zOff + j]));
                acc += (double) inputWeight[row + j] * zc;
            }
            out[outOff + i] = (float) (acc + inputBias[i]);
        }
    }

    /**
     * Step 5: the head over the backbone output {@code y} (hidden_size floats at yOff): mean and
     * clamped log-variance of the next event's normalised features, F floats each.
     */
    public void head(float[] y, int yOff, float[] mu, float[] logVar) {
        int h = hiddenSize(), f = numFeatures();
        for (int j = 0; j < 2 * f; j++) {
            double acc = 0;
            int row = j * h;
            for (int i = 0; i < h; i++) {
                acc += (double) headWeight[row + i] * y[yOff + i];
            }
            float v = (float) (acc + headBias[j]);
            if (j < f) {
                mu[j] = v;
            } else {
                logVar[j - f] = (float) Math.max(config.logVarMin(), Math.min(config.logVarMax(), v));
            }
        }
    }

    private String computeFingerprint() {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        md.update(backbone.fingerprint().getBytes(StandardCharsets.UTF_8));
        md.update(("alpha=" + config.alpha() + ",min_scale_rel=" + config.minScaleRel() + ",clip=" + config.clip()
                + ",log_var=" + config.logVarMin() + ".." + config.logVarMax() + ",F=" + config.numFeatures())
                .getBytes(StandardCharsets.UTF_8));
        for (float[] a : new float[][] {inputWeight, inputBias, headWeight, headBias}) {
            ByteBuffer buf = ByteBuffer.allocate(4 * a.length + 4).order(ByteOrder.LITTLE_ENDIAN);
            buf.putInt(a.length);
            for (float v : a) {
                buf.putFloat(v);
            }
            md.update(buf.array());
        }
        StringBuilder sb = new StringBuilder();
        for (byte b : md.digest()) {
            sb.append(String.format("%02x", b));
        }
        return sb.toString();
    }
}
