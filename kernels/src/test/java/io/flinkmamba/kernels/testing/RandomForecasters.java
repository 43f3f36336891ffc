package io.flinkmamba.kernels.testing;

import io.flinkmamba.kernels.model.MambaConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Writes forecaster directories (config.json with a flink_mamba block + model.safetensors holding a
 * {@code backbone.}-prefixed random backbone, a one-row embedding and the four forecaster tensors),
 * with hooks to break them for hostile-input tests.
 */
public final class RandomForecasters {
    private RandomForecasters() {
    }

    /** The tensors of a forecaster file, by name in file order, with their shapes; edit before {@link #write}. */
    public static final class Files2 {
        public final LinkedHashMap<String, float[]> tensors = new LinkedHashMap<>();
        public final LinkedHashMap<String, long[]> shapes = new LinkedHashMap<>();
        public String configJson;

        public void put(String name, float[] v, long... shape) {
            tensors.put(name, v);
            shapes.put(name, shape);
        }

        public void remove(String name) {
            tensors.remove(name);
            shapes.remove(name);
        }

        public Path write(Path dir) throws IOException {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), configJson);
            Files.write(dir.resolve("model.safetensors"), RawSafetensors.f32(tensors, shapes));
            return dir;
        }
    }

    public static Path write(Path dir, MambaConfig c, int features, long seed) throws IOException {
        return build(c, features, seed).write(dir);
    }

    public static Files2 build(MambaConfig c, int features, long seed) {
        Files2 f = new Files2();
        RandomModels.Tensors t = RandomModels.tensors(c, seed);
        int h = c.hiddenSize();
        f.put("backbone.embeddings.weight", new float[h], 1, h);
        t.byName.forEach((k, v) -> f.put("backbone." + k, v, t.shapes.get(k)));
        Random rnd = new Random(seed + 1);
        f.put("input_proj.weight", RandomModels.uniform(rnd, h * features, 1f), h, features);
        f.put("input_proj.bias", RandomModels.uniform(rnd, h, 0.1f), h);
        f.put("head.weight", RandomModels.uniform(rnd, 2 * features * h, (float) (0.5 / Math.sqrt(h))), 2L * features, h);
        f.put("head.bias", new float[2 * features], 2L * features);
        f.configJson = configJson(c, flinkMamba(features));
        return f;
    }

    /** The flink_mamba object of format 1 with the lead's example constants. */
    public static String flinkMamba(int features) {
        StringBuilder names = new StringBuilder("[");
        for (int i = 0; i < features; i++) {
            names.append(i == 0 ? "" : ",").append("\"f").append(i).append('"');
        }
        names.append(']');
        return "{\"kind\":\"forecaster\",\"format_version\":1,\"num_features\":" + features + ",\"feature_names\":" + names
                + ",\"version\":\"random-test\",\"normaliser\":{\"alpha\":0.01,\"min_scale_rel\":0.001,\"clip\":10.0},"
                + "\"log_var_min\":-9.0,\"log_var_max\":6.0,\"training\":{\"note\":\"random weights for tests\"}}";
    }

    public static String configJson(MambaConfig c, String flinkMamba) {
        String base = RawSafetensors.configJson(c);
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("vocab_size", 1);
        extra.put("flink_mamba", flinkMamba);
        StringBuilder sb = new StringBuilder(base.substring(0, base.length() - 1));
        extra.forEach((k, v) -> sb.append(",\"").append(k).append("\":").append(v));
        return sb.append('}').toString();
    }
}
