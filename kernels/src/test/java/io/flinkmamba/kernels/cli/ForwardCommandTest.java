package io.flinkmamba.kernels.cli;

import io.flinkmamba.kernels.io.Npy;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import io.flinkmamba.kernels.testing.RandomModels;
import io.flinkmamba.kernels.testing.RawSafetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;

import static io.flinkmamba.kernels.testing.Assertions2.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ForwardCommandTest {
    @TempDir
    Path tmp;

    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();

    int run(String... args) {
        return ForwardCommand.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @ValueSource(strings = {"recurrent", "parallel"})
    void writesWhatSteppingTheModelGives(String mode) throws IOException {
        MambaConfig c = new MambaConfig(8, 4, 16, 4, 1, 2, false, true, 1e-5f);
        RandomModels.Tensors t = RandomModels.tensors(c, 3);
        Path dir = tmp.resolve("model");
        RawSafetensors.writeCheckpoint(dir, t, RawSafetensors.configJson(c));
        int b = 3, len = 20;
        float[] x = RandomModels.gaussian(new Random(9), b * len * 8);
        Path in = tmp.resolve("x.npy"), outPath = tmp.resolve("y.npy");
        Npy.writeFloat32(in, new long[] {b, len, 8}, x);
        assertEquals(0, run("--model", dir.toString(), "--input", in.toString(), "--output", outPath.toString(), "--mode", mode), err());
        Npy.FloatArray y = Npy.read(outPath);
        assertArrayEquals(new long[] {b, len, 8}, y.shape);
        MambaModel m = t.toModel();
        float[] want = new float[x.length];
        for (int i = 0; i < b; i++) {
            float[] s = m.newState();
            for (int k = 0; k < len; k++) {
                m.newStepper().step(s, 0, x, (i * len + k) * 8, want, (i * len + k) * 8);
            }
        }
        assertClose(y.data, want, 1e-6, mode);
    }

    @Test
    void expectComparesAgainstAReference() throws IOException {
        MambaConfig c = new MambaConfig(8, 4, 16, 4, 1, 1, false, true, 1e-5f);
        Path dir = tmp.resolve("model");
        RawSafetensors.writeCheckpoint(dir, RandomModels.tensors(c, 3), RawSafetensors.configJson(c));
        Path in = tmp.resolve("x.npy"), y = tmp.resolve("y.npy"), y2 = tmp.resolve("y2.npy");
        Npy.writeFloat32(in, new long[] {1, 6, 8}, RandomModels.gaussian(new Random(1), 48));
        assertEquals(0, run("--model", dir.toString(), "--input", in.toString(), "--output", y.toString(), "--mode", "recurrent"));
        // the parallel mode against the recurrent output: agrees
        assertEquals(0, run("--model", dir.toString(), "--input", in.toString(), "--output", y2.toString(), "--expect", y.toString()));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains(": OK"), out.toString(StandardCharsets.UTF_8));
        // a perturbed reference: refused with exit code 3
        float[] wrong = Npy.read(y).data;
        wrong[7] += 0.5f;
        Npy.writeFloat32(y, new long[] {1, 6, 8}, wrong);
        assertEquals(3, run("--model", dir.toString(), "--input", in.toString(), "--output", y2.toString(), "--expect", y.toString()));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("TOO LARGE"), out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void wrongInputShapeIsAClearError() throws IOException {
        MambaConfig c = new MambaConfig(8, 4, 16, 4, 1, 1, false, true, 1e-5f);
        Path dir = tmp.resolve("model");
        RawSafetensors.writeCheckpoint(dir, RandomModels.tensors(c, 3), RawSafetensors.configJson(c));
        Path in = tmp.resolve("x.npy");
        Npy.writeFloat32(in, new long[] {2, 5, 7}, new float[70]);
        assertEquals(1, run("--model", dir.toString(), "--input", in.toString(), "--output", tmp.resolve("y.npy").toString()));
        assertTrue(err().contains("has shape [2, 5, 7] but the model expects [B, L, 8]"), err());
    }

    @Test
    void nonFiniteInputIsRefused() throws IOException {
        MambaConfig c = new MambaConfig(8, 4, 16, 4, 1, 1, false, true, 1e-5f);
        Path dir = tmp.resolve("model");
        RawSafetensors.writeCheckpoint(dir, RandomModels.tensors(c, 3), RawSafetensors.configJson(c));
        float[] x = new float[16];
        x[11] = Float.POSITIVE_INFINITY;
        Path in = tmp.resolve("x.npy");
        Npy.writeFloat32(in, new long[] {1, 2, 8}, x);
        assertEquals(1, run("--model", dir.toString(), "--input", in.toString(), "--output", tmp.resolve("y.npy").toString()));
        assertTrue(err().contains("non-finite value at flat index 11"), err());
    }

    @Test
    void badModelAndBadUsage() {
        assertEquals(1, run("--model", tmp.resolve("none").toString(), "--input", "x", "--output", "y"));
        assertTrue(err().contains("not a model directory"), err());
        assertEquals(2, run("--model", "m", "--input", "x"));
        assertTrue(err().contains("missing --output"), err());
        assertEquals(2, run("--model", "m", "--input", "x", "--output", "y", "--mode", "fast"));
        assertTrue(err().contains("--mode must be recurrent or parallel"), err());
    }
}
