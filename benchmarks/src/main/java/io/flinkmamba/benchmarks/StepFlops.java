package io.flinkmamba.benchmarks;

import io.flinkmamba.kernels.model.MambaConfig;

/**
 * Floating-point work of one recurrent step, counted as 2 FLOPs per multiply-add: the four
 * projections (in_proj, x_proj, dt_proj, out_proj), the depthwise conv, and the scan's three
 * multiply-adds per (channel, state) element (Δ·A, decay·s + Δu·B, s·C). Transcendentals (exp in
 * the scan, SiLU, softplus) and the norms are not counted, so the % of peak is a lower bound.
 */
public final class StepFlops {
    private StepFlops() {
    }

    public static long perStep(MambaConfig c) {
        long d = c.hiddenSize(), e = c.intermediateSize(), n = c.stateSize(), r = c.timeStepRank();
        long macs = 2 * e * d          // in_proj
                + e * c.convKernel()   // conv
                + c.xProjRows() * e    // x_proj
                + e * r                // dt_proj
                + 3 * e * n            // scan
                + d * e;               // out_proj
        return 2 * macs * c.numLayers();
    }

    /** Bytes of weights one step reads (float32): what a step must stream when they are not in cache. */
    public static long weightBytes(MambaConfig c) {
        long d = c.hiddenSize(), e = c.intermediateSize(), n = c.stateSize(), r = c.timeStepRank();
        long floats = d + 2 * e * d + e * c.convKernel() + e + c.xProjRows() * e + e * r + e + e * n + e + d * e;
        return 4 * (floats * c.numLayers() + d);
    }
}
