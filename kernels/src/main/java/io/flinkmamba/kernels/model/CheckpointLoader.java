package io.flinkmamba.kernels.model;

import io.flinkmamba.kernels.io.ModelFormatException;
import io.flinkmamba.kernels.io.SafetensorsFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Loads a Hugging Face Mamba checkpoint directory ({@code config.json} + {@code model.safetensors}).
 *
 * <p>Keys may carry the {@code backbone.} prefix ({@code MambaForCausalLM}) or not ({@code MambaModel}).
 * The embedding table and {@code lm_head} are ignored; any other tensor the block stack does not use
 * is an error, because it usually means the config and the weights disagree.
 */
final class CheckpointLoader {
    private CheckpointLoader() {
    }

    static MambaModel load(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new ModelFormatException(dir + ": not a model directory (expected config.json and model.safetensors)");
        }
        Path configPath = dir.resolve("config.json");
        Path weightsPath = dir.resolve("model.safetensors");
        if (!Files.isRegularFile(configPath)) {
            throw new ModelFormatException(configPath + ": missing");
        }
        if (!Files.isRegularFile(weightsPath)) {
            throw new ModelFormatException(weightsPath + ": missing (only single-file safetensors checkpoints are supported)");
        }
        MambaConfig cfg = MambaConfig.fromJson(configPath);
        try (SafetensorsFile st = SafetensorsFile.open(weightsPath)) {
            MambaWeights w = read(cfg, st);
            w.checkFinite(weightsPath.toString());
            return new MambaModel(cfg, w, dir.toString());
        }
    }

    static MambaWeights read(MambaConfig c, SafetensorsFile st) {
        return read(c, st, Set.of());
    }

    /**
     * Reads the block stack; {@code otherTensors} are tensors of the file that the caller reads itself
     * (a forecaster's input projection and head), so they are not reported as unused.
     */
    static MambaWeights read(MambaConfig c, SafetensorsFile st, Set<String> otherTensors) {
        String prefix = detectPrefix(st);
        int d = c.hiddenSize(), e = c.intermediateSize(), n = c.stateSize(), r = c.timeStepRank(), k = c.convKernel();
        Set<String> used = new HashSet<>();
        LayerWeights[] layers = new LayerWeights[c.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = prefix + "layers." + l + ".";
            layers[l] = new LayerWeights(
                    take(st, used, p + "norm.weight", d),
                    take(st, used, p + "mixer.in_proj.weight", 2L * e, d),
                    c.useBias() ? take(st, used, p + "mixer.in_proj.bias", 2L * e) : null,
                    take(st, used, p + "mixer.conv1d.weight", e, 1, k),
                    c.useConvBias() ? take(st, used, p + "mixer.conv1d.bias", e) : null,
                    take(st, used, p + "mixer.x_proj.weight", r + 2L * n, e),
                    take(st, used, p + "mixer.dt_proj.weight", e, r),
                    take(st, used, p + "mixer.dt_proj.bias", e),
                    take(st, used, p + "mixer.A_log", e, n),
                    take(st, used, p + "mixer.D", e),
                    take(st, used, p + "mixer.out_proj.weight", d, e),
                    c.useBias() ? take(st, used, p + "mixer.out_proj.bias", d) : null);
        }
        float[] normF = take(st, used, prefix + "norm_f.weight", d);
        Set<String> extra = new TreeSet<>();
        for (String name : st.tensors().keySet()) {
            if (!used.contains(name) && !otherTensors.contains(name) && !isIgnored(name, prefix)) {
                extra.add(name);
            }
        }
        if (!extra.isEmpty()) {
            throw new ModelFormatException(st.path() + ": tensors not used by a " + c.numLayers()
                    + "-layer block stack as config.json describes it: " + first(extra)
                    + " (does config.json match the weights? num_hidden_layers, use_bias, use_conv_bias)");
        }
        return new MambaWeights(layers, normF);
    }

    private static float[] take(SafetensorsFile st, Set<String> used, String name, long... shape) {
        if (!st.tensors().containsKey(name)) {
            throw new ModelFormatException(st.path() + ": missing tensor '" + name + "' with shape "
                    + java.util.Arrays.toString(shape) + " required by config.json");
        }
        used.add(name);
        return st.readFloats(name, shape);
    }

    private static boolean isIgnored(String name, String prefix) {
        return name.equals(prefix + "embeddings.weight") || name.equals("embeddings.weight")
                || name.startsWith("lm_head.");
    }

    private static String detectPrefix(SafetensorsFile st) {
        boolean bare = false;
        boolean backbone = false;
        for (String name : st.tensors().keySet()) {
            bare |= name.startsWith("layers.") || name.equals("norm_f.weight");
            backbone |= name.startsWith("backbone.layers.") || name.equals("backbone.norm_f.weight");
        }
        if (bare && backbone) {
            throw new ModelFormatException(st.path() + ": holds both 'backbone.'-prefixed and bare block tensors");
        }
        return backbone ? "backbone." : "";
    }

    private static String first(Set<String> names) {
        List<String> l = new ArrayList<>(names);
        return l.size() <= 5 ? l.toString() : l.subList(0, 5) + " and " + (l.size() - 5) + " more";
    }
}
