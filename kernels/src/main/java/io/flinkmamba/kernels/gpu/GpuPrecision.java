package io.flinkmamba.kernels.gpu;

import java.util.Locale;

/**
 * How the GPU path multiplies the projections with a reduction of 32 or more (in_proj, x_proj, out_proj);
 * everything else is float32. Chosen per operator by the Flink option {@code mamba.gpu.precision}, else by
 * the JVM property {@value #PROPERTY}, else {@link #TF32X3}. Tolerances are tested on the device
 * ({@code GpuBatchForwardTest}); figures in docs/benchmarks.md.
 */
public enum GpuPrecision {
    /** Tensor cores, each product as three TF32 products of split operands: float32 accuracy (≤ 1e-5 vs the CPU). */
    TF32X3("gemm_tf32x3"),
    /** CUDA cores, float32 FMA. */
    FP32(null),
    /** Tensor cores, one TF32 product (10-bit mantissa): fastest, ≤ 1e-3 relative L2 vs the CPU. */
    TF32("gemm_tf32");

    /** JVM system property read when no precision is given. */
    public static final String PROPERTY = "flinkmamba.gpu.gemm";

    /** Prefix of the tensor-core kernels in mamba.cu ({@code _s64}, {@code _norm_s64}); null: CUDA cores only. */
    final String kernelName;

    GpuPrecision(String kernelName) {
        this.kernelName = kernelName;
    }

    /** tf32x3, fp32 or tf32, in any case. */
    public static GpuPrecision parse(String value) {
        String v = value == null ? "" : value.trim();
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "tf32x3" -> TF32X3;
            case "fp32" -> FP32;
            case "tf32" -> TF32;
            default -> throw new IllegalArgumentException("GPU precision '" + v + "': expected tf32x3, fp32 or tf32");
        };
    }

    /** {@value #PROPERTY} if set, else {@link #TF32X3}. */
    public static GpuPrecision fromSystemProperty() {
        String p = System.getProperty(PROPERTY);
        if (p == null) {
            return TF32X3;
        }
        try {
            return parse(p);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("-D" + PROPERTY + "=" + p + ": expected tf32x3, fp32 or tf32", e);
        }
    }
}
