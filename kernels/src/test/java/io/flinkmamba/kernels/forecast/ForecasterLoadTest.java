package io.flinkmamba.kernels.forecast;

import io.flinkmamba.kernels.io.ModelFormatException;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.testing.RandomForecasters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ForecasterLoadTest {
    static final MambaConfig CFG = MambaConfig.of(16, 8, 2);

    @TempDir
    Path tmp;

    private Path dir(String name, int features, Consumer<RandomForecasters.Files2> edit) throws IOException {
        RandomForecasters.Files2 f = RandomForecasters.build(CFG, features, 3);
        edit.accept(f);
        return f.write(tmp.resolve(name));
    }

    private String failure(Path dir) {
        return assertThrows(ModelFormatException.class, () -> Forecaster.load(dir)).getMessage();
    }

    @Test
    void loadsTheBackboneTheForecasterTensorsAndTheConfig() throws IOException {
        Forecaster f = Forecaster.load(dir("ok", 2, x -> { }));
        assertEquals(2, f.numFeatures());
        assertEquals(16, f.hiddenSize());
        assertEquals(CFG, f.backbone().config());
        assertEquals("random-test", f.config().version());
        assertEquals(0.01, f.config().alpha());
        assertEquals(10.0, f.config().clip());
        assertEquals(-9.0, f.config().logVarMin());
        assertEquals(java.util.List.of("f0", "f1"), f.config().featureNames());
        assertEquals(64, f.fingerprint().length());
    }

    @Test
    void fingerprintTellsForecastersWithTheSameBackboneApart() throws IOException {
        Forecaster a = Forecaster.load(dir("a", 1, x -> { }));
        Forecaster b = Forecaster.load(dir("b", 1, x -> x.tensors.get("head.bias")[0] = 0.5f));
        assertEquals(a.backbone().fingerprint(), b.backbone().fingerprint());
        assertNotEquals(a.fingerprint(), b.fingerprint());
    }

    @Test
    void projectionClipsAndHeadClampsTheLogVariance() throws IOException {
        Forecaster f = Forecaster.load(dir("clip", 1, x -> {
            x.tensors.get("head.bias")[1] = 100f; // logvar far above log_var_max
        }));
        float[] u1 = new float[16], u2 = new float[16];
        f.project(new double[] {10.0}, 0, u1, 0);
        f.project(new double[] {1e6}, 0, u2, 0);
        assertEquals(java.util.Arrays.toString(u1), java.util.Arrays.toString(u2), "z beyond clip is clipped");
        float[] mu = new float[1], lv = new float[1];
        f.head(new float[16], 0, mu, lv);
        assertEquals(6.0f, lv[0]);
    }

    @Test
    void missingForecasterTensorIsNamed() throws IOException {
        String m = failure(dir("missing", 1, x -> x.remove("input_proj.bias")));
        assertTrue(m.contains("model.safetensors") && m.contains("input_proj.bias"), m);
    }

    @Test
    void wrongShapeIsNamed() throws IOException {
        String m = failure(dir("shape", 1, x -> x.put("head.weight", new float[3 * 16], 3, 16)));
        assertTrue(m.contains("head.weight") && m.contains("[3, 16]"), m);
    }

    @Test
    void numFeaturesMismatchIsNamed() throws IOException {
        String m = failure(dir("features", 1, x -> x.configJson = RandomForecasters.configJson(CFG,
                RandomForecasters.flinkMamba(2))));
        assertTrue(m.contains("input_proj.weight") && m.contains("[16, 1]") && m.contains("[16, 2]"), m);
    }

    @Test
    void missingBackboneTensorIsNamed() throws IOException {
        String m = failure(dir("backbone", 1, x -> x.remove("backbone.layers.1.mixer.D")));
        assertTrue(m.contains("backbone.layers.1.mixer.D"), m);
    }

    @Test
    void unknownTensorsAndLmHeadAreRefused() throws IOException {
        String m = failure(dir("extra", 1, x -> x.put("output_proj.weight", new float[4], 4)));
        assertTrue(m.contains("output_proj.weight"), m);
        m = failure(dir("lmhead", 1, x -> x.put("lm_head.weight", new float[16], 1, 16)));
        assertTrue(m.contains("lm_head.weight"), m);
    }

    @Test
    void embeddingIsOptional() throws IOException {
        Forecaster.load(dir("noemb", 1, x -> x.remove("backbone.embeddings.weight")));
    }

    @Test
    void nonFiniteWeightsAreNamed() throws IOException {
        String m = failure(dir("nanhead", 1, x -> x.tensors.get("head.weight")[5] = Float.NaN));
        assertTrue(m.contains("head.weight") && m.contains("non-finite") && m.contains("index 5"), m);
        m = failure(dir("infproj", 1, x -> x.tensors.get("input_proj.bias")[0] = Float.POSITIVE_INFINITY));
        assertTrue(m.contains("input_proj.bias"), m);
        m = failure(dir("nanbackbone", 1, x -> x.tensors.get("backbone.layers.0.mixer.D")[0] = Float.NaN));
        assertTrue(m.contains("layers.0.mixer.D") && m.contains("non-finite"), m);
    }

    @Test
    void badFlinkMambaBlocksAreNamed() throws IOException {
        String[][] cases = {
                {"{\"kind\":\"classifier\",\"format_version\":1}", "kind"},
                {RandomForecasters.flinkMamba(1).replace("\"format_version\":1", "\"format_version\":2"), "format_version"},
                {RandomForecasters.flinkMamba(1).replace("\"num_features\":1", "\"num_features\":0"), "num_features"},
                {RandomForecasters.flinkMamba(1).replace("\"num_features\":1", "\"num_features\":\"one\""), "num_features"},
                {RandomForecasters.flinkMamba(1).replace("\"alpha\":0.01", "\"alpha\":0"), "alpha"},
                {RandomForecasters.flinkMamba(1).replace("\"alpha\":0.01,", ""), "alpha"},
                {RandomForecasters.flinkMamba(1).replace("\"clip\":10.0", "\"clip\":-1"), "clip"},
                {RandomForecasters.flinkMamba(1).replace("\"log_var_min\":-9.0", "\"log_var_min\":7.0"), "log_var_min"},
                {RandomForecasters.flinkMamba(1).replace("[\"f0\"]", "[\"a\",\"b\"]"), "feature_names"},
                {"[1]", "flink_mamba"},
        };
        int i = 0;
        for (String[] c : cases) {
            Path d = dir("bad" + i++, 1, x -> x.configJson = RandomForecasters.configJson(CFG, c[0]));
            String m = failure(d);
            assertTrue(m.contains("config.json") && m.contains(c[1]), c[1] + ": " + m);
        }
        Path plain = dir("plain", 1, x -> x.configJson = io.flinkmamba.kernels.testing.RawSafetensors.configJson(CFG));
        String m = failure(plain);
        assertTrue(m.contains("flink_mamba"), m);
    }

    @Test
    void missingFilesAreNamed() throws IOException {
        assertTrue(failure(tmp.resolve("nothing")).contains("not a forecaster directory"));
        Path d = dir("noweights", 1, x -> { });
        Files.delete(d.resolve("model.safetensors"));
        assertTrue(failure(d).contains("model.safetensors"));
        Path c = dir("badjson", 1, x -> x.configJson = "{not json");
        assertTrue(failure(c).contains("config.json"));
    }
}
