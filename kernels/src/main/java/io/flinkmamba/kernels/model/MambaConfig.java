package io.flinkmamba.kernels.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.kernels.io.ModelFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The shape of a Mamba-1 block stack, as Hugging Face's {@code MambaConfig} declares it.
 *
 * <p>D = hiddenSize, E = intermediateSize, N = stateSize, R = timeStepRank, K = convKernel.
 */
public final class MambaConfig {
    /** Upper bound on any dimension: protects against hostile config files asking for huge arrays. */
    static final int MAX_DIM = 1 << 16;
    static final int MAX_LAYERS = 1024;

    private final int hiddenSize;
    private final int stateSize;
    private final int intermediateSize;
    private final int convKernel;
    private final int timeStepRank;
    private final int numLayers;
    private final boolean useBias;
    private final boolean useConvBias;
    private final float layerNormEpsilon;

    public MambaConfig(int hiddenSize, int stateSize, int intermediateSize, int convKernel,
                       int timeStepRank, int numLayers, boolean useBias, boolean useConvBias,
                       float layerNormEpsilon) {
        this.hiddenSize = checkDim("hidden_size", hiddenSize, 1);
        this.stateSize = checkDim("state_size", stateSize, 1);
        this.intermediateSize = checkDim("intermediate_size", intermediateSize, 1);
        this.convKernel = checkDim("conv_kernel", convKernel, 1);
        this.timeStepRank = checkDim("time_step_rank", timeStepRank, 1);
        if (numLayers < 1 || numLayers > MAX_LAYERS) {
            throw new IllegalArgumentException("num_hidden_layers must be in [1, " + MAX_LAYERS + "], got " + numLayers);
        }
        this.numLayers = numLayers;
        this.useBias = useBias;
        this.useConvBias = useConvBias;
        if (!(layerNormEpsilon > 0f) || !Float.isFinite(layerNormEpsilon)) {
            throw new IllegalArgumentException("layer_norm_epsilon must be a positive finite number, got " + layerNormEpsilon);
        }
        this.layerNormEpsilon = layerNormEpsilon;
    }

    private static int checkDim(String name, int v, int min) {
        if (v < min || v > MAX_DIM) {
            throw new IllegalArgumentException(name + " must be in [" + min + ", " + MAX_DIM + "], got " + v);
        }
        return v;
    }

    /** A config with HF's defaults for expand (2), conv_kernel (4), time_step_rank ("auto") and biases. */
    public static MambaConfig of(int hiddenSize, int stateSize, int numLayers) {
        return new MambaConfig(hiddenSize, stateSize, 2 * hiddenSize, 4, autoRank(hiddenSize), numLayers,
                false, true, 1e-5f);
    }

    static int autoRank(int hiddenSize) {
        return (hiddenSize + 15) / 16;
    }

    /** Reads a Hugging Face {@code config.json}. */
    public static MambaConfig fromJson(Path configJson) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readAllBytes(configJson));
        } catch (IOException e) {
            throw new ModelFormatException(configJson + ": cannot read or parse JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(configJson + ": expected a JSON object");
        }
        try {
            int hidden = intField(root, "hidden_size", null);
            int state = intField(root, "state_size", 16);
            Integer inter = root.hasNonNull("intermediate_size") ? intField(root, "intermediate_size", null) : null;
            int expand = intField(root, "expand", 2);
            int e = inter != null ? inter : expand * hidden;
            int k = intField(root, "conv_kernel", 4);
            int layers = root.has("num_hidden_layers") ? intField(root, "num_hidden_layers", null)
                    : intField(root, "n_layer", null);
            int rank;
            JsonNode r = root.get("time_step_rank");
            if (r == null || r.isNull() || (r.isTextual() && r.asText().equals("auto"))) {
                rank = autoRank(hidden);
            } else {
                rank = intField(root, "time_step_rank", null);
            }
            boolean useBias = boolField(root, "use_bias", false);
            boolean useConvBias = boolField(root, "use_conv_bias", true);
            double eps = root.has("layer_norm_epsilon") ? root.get("layer_norm_epsilon").asDouble(Double.NaN) : 1e-5;
            return new MambaConfig(hidden, state, e, k, rank, layers, useBias, useConvBias, (float) eps);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(configJson + ": " + e.getMessage(), e);
        }
    }

    private static int intField(JsonNode root, String name, Integer dflt) {
        JsonNode n = root.get(name);
        if (n == null || n.isNull()) {
            if (dflt == null) {
                throw new IllegalArgumentException("missing required field '" + name + "'");
            }
            return dflt;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new IllegalArgumentException("field '" + name + "' must be an integer, got " + n);
        }
        return n.intValue();
    }

    private static boolean boolField(JsonNode root, String name, boolean dflt) {
        JsonNode n = root.get(name);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException("field '" + name + "' must be true or false, got " + n);
        }
        return n.booleanValue();
    }

    public int hiddenSize() { return hiddenSize; }
    public int stateSize() { return stateSize; }
    public int intermediateSize() { return intermediateSize; }
    public int convKernel() { return convKernel; }
    public int timeStepRank() { return timeStepRank; }
    public int numLayers() { return numLayers; }
    public boolean useBias() { return useBias; }
    public boolean useConvBias() { return useConvBias; }
    public float layerNormEpsilon() { return layerNormEpsilon; }

    /** Rows of x_proj: δ (R), B (N), C (N). */
    public int xProjRows() { return timeStepRank + 2 * stateSize; }

    /** Floats of one layer's conv window: [E, K-1], oldest value first. */
    public int convStateFloats() { return intermediateSize * (convKernel - 1); }

    /** Floats of one layer's SSM state: [E, N]. */
    public int ssmStateFloats() { return intermediateSize * stateSize; }

    public int layerStateFloats() { return convStateFloats() + ssmStateFloats(); }

    /** Floats of a stream's whole recurrent state (all layers). */
    public int stateFloats() { return numLayers * layerStateFloats(); }

    /** Offset of layer {@code l}'s conv window inside a stream's state. */
    public int convStateOffset(int layer) { return layer * layerStateFloats(); }

    /** Offset of layer {@code l}'s SSM state inside a stream's state. */
    public int ssmStateOffset(int layer) { return layer * layerStateFloats() + convStateFloats(); }

    /** Canonical text of the config, used in fingerprints and error messages. */
    @Override
    public String toString() {
        return "MambaConfig{hidden_size=" + hiddenSize + ", state_size=" + stateSize
                + ", intermediate_size=" + intermediateSize + ", conv_kernel=" + convKernel
                + ", time_step_rank=" + timeStepRank + ", num_hidden_layers=" + numLayers
                + ", use_bias=" + useBias + ", use_conv_bias=" + useConvBias
                + ", layer_norm_epsilon=" + layerNormEpsilon + "}";
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof MambaConfig)) {
            return false;
        }
        MambaConfig c = (MambaConfig) o;
        return hiddenSize == c.hiddenSize && stateSize == c.stateSize && intermediateSize == c.intermediateSize
                && convKernel == c.convKernel && timeStepRank == c.timeStepRank && numLayers == c.numLayers
                && useBias == c.useBias && useConvBias == c.useConvBias
                && Float.compare(layerNormEpsilon, c.layerNormEpsilon) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(hiddenSize, stateSize, intermediateSize, convKernel, timeStepRank, numLayers,
                useBias, useConvBias, layerNormEpsilon);
    }
}
