package io.flinkmamba.kernels.model;

import io.flinkmamba.kernels.io.ModelFormatException;

/** All parameters of a block stack: its layers and the final norm. */
public final class MambaWeights {
    public final LayerWeights[] layers;
    public final float[] normF;

    public MambaWeights(LayerWeights[] layers, float[] normF) {
        this.layers = layers;
        this.normF = normF;
    }

    /** Refuses weights whose values could poison every stream's state. */
    void checkFinite(String where) {
        for (int l = 0; l < layers.length; l++) {
            LayerWeights w = layers[l];
            check(where, l, "norm.weight", w.norm);
            check(where, l, "mixer.in_proj.weight", w.inProj);
            check(where, l, "mixer.in_proj.bias", w.inProjBias);
            check(where, l, "mixer.conv1d.weight", w.convWeight);
            check(where, l, "mixer.conv1d.bias", w.convBias);
            check(where, l, "mixer.x_proj.weight", w.xProj);
            check(where, l, "mixer.dt_proj.weight", w.dtProj);
            check(where, l, "mixer.dt_proj.bias", w.dtProjBias);
            check(where, l, "mixer.A_log (as -exp)", w.aNeg);
            check(where, l, "mixer.D", w.d);
            check(where, l, "mixer.out_proj.weight", w.outProj);
            check(where, l, "mixer.out_proj.bias", w.outProjBias);
        }
        for (float v : normF) {
            if (!Float.isFinite(v)) {
                throw new ModelFormatException(where + ": tensor 'norm_f.weight' holds a non-finite value");
            }
        }
    }

    private static void check(String where, int layer, String name, float[] a) {
        if (a == null) {
            return;
        }
        for (int i = 0; i < a.length; i++) {
            if (!Float.isFinite(a[i])) {
                throw new ModelFormatException(where + ": tensor 'layers." + layer + "." + name
                        + "' holds a non-finite value (" + a[i] + ") at flat index " + i);
            }
        }
    }
}
