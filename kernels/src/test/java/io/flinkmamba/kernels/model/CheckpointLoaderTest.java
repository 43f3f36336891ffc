package io.flinkmamba.kernels.model;

import io.flinkmamba.kernels.io.ModelFormatException;
import io.flinkmamba.kernels.testing.RandomModels;
import io.flinkmamba.kernels.testing.RawSafetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointLoaderTest {
    @TempDir
    Path tmp;

    static final MambaConfig CFG = new MambaConfig(16, 8, 24, 3, 2, 2, true, true, 1e-5f);

    private Path checkpoint(String name, Consumer<RandomModels.Tensors> edit, String configJson) throws IOException {
        RandomModels.Tensors t = RandomModels.tensors(CFG, 11);
        edit.accept(t);
        Path dir = tmp.resolve(name);
        RawSafetensors.writeCheckpoint(dir, t, configJson);
        return dir;
    }

    @Test
    void loadsWhatWasWrittenAndComputesTheSameOutputs() throws IOException {
        Path dir = checkpoint("ok", t -> { }, RawSafetensors.configJson(CFG));
        MambaModel loaded = MambaModel.load(dir);
        MambaModel direct = RandomModels.model(CFG, 11);
        assertEquals(CFG, loaded.config());
        assertEquals(direct.fingerprint(), loaded.fingerprint());
        float[] in = RandomModels.gaussian(new java.util.Random(5), 16);
        float[] a = new float[16], b = new float[16];
        loaded.newStepper().step(loaded.newState(), in, a);
        direct.newStepper().step(direct.newState(), in, b);
        assertArrayEquals(b, a);
    }

    @Test
    void acceptsBackbonePrefixAndIgnoresEmbeddingsAndLmHead() throws IOException {
        RandomModels.Tensors t = RandomModels.tensors(CFG, 11);
        Map<String, float[]> v = new LinkedHashMap<>();
        Map<String, long[]> s = new LinkedHashMap<>();
        v.put("backbone.embeddings.weight", new float[8 * 16]);
        s.put("backbone.embeddings.weight", new long[] {8, 16});
        t.byName.forEach((k, val) -> {
            v.put("backbone." + k, val);
            s.put("backbone." + k, t.shapes.get(k));
        });
        v.put("lm_head.weight", new float[8 * 16]);
        s.put("lm_head.weight", new long[] {8, 16});
        Path dir = tmp.resolve("prefixed");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), RawSafetensors.configJson(CFG));
        Files.write(dir.resolve("model.safetensors"), RawSafetensors.f32(v, s));
        assertEquals(RandomModels.model(CFG, 11).fingerprint(), MambaModel.load(dir).fingerprint());
    }

    @Test
    void fingerprintChangesWithAnyWeight() throws IOException {
        Path a = checkpoint("a", t -> { }, RawSafetensors.configJson(CFG));
        Path b = checkpoint("b", t -> t.byName.get("layers.1.mixer.D")[3] += 1e-3f, RawSafetensors.configJson(CFG));
        assertNotEquals(MambaModel.load(a).fingerprint(), MambaModel.load(b).fingerprint());
    }

    private void assertRefused(Path dir, String... fragments) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> MambaModel.load(dir));
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message should contain '" + f + "': " + e.getMessage());
        }
    }

    @Test
    void missingTensorIsNamedWithItsShape() throws IOException {
        Path dir = checkpoint("missing", t -> t.byName.remove("layers.1.mixer.x_proj.weight"), RawSafetensors.configJson(CFG));
        assertRefused(dir, "model.safetensors", "missing tensor 'layers.1.mixer.x_proj.weight'", "[18, 24]");
    }

    @Test
    void extraLayerMeansConfigAndWeightsDisagree() throws IOException {
        MambaConfig oneLayer = new MambaConfig(16, 8, 24, 3, 2, 1, true, true, 1e-5f);
        Path dir = checkpoint("extra", t -> { }, RawSafetensors.configJson(oneLayer));
        assertRefused(dir, "tensors not used", "layers.1.");
    }

    @Test
    void biasesPresentButConfigSaysNone() throws IOException {
        MambaConfig noBias = new MambaConfig(16, 8, 24, 3, 2, 2, false, true, 1e-5f);
        Path dir = checkpoint("bias", t -> { }, RawSafetensors.configJson(noBias));
        assertRefused(dir, "layers.0.mixer.in_proj.bias");
    }

    @Test
    void shapeDisagreeingWithConfigIsNamed() throws IOException {
        MambaConfig wider = new MambaConfig(16, 8, 24, 3, 2, 2, true, true, 1e-5f);
        Path dir = checkpoint("shape", t -> {
            t.byName.put("layers.0.mixer.A_log", new float[24 * 4]);
            t.shapes.put("layers.0.mixer.A_log", new long[] {24, 4});
        }, RawSafetensors.configJson(wider));
        assertRefused(dir, "tensor 'layers.0.mixer.A_log' has shape [24, 4] but the config expects [24, 8]");
    }

    @Test
    void nonFiniteWeightsAreRefused() throws IOException {
        Path dir = checkpoint("nan", t -> t.byName.get("layers.0.mixer.dt_proj.weight")[5] = Float.NaN,
                RawSafetensors.configJson(CFG));
        assertRefused(dir, "layers.0.mixer.dt_proj.weight", "non-finite");
    }

    @Test
    void missingFilesAndDirectory() throws IOException {
        assertRefused(tmp.resolve("nowhere"), "not a model directory");
        Path dir = checkpoint("noweights", t -> { }, RawSafetensors.configJson(CFG));
        Files.delete(dir.resolve("model.safetensors"));
        assertRefused(dir, "model.safetensors: missing");
        Files.delete(dir.resolve("config.json"));
        assertRefused(dir, "config.json: missing");
    }

    @Test
    void configJsonErrorsNameTheField() throws IOException {
        Path dir = tmp.resolve("cfg");
        Files.createDirectories(dir);
        Path cfg = dir.resolve("config.json");
        Files.writeString(cfg, "{\"state_size\": 8, \"num_hidden_layers\": 1}");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> MambaConfig.fromJson(cfg));
        assertTrue(e.getMessage().contains("missing required field 'hidden_size'"), e.getMessage());
        Files.writeString(cfg, "{\"hidden_size\": \"big\", \"num_hidden_layers\": 1}");
        e = assertThrows(ModelFormatException.class, () -> MambaConfig.fromJson(cfg));
        assertTrue(e.getMessage().contains("'hidden_size' must be an integer"), e.getMessage());
        Files.writeString(cfg, "{\"hidden_size\": 16, \"num_hidden_layers\": 1, \"state_size\": 100000000}");
        e = assertThrows(ModelFormatException.class, () -> MambaConfig.fromJson(cfg));
        assertTrue(e.getMessage().contains("state_size must be in [1, 65536]"), e.getMessage());
        Files.writeString(cfg, "not json");
        e = assertThrows(ModelFormatException.class, () -> MambaConfig.fromJson(cfg));
        assertTrue(e.getMessage().contains(cfg.toString()), e.getMessage());
    }

    @Test
    void configDefaultsFollowHuggingFace() throws IOException {
        Path cfg = tmp.resolve("config.json");
        Files.writeString(cfg, "{\"hidden_size\": 40, \"num_hidden_layers\": 3, \"time_step_rank\": \"auto\"}");
        MambaConfig c = MambaConfig.fromJson(cfg);
        assertEquals(3, c.timeStepRank(), "auto rank = ceil(40/16)");
        assertEquals(80, c.intermediateSize(), "expand defaults to 2");
        assertEquals(16, c.stateSize());
        assertEquals(4, c.convKernel());
        assertTrue(c.useConvBias());
        assertTrue(!c.useBias());
        Files.writeString(cfg, "{\"hidden_size\": 40, \"num_hidden_layers\": 3, \"expand\": 3, \"time_step_rank\": 7}");
        c = MambaConfig.fromJson(cfg);
        assertEquals(120, c.intermediateSize());
        assertEquals(7, c.timeStepRank());
    }
}
