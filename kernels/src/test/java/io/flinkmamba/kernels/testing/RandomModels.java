package io.flinkmamba.kernels.testing;

import io.flinkmamba.kernels.model.LayerWeights;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import io.flinkmamba.kernels.model.MambaWeights;

import java.util.Random;

/** Random models whose every parameter matters, at scales that keep activations O(1). */
public final class RandomModels {
    private RandomModels() {
    }

    /** The raw tensors of a model, under HF's names (A_log kept, not -exp). */
    public static final class Tensors {
        public final MambaConfig config;
        public final java.util.LinkedHashMap<String, float[]> byName = new java.util.LinkedHashMap<>();
        public final java.util.LinkedHashMap<String, long[]> shapes = new java.util.LinkedHashMap<>();

        Tensors(MambaConfig config) {
            this.config = config;
        }

        void put(String name, float[] v, long... shape) {
            byName.put(name, v);
            shapes.put(name, shape);
        }

        public MambaModel toModel() {
            MambaConfig c = config;
            LayerWeights[] layers = new LayerWeights[c.numLayers()];
            for (int l = 0; l < layers.length; l++) {
                String p = "layers." + l + ".";
                layers[l] = new LayerWeights(byName.get(p + "norm.weight"), byName.get(p + "mixer.in_proj.weight"),
                        byName.get(p + "mixer.in_proj.bias"), byName.get(p + "mixer.conv1d.weight"),
                        byName.get(p + "mixer.conv1d.bias"), byName.get(p + "mixer.x_proj.weight"),
                        byName.get(p + "mixer.dt_proj.weight"), byName.get(p + "mixer.dt_proj.bias"),
                        byName.get(p + "mixer.A_log"), byName.get(p + "mixer.D"),
                        byName.get(p + "mixer.out_proj.weight"), byName.get(p + "mixer.out_proj.bias"));
            }
            return new MambaModel(c, new MambaWeights(layers, byName.get("norm_f.weight")), "random");
        }
    }

    public static MambaModel model(MambaConfig c, long seed) {
        return tensors(c, seed).toModel();
    }

    public static Tensors tensors(MambaConfig c, long seed) {
        Random rnd = new Random(seed);
        int d = c.hiddenSize(), e = c.intermediateSize(), n = c.stateSize(), r = c.timeStepRank(), k = c.convKernel();
        Tensors t = new Tensors(c);
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "layers." + l + ".";
            t.put(p + "norm.weight", around(rnd, d, 1f, 0.2f), d);
            t.put(p + "mixer.in_proj.weight", uniform(rnd, 2 * e * d, (float) (1 / Math.sqrt(d))), 2L * e, d);
            if (c.useBias()) {
                t.put(p + "mixer.in_proj.bias", uniform(rnd, 2 * e, 0.1f), 2L * e);
            }
            t.put(p + "mixer.conv1d.weight", uniform(rnd, e * k, (float) (1 / Math.sqrt(k))), e, 1, k);
            if (c.useConvBias()) {
                t.put(p + "mixer.conv1d.bias", uniform(rnd, e, 0.2f), e);
            }
            t.put(p + "mixer.x_proj.weight", uniform(rnd, (r + 2 * n) * e, (float) (1 / Math.sqrt(e))), r + 2L * n, e);
            t.put(p + "mixer.dt_proj.weight", uniform(rnd, e * r, (float) (1 / Math.sqrt(r))), e, r);
            float[] dtBias = new float[e];
            for (int i = 0; i < e; i++) {
                // inverse softplus of dt in [0.001, 0.1], as HF initialises it
                double dt = Math.exp(rnd.nextDouble() * (Math.log(0.1) - Math.log(0.001)) + Math.log(0.001));
                dtBias[i] = (float) (dt + Math.log(-Math.expm1(-dt)));
            }
            t.put(p + "mixer.dt_proj.bias", dtBias, e);
            float[] aLog = new float[e * n];
            for (int i = 0; i < e; i++) {
                for (int j = 0; j < n; j++) {
                    aLog[i * n + j] = (float) Math.log(j + 1) + 0.3f * (float) rnd.nextGaussian();
                }
            }
            t.put(p + "mixer.A_log", aLog, e, n);
            t.put(p + "mixer.D", around(rnd, e, 1f, 0.3f), e);
            t.put(p + "mixer.out_proj.weight", uniform(rnd, d * e, (float) (1 / Math.sqrt(e))), d, e);
            if (c.useBias()) {
                t.put(p + "mixer.out_proj.bias", uniform(rnd, d, 0.1f), d);
            }
        }
        t.put("norm_f.weight", around(rnd, d, 1f, 0.2f), d);
        return t;
    }

    public static float[] uniform(Random rnd, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (rnd.nextFloat() * 2 - 1) * scale;
        }
        return a;
    }

    private static float[] around(Random rnd, int n, float center, float spread) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = center + spread * (float) rnd.nextGaussian();
        }
        return a;
    }

    public static float[] gaussian(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }
}
