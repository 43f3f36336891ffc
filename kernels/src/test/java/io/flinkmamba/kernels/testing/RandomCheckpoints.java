package io.flinkmamba.kernels.testing;

import io.flinkmamba.kernels.io.SafetensorsWriter;
import io.flinkmamba.kernels.model.MambaConfig;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * Writes a Hugging Face style checkpoint directory (config.json + model.safetensors) with random
 * weights at scales like HF's initialisation, so that states stay bounded over long streams.
 */
public final class RandomCheckpoints {
    private RandomCheckpoints() {
    }

    public static Path write(Path dir, MambaConfig c, long seed) throws IOException {
        Files.createDirectories(dir);
        Random rnd = new Random(seed);
        int d = c.hiddenSize(), e = c.intermediateSize(), n = c.stateSize(), r = c.timeStepRank(), k = c.convKernel();
        SafetensorsWriter w = new SafetensorsWriter();
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "backbone.layers." + l + ".";
            w.add(p + "norm.weight", around(rnd, d, 1f, 0.1f), d);
            w.add(p + "mixer.in_proj.weight", gaussian(rnd, 2 * e * d, (float) (1 / Math.sqrt(d))), 2L * e, d);
            if (c.useBias()) {
                w.add(p + "mixer.in_proj.bias", gaussian(rnd, 2 * e, 0.02f), 2L * e);
            }
            w.add(p + "mixer.conv1d.weight", gaussian(rnd, e * k, 0.3f), e, 1, k);
            if (c.useConvBias()) {
                w.add(p + "mixer.conv1d.bias", gaussian(rnd, e, 0.1f), e);
            }
            w.add(p + "mixer.x_proj.weight", gaussian(rnd, (r + 2 * n) * e, (float) (1 / Math.sqrt(e))), r + 2L * n, e);
            w.add(p + "mixer.dt_proj.weight", gaussian(rnd, e * r, (float) (1 / Math.sqrt(r))), e, r);
            float[] dtBias = new float[e];
            for (int i = 0; i < e; i++) {
                double dt = Math.exp(Math.log(1e-3) + rnd.nextDouble() * (Math.log(1e-1) - Math.log(1e-3)));
                dtBias[i] = (float) (dt + Math.log(-Math.expm1(-dt))); // inverse softplus, as HF initialises it
            }
            w.add(p + "mixer.dt_proj.bias", dtBias, e);
            float[] aLog = new float[e * n];
            for (int i = 0; i < e; i++) {
                for (int j = 0; j < n; j++) {
                    aLog[i * n + j] = (float) Math.log(j + 1);
                }
            }
            w.add(p + "mixer.A_log", aLog, e, n);
            w.add(p + "mixer.D", around(rnd, e, 1f, 0.1f), e);
            w.add(p + "mixer.out_proj.weight", gaussian(rnd, d * e, (float) (1 / Math.sqrt(e))), d, e);
            if (c.useBias()) {
                w.add(p + "mixer.out_proj.bias", gaussian(rnd, d, 0.02f), d);
            }
        }
        w.add("backbone.norm_f.weight", around(rnd, d, 1f, 0.1f), d);
        w.write(dir.resolve("model.safetensors"));
        String json = "{\"model_type\": \"mamba\", \"hidden_size\": " + d + ", \"state_size\": " + n
                + ", \"intermediate_size\": " + e + ", \"conv_kernel\": " + k + ", \"time_step_rank\": " + r
                + ", \"num_hidden_layers\": " + c.numLayers() + ", \"use_bias\": " + c.useBias()
                + ", \"use_conv_bias\": " + c.useConvBias() + ", \"layer_norm_epsilon\": " + c.layerNormEpsilon() + "}";
        Files.write(dir.resolve("config.json"), json.getBytes(StandardCharsets.UTF_8));
        return dir;
    }

    private static float[] gaussian(Random rnd, int size, float std) {
        float[] a = new float[size];
        for (int i = 0; i < size; i++) {
            a[i] = (float) (rnd.nextGaussian() * std);
        }
        return a;
    }

    private static float[] around(Random rnd, int size, float mean, float std) {
        float[] a = gaussian(rnd, size, std);
        for (int i = 0; i < size; i++) {
            a[i] += mean;
        }
        return a;
    }
}
