package io.flinkmamba.benchmarks;

import io.flinkmamba.kernels.model.LayerWeights;
import io.flinkmamba.kernels.model.MambaConfig;
import io.flinkmamba.kernels.model.MambaModel;
import io.flinkmamba.kernels.model.MambaWeights;

import java.util.Random;

/**
 * The two model sizes of issue 3 with random weights at scales that keep activations O(1)
 * (the same recipe as the kernels test-jar's RandomModels, kept here so the benchmark jar is
 * self-contained).
 */
public final class BenchModels {
    private BenchModels() {
    }

    /** "h64": hidden 64 / state 16 / 2 layers; "h256": hidden 256 / state 16 / 4 layers. */
    public static MambaConfig config(String size) {
        switch (size) {
            case "h64":
                return MambaConfig.of(64, 16, 2);
            case "h256":
                return MambaConfig.of(256, 16, 4);
            default:
                throw new IllegalArgumentException("unknown model size '" + size + "' (h64 or h256)");
        }
    }

    public static MambaModel model(String size) {
        return random(config(size), 42);
    }

    public static MambaModel random(MambaConfig c, long seed) {
        Random rnd = new Random(seed);
        int d = c.hiddenSize(), e = c.intermediateSize(), n = c.stateSize(), r = c.timeStepRank(), k = c.convKernel();
        LayerWeights[] layers = new LayerWeights[c.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            float[] norm = around(rnd, d, 1f, 0.2f);
            float[] inProj = uniform(rnd, 2 * e * d, (float) (1 / Math.sqrt(d)));
            float[] inProjBias = c.useBias() ? uniform(rnd, 2 * e, 0.1f) : null;
            float[] conv = uniform(rnd, e * k, (float) (1 / Math.sqrt(k)));
            float[] convBias = c.useConvBias() ? uniform(rnd, e, 0.2f) : null;
            float[] xProj = uniform(rnd, (r + 2 * n) * e, (float) (1 / Math.sqrt(e)));
            float[] dtProj = uniform(rnd, e * r, (float) (1 / Math.sqrt(r)));
            float[] dtBias = new float[e];
            for (int i = 0; i < e; i++) {
                // inverse softplus of dt in [0.001, 0.1], as HF initialises it
                double dt = Math.exp(rnd.nextDouble() * (Math.log(0.1) - Math.log(0.001)) + Math.log(0.001));
                dtBias[i] = (float) (dt + Math.log(-Math.expm1(-dt)));
            }
            float[] aLog = new float[e * n];
            for (int i = 0; i < e; i++) {
                for (int j = 0; j < n; j++) {
                    aLog[i * n + j] = (float) Math.log(j + 1) + 0.3f * (float) rnd.nextGaussian();
                }
            }
            float[] dSkip = around(rnd, e, 1f, 0.3f);
            float[] outProj = uniform(rnd, d * e, (float) (1 / Math.sqrt(e)));
            float[] outBias = c.useBias() ? uniform(rnd, d, 0.1f) : null;
            layers[l] = new LayerWeights(norm, inProj, inProjBias, conv, convBias, xProj, dtProj, dtBias, aLog,
                    dSkip, outProj, outBias);
        }
        return new MambaModel(c, new MambaWeights(layers, around(rnd, d, 1f, 0.2f)), "random(" + seed + ")");
    }

    /** Gaussian inputs, {@code count} rows of hidden_size floats back to back. */
    public static float[] inputs(MambaConfig c, int count, long seed) {
        Random rnd = new Random(seed);
        float[] a = new float[count * c.hiddenSize()];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }

    private static float[] uniform(Random rnd, int n, float scale) {
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
}
