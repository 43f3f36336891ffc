// Mamba-1 block kernels for a ragged batch (see docs/design/mamba-block.md for the math).
//
// Layouts are those of io.flinkmamba.kernels.model.MambaBatch and the CPU path: token rows are
// packed, sequence s owns tokens [offsets[s], offsets[s+1]) and the state slice
// [s*stateFloats, (s+1)*stateFloats) (per layer: conv window [E, K-1] oldest first, then SSM [E, N]).
// Matrices are row-major with the reduction dimension contiguous (PyTorch Linear layout).
// Everything is float32, and results match the CPU path within 1e-5 relative L2 (tested on the device):
// the projections run as 3xTF32 on the tensor cores (float32 accuracy) unless GpuPrecision says otherwise;
// the per-element exp(Δ·A), the gates' SiLU and the fused softplus use the special-function unit (~2 ulp,
// denormal results flushed to zero); the rest uses accurate expf/logf.
//
// Built to PTX + sm_90 cubin by scripts/build-ptx.sh; loaded by GpuBatchForward via the driver API.

#define WARP 32

__device__ __forceinline__ float silu_f(float v) { return v / (1.0f + expf(-v)); }

// The same on the special-function unit (ex2 and rcp, about 2 ulp each), for the per-token gates of the
// conv and the scan: a handful of instructions instead of expf's range reduction and an IEEE division.
// v << 0: 1 + 2^(-v·log2 e) overflows to inf and the quotient is 0, silu's limit.
__device__ __forceinline__ float silu_sfu(float v) {
    float e;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(e) : "f"(-v * 1.4426950408889634f));
    return __fdividef(v, 1.0f + e);
}

// torch.nn.functional.softplus, threshold 20
__device__ __forceinline__ float softplus_f(float v) { return v > 20.0f ? v : log1pf(expf(v)); }

// The GEMM epilogues' elementwise step for output o of out: mode 1 softplus (dt_proj unfused), mode 3 SiLU on the
// upper half (in_proj: xz's z half becomes the gate SiLU(z), which the scans read; on the special-function unit as
// the register scans computed it before, so the same bits; scan_generic's expf gate is now this one too). Modes 0 and
// 2 (store, residual add) leave v as it is. The gate's select is written so that the mma.sync kernels, capped at 128
// registers, spill about as little as before (computing SiLU only where o is in z spilled 44-48 bytes more).
#define GEMM_MODE_GATE 3
__device__ __forceinline__ float gemm_activation(float v, int o, int out, int mode) {
    if (mode == 1) return softplus_f(v);
    if (mode == GEMM_MODE_GATE) { float s = silu_sfu(v); return o >= (out >> 1) ? s : v; }
    return v;
}

// out[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * w  — one warp per row.
extern "C" __global__ void rmsnorm_rows(const float* __restrict__ x, const float* __restrict__ w,
                                        float* __restrict__ out, int rows, int d, float eps) {
    long long row = (long long)blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP;
    int lane = threadIdx.x % WARP;
    if (row >= rows) return;
    const float* xr = x + row * d;
    float ss = 0.0f;
    for (int i = lane; i < d; i += WARP) ss += xr[i] * xr[i];
    for (int o = WARP / 2; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    float inv = rsqrtf(ss / d + eps);
    float* orow = out + row * d;
    for (int i = lane; i < d; i += WARP) orow[i] = xr[i] * inv * w[i];
}

// Y[t, o] = Σ_i X[t*ldx + i] · W[o*in + i] + bias[o], epilogue by mode:
//   0: store, 1: store softplus(v), 2: Y += v (residual add), 3: store, SiLU on the upper half of the outputs
//   (gemm_activation); the streaming tensor-core GEMMs' _rms kernels
//   add the residual and apply the final RMSNorm into another buffer (gemm_tc_store_rms).
// Block tile: 128 tokens x BN outputs, k-tiles of 16 through shared memory; 256 threads, each
// 8 tokens x BN/16 outputs in registers (register blocking keeps shared-memory reads per FMA low).
// BN = 64 for narrow projections (x_proj, out_proj at small D), 128 otherwise.
#define GBM 128
#define GBK 16
template <int BN>
__device__ __forceinline__ void gemm_impl(const float* __restrict__ X, int ldx, int tokens, int in,
                                          const float* __restrict__ W, int out, const float* __restrict__ bias,
                                          float* __restrict__ Y, int ldy, int mode) {
    constexpr int TM = 8, TN = BN / 16;
    __shared__ __align__(16) float xs[GBK][GBM + 4];
    __shared__ __align__(16) float ws[GBK][BN + 4];
    int tid = threadIdx.x;
    int tx = tid % 16, ty = tid / 16;
    long long t0 = (long long)blockIdx.x * GBM;
    int o0 = blockIdx.y * BN;
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;
    for (int k0 = 0; k0 < in; k0 += GBK) {
        // X tile: 128 x 16 = 2048 values, 8 per thread; consecutive threads walk k first (coalesced rows)
#pragma unroll
        for (int q = 0; q < (GBM * GBK) / 256; q++) {
            int idx = q * 256 + tid;
            int m = idx / GBK, k = idx % GBK;
            long long t = t0 + m;
            xs[k][m] = (t < tokens && k0 + k < in) ? X[t * ldx + k0 + k] : 0.0f;
        }
#pragma unroll
        for (int q = 0; q < (BN * GBK) / 256; q++) {
            int idx = q * 256 + tid;
            int n = idx / GBK, k = idx % GBK;
            int o = o0 + n;
            ws[k][n] = (o < out && k0 + k < in) ? W[(long long)o * in + k0 + k] : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int k = 0; k < GBK; k++) {
            float a[TM], b[TN];
            // tokens ty*4 + {0..3} and 64 + ty*4 + {0..3}: two float4 loads, conflict-free across ty
            float4 a0 = *reinterpret_cast<const float4*>(&xs[k][ty * 4]);
            float4 a1 = *reinterpret_cast<const float4*>(&xs[k][64 + ty * 4]);
            a[0] = a0.x; a[1] = a0.y; a[2] = a0.z; a[3] = a0.w;
            a[4] = a1.x; a[5] = a1.y; a[6] = a1.z; a[7] = a1.w;
#pragma unroll
            for (int j = 0; j < TN; j += 4) {
                // outputs tx*4 + {0..3} (+ 64 for the second half when BN = 128)
                float4 bv = *reinterpret_cast<const float4*>(&ws[k][(j / 4) * 64 + tx * 4]);
                b[j] = bv.x; b[j + 1] = bv.y; b[j + 2] = bv.z; b[j + 3] = bv.w;
            }
#pragma unroll
            for (int i = 0; i < TM; i++)
#pragma unroll
                for (int j = 0; j < TN; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
    // epilogue: each thread owns runs of 4 adjacent outputs: one 16-byte access per run when the
    // row layout allows it (coalesced: a warp covers 256 contiguous bytes of a row), else scalars
    bool vec = (ldy % 4 == 0) && ((reinterpret_cast<unsigned long long>(Y) & 15) == 0);
#pragma unroll
    for (int i = 0; i < TM; i++) {
        long long t = t0 + (i / 4) * 64 + ty * 4 + (i % 4);
        if (t >= tokens) continue;
#pragma unroll
        for (int j = 0; j < TN; j += 4) {
            int o = o0 + (j / 4) * 64 + tx * 4;
            float* dst = Y + t * ldy + o;
            if (vec && o + 3 < out) {
                float4 v;
                v.x = acc[i][j] + (bias != nullptr ? bias[o] : 0.0f);
                v.y = acc[i][j + 1] + (bias != nullptr ? bias[o + 1] : 0.0f);
                v.z = acc[i][j + 2] + (bias != nullptr ? bias[o + 2] : 0.0f);
                v.w = acc[i][j + 3] + (bias != nullptr ? bias[o + 3] : 0.0f);
                if (mode == 1 || mode == GEMM_MODE_GATE) {
                    v.x = gemm_activation(v.x, o, out, mode); v.y = gemm_activation(v.y, o + 1, out, mode);
                    v.z = gemm_activation(v.z, o + 2, out, mode); v.w = gemm_activation(v.w, o + 3, out, mode);
                } else if (mode == 2) {
                    float4 old = *reinterpret_cast<float4*>(dst);
                    v.x += old.x; v.y += old.y; v.z += old.z; v.w += old.w;
                }
                *reinterpret_cast<float4*>(dst) = v;
            } else {
#pragma unroll
                for (int jj = 0; jj < 4; jj++) {
                    if (o + jj >= out) break;
                    float v = gemm_activation(acc[i][j + jj] + (bias != nullptr ? bias[o + jj] : 0.0f), o + jj, out, mode);
                    if (mode == 2) v += dst[jj];
                    dst[jj] = v;
                }
            }
        }
    }
}

#define GEMM_ARGS const float* __restrict__ X, int ldx, int tokens, int in, const float* __restrict__ W, \
    int out, const float* __restrict__ bias, float* __restrict__ Y, int ldy, int mode
#define GEMM_PASS X, ldx, tokens, in, W, out, bias, Y, ldy, mode
extern "C" __global__ void __launch_bounds__(256) gemm_xwt_n64(GEMM_ARGS) { gemm_impl<64>(GEMM_PASS); }
extern "C" __global__ void __launch_bounds__(256) gemm_xwt_n128(GEMM_ARGS) { gemm_impl<128>(GEMM_PASS); }

// The same product on the tensor cores: mma.sync m16n8k8 with TF32 inputs and float32 accumulators.
// PASSES = 3 is "3xTF32": each operand is split into a TF32 head and the TF32 remainder, and
// head·head + head·tail + tail·head recovers float32 accuracy (the dropped tail·tail is ~2^-22 relative),
// so results stay within the forward's 1e-5 of the CPU path; PASSES = 1 is plain TF32 (10-bit mantissa,
// the opt-in mode flinkmamba.gpu.gemm=tf32 with its own tolerance). Each warp computes 32 tokens (two m16
// tiles) x BN outputs (BN/8 n8 tiles); fragment coordinates g = lane / 4, q = lane % 4 (PTX ISA: groupID,
// threadID_in_group).
// The TF32 head of v, rounded to nearest (ties away from zero) with two integer instructions: on sm_90
// cvt.rna.tf32.f32 is a sequence of several, and the operand splits dominated the GEMMs' instruction count.
// Past ±3.4e38 it gives inf (unlike cvt): far outside what a layer's activations and weights hold.
__device__ __forceinline__ unsigned tf32_head(float v) { return (__float_as_uint(v) + 0x1000u) & 0xffffe000u; }
// v - head is exact in float32; its own TF32 truncation drops bits below 2^-21 of v (the tail·tail
// product, already left out, is of the same order)
__device__ __forceinline__ unsigned tf32_tail(float v, unsigned head) {
    return __float_as_uint(v - __uint_as_float(head)) & 0xffffe000u;
}
__device__ __forceinline__ void mma_tf32(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
    // not volatile: the compiler may interleave independent mma with the fragment loads
    asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
// Stores warp wm's accumulators (i, j, v): token wm*32 + i*16 + g (+8 for v >= 2), output j*8 + 2q (+1 for
// odd v) of the block's column, with bias and the epilogue mode; two adjacent outputs per 8-byte store. A
// row scale (the fused RMSNorm's 1/rms, per (i, row g or g + 8)) multiplies the product before the bias.
// FULL: the caller knows every token and output of the tile exists and Y's rows are 8-byte aligned.
// WMT: m16 tiles a warp (2 for mma.sync's 32 tokens, 1 for a wgmma warpgroup's warp, 16 rows of its m64).
template <int NT, bool SCALE, bool FULL = false, int WMT = 2>
__device__ __forceinline__ void gemm_tc_store(float (&acc)[WMT][NT][4], long long t0, int o0, int wm, int g, int q,
                                              int tokens, int out, const float* __restrict__ bias,
                                              float* __restrict__ Y, int ldy, int mode,
                                              const float (*rowScale)[2] = nullptr) {
    bool vec = FULL || ((ldy % 2 == 0) && ((reinterpret_cast<unsigned long long>(Y) & 7) == 0));
    if constexpr (FULL && WMT == 1 && !SCALE) {
        if (mode == 2) {   // the residual's old values all loaded first: one memory latency, not one per output pair
            float2 old[2][NT];
#pragma unroll
            for (int h = 0; h < 2; h++)
#pragma unroll
                for (int j = 0; j < NT; j++)
                    old[h][j] = *reinterpret_cast<const float2*>(Y + (t0 + wm * 16 + g + h * 8) * ldy + o0 + j * 8 + 2 * q);
#pragma unroll
            for (int h = 0; h < 2; h++) {
                float sc = SCALE ? rowScale[0][h] : 1.0f;
#pragma unroll
                for (int j = 0; j < NT; j++) {
                    int o = o0 + j * 8 + 2 * q;
                    float v0 = (SCALE ? acc[0][j][2 * h] * sc : acc[0][j][2 * h]) + (bias != nullptr ? bias[o] : 0.0f);
                    float v1 = (SCALE ? acc[0][j][2 * h + 1] * sc : acc[0][j][2 * h + 1]) + (bias != nullptr ? bias[o + 1] : 0.0f);
                    *reinterpret_cast<float2*>(Y + (t0 + wm * 16 + g + h * 8) * ldy + o) =
                        make_float2(v0 + old[h][j].x, v1 + old[h][j].y);
                }
            }
            return;
        }
    }
#pragma unroll
    for (int i = 0; i < WMT; i++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            long long t = t0 + wm * 16 * WMT + i * 16 + g + h * 8;
            if (!FULL && t >= tokens) continue;
            float sc = SCALE ? rowScale[i][h] : 1.0f;
#pragma unroll
            for (int j = 0; j < NT; j++) {
                int o = o0 + j * 8 + 2 * q;
                if (!FULL && o >= out) continue;
                float* dst = Y + t * ldy + o;
                float v0 = (SCALE ? acc[i][j][2 * h] * sc : acc[i][j][2 * h]) + (bias != nullptr ? bias[o] : 0.0f);
                if (vec && (FULL || o + 1 < out)) {
                    float v1 = (SCALE ? acc[i][j][2 * h + 1] * sc : acc[i][j][2 * h + 1]) + (bias != nullptr ? bias[o + 1] : 0.0f);
                    v0 = gemm_activation(v0, o, out, mode);
                    v1 = gemm_activation(v1, o + 1, out, mode);
                    if (mode == 2) { float2 old = *reinterpret_cast<float2*>(dst); v0 += old.x; v1 += old.y; }
                    *reinterpret_cast<float2*>(dst) = make_float2(v0, v1);
                } else {
                    v0 = gemm_activation(v0, o, out, mode);
                    if (mode == 2) v0 += dst[0];
                    dst[0] = v0;
                    if (o + 1 < out) {
                        float v1 = (SCALE ? acc[i][j][2 * h + 1] * sc : acc[i][j][2 * h + 1]) + (bias != nullptr ? bias[o + 1] : 0.0f);
                        v1 = gemm_activation(v1, o + 1, out, mode);
                        if (mode == 2) v1 += dst[1];
                        dst[1] = v1;
                    }
                }
            }
        }
}
// The _rms kernels' epilogue (the last layer's out_proj with the final RMSNorm fused): v = Y + product + bias, the residual stream's
// row, is not stored; Y2 gets v / rms(v) · normW. The block's column must hold the whole row (out <= BN): a row's
// outputs are then spread over the 4 lanes q of one warp, which sum their squares by two shuffles.
template <int NT>
__device__ __forceinline__ void gemm_tc_store_rms(float (&acc)[2][NT][4], long long t0, int wm, int g, int q,
                                                  int tokens, int out, const float* __restrict__ bias,
                                                  const float* __restrict__ Y, int ldy,
                                                  const float* __restrict__ normW, float* __restrict__ Y2,
                                                  float eps) {
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            long long t = t0 + wm * 32 + i * 16 + g + h * 8;
            bool row = t < tokens;
            float v[NT][2], ss = 0.0f;
#pragma unroll
            for (int j = 0; j < NT; j++)
#pragma unroll
                for (int c = 0; c < 2; c++) {
                    int o = j * 8 + 2 * q + c;
                    bool ok = row && o < out;
                    float x = ok ? acc[i][j][2 * h + c] + (bias != nullptr ? bias[o] : 0.0f) + Y[t * ldy + o] : 0.0f;
                    v[j][c] = x;
                    ss = fmaf(x, x, ss);
                }
            ss += __shfl_xor_sync(0xffffffffu, ss, 1);   // every lane takes part: rows past the end sum zeros
            ss += __shfl_xor_sync(0xffffffffu, ss, 2);
            float inv = rsqrtf(ss / out + eps);
            if (row)
#pragma unroll
                for (int j = 0; j < NT; j++)
#pragma unroll
                    for (int c = 0; c < 2; c++) {
                        int o = j * 8 + 2 * q + c;
                        if (o < out) Y2[t * ldy + o] = v[j][c] * inv * normW[o];
                    }
        }
}
// A shared-memory pointer as the 32-bit address the PTX shared-memory instructions take
__device__ __forceinline__ unsigned smem_u32(const void* p) { return static_cast<unsigned>(__cvta_generic_to_shared(p)); }
// cp.async groups: commit the copies issued since the last commit; wait until at most N groups are in flight
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory"); }
// The persistent GEMMs' load cursor: the next k-tile, and the next token tile after a tile's last
__device__ __forceinline__ void next_k_tile(int& ldK, int& ldTile, int& ldIt, int kTiles) {
    if (++ldK == kTiles) {
        ldK = 0;
        ldTile++;
    }
    ldIt++;
}
// The 3xFP16 row scale of row_scales and row_split: sa = 2^c, c = 14 - e for the row's largest magnitude m in
// [2^e, 2^(e+1)) (capped at 126; 0 for a row of zeros or one that is not finite) ...
__device__ __forceinline__ int row_scale_exponent(float m) {
    return m > 0.0f && __float_as_uint(m) < 0x7f800000u ? min(126, 141 - (int)(__float_as_uint(m) >> 23)) : 0;
}
// ... and the row's output factor, from inv = 1 / sa: inv, or with eps >= 0 (the RMSNorm fused) rsqrt(ss / in + eps) / sa
__device__ __forceinline__ float row_output_factor(float inv, float ss, int in, float eps) {
    return eps >= 0.0f ? rsqrtf(ss / in + eps) * inv : inv;
}
// the warpgroup-MMA GEMMs' accumulators, cleared
template <int NT>
__device__ __forceinline__ void zero_acc(float (&acc)[1][NT][4]) {
#pragma unroll
    for (int j = 0; j < NT; j++)
#pragma unroll
        for (int v = 0; v < 4; v++) acc[0][j][v] = 0.0f;
}
// 16 bytes global -> shared; bytes < 16 reads that many and zero-fills the rest (0: a copy switched off without a
// branch)
__device__ __forceinline__ void cp_async16_to(unsigned dst, const float* src, unsigned bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(dst), "l"(src), "r"(bytes) : "memory");
}
__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], const float* src) {
    unsigned a = smem_u32(src);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}
// One 8-deep step of a k-tile for warp wm's 32 x BN block: load its A and B fragments from the shared
// tiles (rows padded to LD floats), split them into TF32 head and tail for 3xTF32, and accumulate. SQ also
// sums the squares of the A values the lane loads, per row (ss[i][0]: row g, ss[i][1]: row g + 8), for the
// fused RMSNorm.
// WSPLIT (3xTF32): W arrives split on the host (DeviceWeights.tf32Split): ws holds the TF32 heads and wt the
// tails, used as they are instead of split in every warp; and the fragments come by ldmatrix (four 8 x 4 tf32
// sub-tiles per instruction; rows are 16-byte aligned). Measured on H200 (fifth session, call 2): fused norm +
// in_proj 0.79 vs 0.83 ms at hidden 64 and 2.47 vs 2.65 at 256, x_proj 0.35 vs 0.38; the split alone gained
// 1%. Plain TF32 keeps its loads: there the same change was slower (0.69 vs 0.65 ms, out_proj 1.08 vs 0.97).
template <int BN, int PASSES, int LD, bool SQ, bool WSPLIT = false>
__device__ __forceinline__ void mma_k8(float (&acc)[2][BN / 8][4], const float (*xs)[LD], const float (*ws)[LD],
                                       const float (*wt)[LD], int kk, int wm, int g, int q, int lane,
                                       float (&ss)[2][2]) {
    constexpr int WMT = 2, NT = BN / 8;
    static_assert(!WSPLIT || (PASSES == 3 && NT % 2 == 0), "split weights: 3xTF32, pairs of n-tiles");
    unsigned ah[WMT][4], al[WMT][4];
#pragma unroll
    for (int i = 0; i < WMT; i++) {
        int row = wm * 32 + i * 16 + g;
        float v[4];
        if constexpr (WSPLIT) {
            unsigned r[4];
            ldmatrix_x4(r, &xs[wm * 32 + i * 16 + (lane & 7) + ((lane >> 3) & 1) * 8][kk + (lane >> 4) * 4]);
#pragma unroll
            for (int x = 0; x < 4; x++) v[x] = __uint_as_float(r[x]);
        } else {
            v[0] = xs[row][kk + q];
            v[1] = xs[row + 8][kk + q];
            v[2] = xs[row][kk + q + 4];
            v[3] = xs[row + 8][kk + q + 4];
        }
        if (SQ) {
            ss[i][0] = fmaf(v[0], v[0], fmaf(v[2], v[2], ss[i][0]));
            ss[i][1] = fmaf(v[1], v[1], fmaf(v[3], v[3], ss[i][1]));
        }
#pragma unroll
        for (int x = 0; x < 4; x++) {
            ah[i][x] = tf32_head(v[x]);
            al[i][x] = PASSES == 3 ? tf32_tail(v[x], ah[i][x]) : 0u;
        }
    }
    unsigned bh[NT][2], bl[NT][2];
    if constexpr (WSPLIT) {
#pragma unroll
        for (int j = 0; j < NT; j += 2) {   // sub-tiles (j, k lo), (j, k hi), (j + 1, k lo), (j + 1, k hi)
            const float* a = &ws[(j + (lane >> 4)) * 8 + (lane & 7)][kk + ((lane >> 3) & 1) * 4];
            unsigned r[4];
            ldmatrix_x4(r, a);
            bh[j][0] = r[0]; bh[j][1] = r[1]; bh[j + 1][0] = r[2]; bh[j + 1][1] = r[3];
            ldmatrix_x4(r, a + (wt - ws) * LD);
            bl[j][0] = r[0]; bl[j][1] = r[1]; bl[j + 1][0] = r[2]; bl[j + 1][1] = r[3];
        }
    } else {
#pragma unroll
        for (int j = 0; j < NT; j++) {
            int col = j * 8 + g;
            float w0 = ws[col][kk + q], w1 = ws[col][kk + q + 4];
            bh[j][0] = tf32_head(w0);
            bh[j][1] = tf32_head(w1);
            bl[j][0] = PASSES == 3 ? tf32_tail(w0, bh[j][0]) : 0u;
            bl[j][1] = PASSES == 3 ? tf32_tail(w1, bh[j][1]) : 0u;
        }
    }
    // pass by pass over all (i, j), so that consecutive mma go to different accumulators (measured: no
    // slower than (i, j) order); per accumulator the small products come first, as they would be lost after
    // the large one.
    if (PASSES == 3) {
#pragma unroll
        for (int j = 0; j < NT; j++)
#pragma unroll
            for (int i = 0; i < WMT; i++) mma_tf32(acc[i][j], al[i], bh[j][0], bh[j][1]);
#pragma unroll
        for (int j = 0; j < NT; j++)
#pragma unroll
            for (int i = 0; i < WMT; i++) mma_tf32(acc[i][j], ah[i], bl[j][0], bl[j][1]);
    }
#pragma unroll
    for (int j = 0; j < NT; j++)
#pragma unroll
        for (int i = 0; i < WMT; i++) mma_tf32(acc[i][j], ah[i], bh[j][0], bh[j][1]);
}
__device__ __forceinline__ void cp_async4(float* dst, const float* src, bool valid) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" :: "r"(smem_u32(dst)), "l"(src), "r"(valid ? 4 : 0));
}

// The streaming tensor-core GEMM the forward uses: persistent blocks, each owning one BN-output column
// block and every gridDim.x-th tile of BM = 32 * NW tokens (each warp 32 tokens x all BN outputs, so a
// warp splits each A value once and 8 warps share a W tile), run one flat loop over (tile, k-tile) through
// STAGES shared-memory stages filled by cp.async (16-byte copies when rows are 16-byte aligned, else 4-byte
// ones; past the end zero-filled), so the loads of the next k-tiles, and of the next tile, are in flight
// while this one is multiplied, with one barrier per k-tile. (Measured on H200, docs/benchmarks.md, fourth
// session: 15-25% faster than the one-shot kernel it replaced, which waited on a global round trip per
// k-tile; 4 x 2 warps of 32 x 32 were slower than 8 x 1 of 32 x 64, and splitting W once per k-tile in
// shared memory instead of in every warp gained nothing.)
// The grid is sized to the blocks that fit at once, so the blocks of all column blocks work on nearby
// tiles and X is read from DRAM about once. NORM fuses the layer's RMSNorm: W holds in_proj·diag(norm
// weight), the lanes sum the squares of the A values they load anyway, and the epilogue scales each row
// by 1/rms (only when the reduction spans the whole row: in_proj, K = D).
// The integer work around the mma is kept small (a source-level profile found half the warp-stall samples on
// compares, adds, branches and parameter loads): each thread copies the same 16-byte column of rows pm,
// pm + RSTEP, ... of a k-tile, the (tile, k-tile) cursors advance by increments instead of divisions, and a
// full k-tile of an in-range tile on aligned rows is copied, and a full tile stored, without per-element
// checks (fifth session, H200: in_proj 0.72 vs 1.07 ms per 1M tokens at hidden 64).
__device__ __forceinline__ void cp_async16(float* dst, const float* src, int bytes) {
    cp_async16_to(smem_u32(dst), src, bytes);
}
// floats k..k+3 of a row of length len into shared memory, zero past len (or all, for a row out of range)
__device__ __forceinline__ void stage4(float* dst, const float* row, const float* base, int k, int len, bool valid,
                                       bool vec) {
    if (vec) {
        int bytes = valid ? max(0, min(16, 4 * (len - k))) : 0;
        cp_async16(dst, bytes > 0 ? row + k : base, bytes);
    } else {
#pragma unroll
        for (int j = 0; j < 4; j++) {
            bool ok = valid && k + j < len;
            cp_async4(dst + j, ok ? row + k + j : base, ok);
        }
    }
}
// RMSOUT: the epilogue is mode 3's (gemm_tc_store_rms), whatever mode says: its own kernels, so that the others
// keep their registers.
template <int BN, int PASSES, int STAGES, bool NORM, int NW = 8, int KB = 16, bool WSPLIT = false, bool RMSOUT = false>
__device__ __forceinline__ void gemm_tcs_impl(const float* __restrict__ X, int ldx, int tokens, int in,
                                              const float* __restrict__ W, int out, const float* __restrict__ bias,
                                              float* __restrict__ Y, int ldy, int mode, float eps,
                                              const float* __restrict__ normW, float* __restrict__ Y2) {
    // NW warps, all along tokens, 32 tokens x BN outputs each; k-tiles of KB through rows padded to KB + 4
    // floats (fragment loads conflict-free: lane (g, q) reads bank (g * (KB + 4) + q) mod 32, all distinct)
    constexpr int WMT = 2, NT = BN / 8, BM = NW * 32, LD = KB + 4, THREADS = NW * WARP;
    // WSPLIT: W is [2][out][in], the TF32 heads then the tails, each staged like W
    constexpr int WPARTS = WSPLIT ? 2 : 1;
    extern __shared__ __align__(16) float smem[];
    float (*xs)[LD] = reinterpret_cast<float (*)[LD]>(smem);                     // [STAGES * BM][LD]
    float (*ws)[LD] = reinterpret_cast<float (*)[LD]>(smem + STAGES * BM * LD);  // [WPARTS][STAGES * BN][LD]
    int tid = threadIdx.x, lane = tid % WARP, wm = tid / WARP;
    int g = lane >> 2, q = lane & 3;
    int o0 = blockIdx.y * BN;
    bool vec = ldx % 4 == 0 && in % 4 == 0 && ((reinterpret_cast<unsigned long long>(X) & 15) == 0)
               && ((reinterpret_cast<unsigned long long>(W) & 15) == 0);
    int tilesM = (tokens + BM - 1) / BM, kTiles = (in + KB - 1) / KB;
    int myTiles = (int)blockIdx.x < tilesM ? (tilesM - 1 - (int)blockIdx.x) / (int)gridDim.x + 1 : 0;
    int total = myTiles * kTiles;
    // k-tile k0 of the token tile at t0 into stage s, every copy checked (rows past the end, partial k-tiles)
    auto load_checked = [&](int s, long long t0, int k0) {
        for (int p = tid; p < BM * (KB / 4); p += THREADS) {      // KB/4 lanes per row, contiguous bytes
            int m = p / (KB / 4), c = (p % (KB / 4)) * 4;
            long long t = t0 + m;
            bool ok = t < tokens;
            stage4(&xs[s * BM + m][c], X + (ok ? t : 0) * ldx, X, k0 + c, in, ok, vec);
        }
        for (int p = tid; p < BN * (KB / 4); p += THREADS) {
            int n = p / (KB / 4), c = (p % (KB / 4)) * 4, o = o0 + n;
            bool ok = o < out;
#pragma unroll
            for (int part = 0; part < WPARTS; part++)
                stage4(&ws[part * STAGES * BN + s * BN + n][c], W + (long long)part * out * in + (long long)(ok ? o : 0) * in,
                       W, k0 + c, in, ok, vec);
        }
    };
    constexpr int PPR = KB / 4, RSTEP = THREADS / PPR;  // 16-byte pieces per k-tile row; rows per pass
    const int pc = (tid % PPR) * 4, pm = tid / PPR;
    const bool wFull = o0 + BN <= out;
    int ldIt = 0, ldTile = 0, ldK = 0;                   // the next k-tile to load (its stage, tile, k-tile)
    auto load = [&]() {
        if (ldIt < total) {
            int s = ldIt % STAGES;
            long long t0 = (long long)(blockIdx.x + ldTile * gridDim.x) * BM;
            int k0 = ldK * KB;
            if (vec && wFull && t0 + BM <= tokens && k0 + KB <= in) {
                const float* xp = X + (t0 + pm) * ldx + k0 + pc;
#pragma unroll
                for (int i = 0; i < BM / RSTEP; i++)
                    cp_async16(&xs[s * BM + pm + i * RSTEP][pc], xp + (long long)i * RSTEP * ldx, 16);
                const float* wp = W + (long long)(o0 + pm) * in + k0 + pc;
#pragma unroll
                for (int part = 0; part < WPARTS; part++)
#pragma unroll
                    for (int i = 0; i < (BN + RSTEP - 1) / RSTEP; i++)
                        if (pm + i * RSTEP < BN)
                            cp_async16(&ws[part * STAGES * BN + s * BN + pm + i * RSTEP][pc],
                                       wp + (long long)part * out * in + (long long)i * RSTEP * in, 16);
            } else {
                load_checked(s, t0, k0);
            }
            next_k_tile(ldK, ldTile, ldIt, kTiles);
        }
        cp_async_commit();
    };
    int cTile = 0, cK = 0;                               // the k-tile being multiplied
    float acc[WMT][NT][4], ss[WMT][2];
    auto clear = [&]() {
#pragma unroll
        for (int i = 0; i < WMT; i++) {
            ss[i][0] = ss[i][1] = 0.0f;
#pragma unroll
            for (int j = 0; j < NT; j++)
#pragma unroll
                for (int v = 0; v < 4; v++) acc[i][j][v] = 0.0f;
        }
    };
    clear();
#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) load();
    for (int it = 0; it < total; it++) {
        cp_async_wait<STAGES - 2>();  // this k-tile's group has landed
        __syncthreads();    // ... for every thread; and every thread is done with the stage the next load refills
        load();
        int s = it % STAGES;
#pragma unroll
        for (int kk = 0; kk < KB; kk += 8)
            mma_k8<BN, PASSES, LD, NORM, WSPLIT>(acc, xs + s * BM, ws + s * BN, ws + (STAGES + s) * BN, kk, wm, g, q,
                                                      lane, ss);
        if (cK == kTiles - 1) {
            long long t0 = (long long)(blockIdx.x + cTile * gridDim.x) * BM;
            if (NORM) {  // a row's squares are spread over its 4 lanes q
#pragma unroll
                for (int i = 0; i < WMT; i++)
#pragma unroll
                    for (int h = 0; h < 2; h++) {
                        float v = ss[i][h];
                        v += __shfl_xor_sync(0xffffffffu, v, 1);
                        v += __shfl_xor_sync(0xffffffffu, v, 2);
                        ss[i][h] = rsqrtf(v / in + eps);
                    }
            }
            if constexpr (RMSOUT)
                gemm_tc_store_rms<NT>(acc, t0, wm, g, q, tokens, out, bias, Y, ldy, normW, Y2, eps);
            else if (wFull && t0 + BM <= tokens && ldy % 2 == 0 && (reinterpret_cast<unsigned long long>(Y) & 7) == 0)
                gemm_tc_store<NT, NORM, true>(acc, t0, o0, wm, g, q, tokens, out, bias, Y, ldy, mode, ss);
            else
                gemm_tc_store<NT, NORM>(acc, t0, o0, wm, g, q, tokens, out, bias, Y, ldy, mode, ss);
            clear();
        }
        if (++cK == kTiles) {
            cK = 0;
            cTile++;
        }
    }
    cp_async_wait<0>();
}
// eps: the fused norms' epsilon; normW, Y2: the _rms kernels' norm weight and output (null for the others)
#define GEMM_S_ARGS GEMM_ARGS, float eps, const float* __restrict__ normW, float* __restrict__ Y2
#define GEMM_S_PASS GEMM_PASS, eps, normW, Y2
// Dynamic shared memory: STAGES * (BM + BN) rows of KB + 4 floats, 2 * BN for the W heads and tails of 3xTF32
// (GpuKernels.streamingShape). Shipped: 8 warps (BM 256), k-tiles of 32 in 2 stages (faster than 16 in 3 by
// 5-10%, H200); 64-output tiles, and 48-output tiles for x_proj's r + 2N <= 48 outputs. (128-output tiles need
// 180+ registers: one block per SM, slower on H200 in the third session.)
extern "C" __global__ void __launch_bounds__(256, 2) gemm_tf32x3_s64(GEMM_S_ARGS) { gemm_tcs_impl<64, 3, 2, false, 8, 32, true>(GEMM_S_PASS); }
extern "C" __global__ void __launch_bounds__(256, 2) gemm_tf32x3_norm_s64(GEMM_S_ARGS) { gemm_tcs_impl<64, 3, 2, true, 8, 32, true>(GEMM_S_PASS); }
extern "C" __global__ void __launch_bounds__(256, 2) gemm_tf32x3_s48(GEMM_S_ARGS) { gemm_tcs_impl<48, 3, 2, false, 8, 32, true>(GEMM_S_PASS); }
extern "C" __global__ void __launch_bounds__(256, 2) gemm_tf32_s64(GEMM_S_ARGS) { gemm_tcs_impl<64, 1, 2, false, 8, 32>(GEMM_S_PASS); }
extern "C" __global__ void __launch_bounds__(256, 2) gemm_tf32_norm_s64(GEMM_S_ARGS) { gemm_tcs_impl<64, 1, 2, true, 8, 32>(GEMM_S_PASS); }
extern "C" __global__ void __launch_bounds__(256, 2) gemm_tf32_s48(GEMM_S_ARGS) { gemm_tcs_impl<48, 1, 2, false, 8, 32>(GEMM_S_PASS); }
// the last layer's out_proj with the final RMSNorm (mode 3), for hidden sizes up to 64 (one output tile)
extern "C" __global__ void __launch_bounds__(256, 2) gemm_tf32x3_rms_s64(GEMM_S_ARGS) { gemm_tcs_impl<64, 3, 2, false, 8, 32, true, true>(GEMM_S_PASS); }
extern "C" __global__ void __launch_bounds__(256, 2) gemm_tf32_rms_s64(GEMM_S_ARGS) { gemm_tcs_impl<64, 1, 2, false, 8, 32, false, true>(GEMM_S_PASS); }

// ---- Hopper's warpgroup MMA (wgmma) for the 3xTF32 projections: sm_90a only (the shipped sm_90a cubin; the PTX,
// for other GPUs, leaves these out and GpuKernels takes the mma.sync kernels above).
// Same product, epilogues and argument list as gemm_tcs_impl (3xTF32, W split on upload), other tiling: a block is two
// warpgroups (256 threads) over 128 tokens x BN outputs, each warpgroup 64 token rows (warp w of the block: rows
// 16w..16w+15, the mma.sync accumulator layout per n8 tile, so gemm_tc_store serves with WMT = 1).
// Per k8 step three wgmma m64nBNk8 (tail·head, head·tail, head·head, the mma.sync kernel's order: equal bit for bit on
// full tiles, within 1e-8 relative L2 in the forward tests).
//   - A (activations) comes from shared memory into registers, split into TF32 head and tail there; a register set
//     must not change while a wgmma that reads it is in flight, so two sets alternate by k8 step, and each step's three
//     wgmma are one commit group with one group left in flight (wgmma.wait_group 1) while the next step is split.
//   - W's heads and tails are read by wgmma from shared memory through descriptors, staged in the 128-byte swizzle
//     layout: a k-tile of 32 floats is one 128-byte row per output, 8 rows an atom of 1,024 bytes, 16-byte chunk c
//     of row n at c ^ (n % 8) (no bank conflicts for the copies or the tensor cores' reads).
//   - 3 stages, a stage refilled two k-tiles after its last use (prefetch distance 1), once every warpgroup has
//     waited for the wgmma that read it; cp.async writes reach wgmma (the async proxy) after fence.proxy.async.
//   - A tile's first product overwrites the accumulators (scale-d 0).
// Measured on H200 (docs/benchmarks.md, eighth session), against gemm_tf32x3_s64 on the same buffers: 1.27-1.28x at
// hidden 256's in_proj and out_proj, 1.12-1.13x at hidden 64's (its check-free prototype: 1.35-1.39x and 1.29-1.34x);
// prototypes without the swizzle (core matrices 128 bytes apart) 0.65-0.89x; 128 x 128 and 256 x 128 blocks 1-10%
// faster than the 128 x 64 prototype, the latter spilling.
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define WG_BM 128
#define WG_KB 32
#define WG_LDA (WG_KB + 4)
#define WG_STAGES 3
template <int N>
__device__ __forceinline__ void wgmma_tf32(float (&d)[1][N / 8][4], const unsigned (&a)[4], unsigned long long descB,
                                           int scaleD);
template <>
__device__ __forceinline__ void wgmma_tf32<64>(float (&d)[1][8][4], const unsigned (&a)[4], unsigned long long descB, int scaleD) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, p, 1, 1;\n}"
                 : "+f"(d[0][0][0]), "+f"(d[0][0][1]), "+f"(d[0][0][2]), "+f"(d[0][0][3]), "+f"(d[0][1][0]), "+f"(d[0][1][1]), "+f"(d[0][1][2]), "+f"(d[0][1][3]), "+f"(d[0][2][0]), "+f"(d[0][2][1]), "+f"(d[0][2][2]), "+f"(d[0][2][3]), "+f"(d[0][3][0]), "+f"(d[0][3][1]), "+f"(d[0][3][2]), "+f"(d[0][3][3]), "+f"(d[0][4][0]), "+f"(d[0][4][1]), "+f"(d[0][4][2]), "+f"(d[0][4][3]), "+f"(d[0][5][0]), "+f"(d[0][5][1]), "+f"(d[0][5][2]), "+f"(d[0][5][3]), "+f"(d[0][6][0]), "+f"(d[0][6][1]), "+f"(d[0][6][2]), "+f"(d[0][6][3]), "+f"(d[0][7][0]), "+f"(d[0][7][1]), "+f"(d[0][7][2]), "+f"(d[0][7][3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB), "r"(scaleD));
}
template <>
__device__ __forceinline__ void wgmma_tf32<48>(float (&d)[1][6][4], const unsigned (&a)[4], unsigned long long descB, int scaleD) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %29, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n48k8.f32.tf32.tf32 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23}, {%24, %25, %26, %27}, %28, p, 1, 1;\n}"
                 : "+f"(d[0][0][0]), "+f"(d[0][0][1]), "+f"(d[0][0][2]), "+f"(d[0][0][3]), "+f"(d[0][1][0]), "+f"(d[0][1][1]), "+f"(d[0][1][2]), "+f"(d[0][1][3]), "+f"(d[0][2][0]), "+f"(d[0][2][1]), "+f"(d[0][2][2]), "+f"(d[0][2][3]), "+f"(d[0][3][0]), "+f"(d[0][3][1]), "+f"(d[0][3][2]), "+f"(d[0][3][3]), "+f"(d[0][4][0]), "+f"(d[0][4][1]), "+f"(d[0][4][2]), "+f"(d[0][4][3]), "+f"(d[0][5][0]), "+f"(d[0][5][1]), "+f"(d[0][5][2]), "+f"(d[0][5][3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB), "r"(scaleD));
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(N) : "memory"); }
// a shared-memory matrix descriptor in the 128-byte swizzle mode: start address, the stride between 8-row atoms
// (1,024 bytes); the leading offset is unused for K-major swizzled layouts
__device__ __forceinline__ unsigned long long wg_desc_sw128(unsigned addr) {
    return (unsigned long long)((addr & 0x3FFFF) >> 4) | (1ull << 16) | ((unsigned long long)(1024 >> 4) << 32)
           | (1ull << 62);
}
template <int BN, bool NORM>
__device__ __forceinline__ void gemm_wg_impl(const float* __restrict__ X, int ldx, int tokens, int in,
                                             const float* __restrict__ W, int out, const float* __restrict__ bias,
                                             float* __restrict__ Y, int ldy, int mode, float eps) {
    constexpr int NT = BN / 8, A_FLOATS = WG_BM * WG_LDA, B_FLOATS = BN * WG_KB;
    constexpr int STAGE_FLOATS = A_FLOATS + 2 * B_FLOATS;   // a multiple of 256 floats: atoms stay 1,024-aligned
    // the swizzle atoms need 1,024-byte aligned shared addresses: the launch adds 1,024 bytes to align the base up
    extern __shared__ __align__(16) float smem_raw[];
    float* smem = smem_raw + ((1024 - (smem_u32(smem_raw) & 1023)) & 1023) / 4;
    int tid = threadIdx.x, lane = tid % WARP, warp = tid / WARP;
    int g = lane >> 2, q = lane & 3;
    int o0 = blockIdx.y * BN;
    bool vec = ldx % 4 == 0 && in % 4 == 0 && ((reinterpret_cast<unsigned long long>(X) & 15) == 0)
               && ((reinterpret_cast<unsigned long long>(W) & 15) == 0);
    int tilesM = (tokens + WG_BM - 1) / WG_BM, kTiles = (in + WG_KB - 1) / WG_KB;
    int myTiles = (int)blockIdx.x < tilesM ? (tilesM - 1 - (int)blockIdx.x) / (int)gridDim.x + 1 : 0;
    int total = myTiles * kTiles;
    const bool wFull = o0 + BN <= out;
    // each thread copies 16-byte chunk c4 of rows r0, r0 + 32, ...: 8 threads a row's 128 bytes. In B the chunk lands
    // at c4 ^ (row % 8), the same for all of a thread's rows (32 apart)
    const int c4 = tid % 8, r0 = tid / 8;
    const int aDst = r0 * WG_LDA + c4 * 4, bDst = r0 * WG_KB + ((c4 ^ (r0 % 8)) * 4);
    const long long wPart = (long long)out * in;
    int ldIt = 0, ldTile = 0, ldK = 0;
    auto load = [&]() {
        if (ldIt < total) {
            float* st = smem + (ldIt % WG_STAGES) * STAGE_FLOATS;
            long long t0 = (long long)(blockIdx.x + ldTile * gridDim.x) * WG_BM;
            int k0 = ldK * WG_KB;
            if (vec && wFull && t0 + WG_BM <= tokens && k0 + WG_KB <= in) {   // a full k-tile: no checks
                const float* xa = X + (t0 + r0) * ldx + k0 + c4 * 4;
#pragma unroll
                for (int i = 0; i < WG_BM / 32; i++) cp_async16(st + aDst + i * 32 * WG_LDA, xa + i * 32LL * ldx, 16);
                const float* wb = W + (long long)(o0 + r0) * in + k0 + c4 * 4;
#pragma unroll
                for (int part = 0; part < 2; part++)
#pragma unroll
                    for (int i = 0; i < (BN + 31) / 32; i++)
                        if (r0 + 32 * i < BN)
                            cp_async16(st + A_FLOATS + part * B_FLOATS + bDst + i * 32 * WG_KB,
                                       wb + part * wPart + i * 32LL * in, 16);
            } else {
#pragma unroll
                for (int i = 0; i < WG_BM / 32; i++) {
                    long long t = t0 + r0 + 32 * i;
                    bool ok = t < tokens;
                    stage4(st + aDst + i * 32 * WG_LDA, X + (ok ? t : 0) * ldx, X, k0 + c4 * 4, in, ok, vec);
                }
#pragma unroll
                for (int part = 0; part < 2; part++)
#pragma unroll
                    for (int i = 0; i < (BN + 31) / 32; i++) {
                        int n = r0 + 32 * i, o = o0 + n;
                        if (n >= BN) continue;
                        bool ok = o < out;
                        stage4(st + A_FLOATS + part * B_FLOATS + bDst + i * 32 * WG_KB, W + part * wPart + (long long)(ok ? o : 0) * in,
                               W, k0 + c4 * 4, in, ok, vec);
                    }
            }
            next_k_tile(ldK, ldTile, ldIt, kTiles);
        }
        cp_async_commit();
    };
    float acc[1][NT][4], ss[1][2] = {{0.0f, 0.0f}};
    zero_acc(acc);
    unsigned ah[2][4], al[2][4];
    load();
    int it = 0;
    for (int tile = 0; tile < myTiles; tile++) {
        for (int kt = 0; kt < kTiles; kt++, it++) {
            cp_async_wait<0>();   // this k-tile has landed (the only group in flight)
            asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
            __syncthreads();      // ... for every thread, and all wgmma reading the stage refilled next are done
            load();
            const float* st = smem + (it % WG_STAGES) * STAGE_FLOATS;
            const float* As = st + warp * 16 * WG_LDA;
            unsigned bh = smem_u32(st + A_FLOATS), bt = smem_u32(st + A_FLOATS + B_FLOATS);
#pragma unroll
            for (int s = 0; s < WG_KB / 8; s++) {
                const int set = s % 2;   // constant after unrolling; WG_KB / 8 is even, so the sets alternate
                float v[4] = {As[g * WG_LDA + 8 * s + q], As[(g + 8) * WG_LDA + 8 * s + q],
                              As[g * WG_LDA + 8 * s + q + 4], As[(g + 8) * WG_LDA + 8 * s + q + 4]};
                if (NORM) {
                    ss[0][0] = fmaf(v[0], v[0], fmaf(v[2], v[2], ss[0][0]));
                    ss[0][1] = fmaf(v[1], v[1], fmaf(v[3], v[3], ss[0][1]));
                }
#pragma unroll
                for (int x = 0; x < 4; x++) {
                    ah[set][x] = tf32_head(v[x]);
                    al[set][x] = tf32_tail(v[x], ah[set][x]);
                }
                wgmma_fence();
                // k8 step s: 32 bytes into each 128-byte row
                wgmma_tf32<BN>(acc, al[set], wg_desc_sw128(bh + 32 * s), kt == 0 && s == 0 ? 0 : 1);
                wgmma_tf32<BN>(acc, ah[set], wg_desc_sw128(bt + 32 * s), 1);
                wgmma_tf32<BN>(acc, ah[set], wg_desc_sw128(bh + 32 * s), 1);
                wgmma_commit();
                wgmma_wait<1>();
            }
        }
        wgmma_wait<0>();
#pragma unroll
        for (int j = 0; j < NT; j++)   // the accumulators are read only after the wait
#pragma unroll
            for (int v = 0; v < 4; v++) asm volatile("" : "+f"(acc[0][j][v])::"memory");
        long long t0 = (long long)(blockIdx.x + tile * gridDim.x) * WG_BM;
        if (NORM) {   // a row's squares are spread over its 4 lanes q
#pragma unroll
            for (int h = 0; h < 2; h++) {
                float v = ss[0][h];
                v += __shfl_xor_sync(0xffffffffu, v, 1);
                v += __shfl_xor_sync(0xffffffffu, v, 2);
                ss[0][h] = rsqrtf(v / in + eps);
            }
        }
        if (wFull && t0 + WG_BM <= tokens && ldy % 2 == 0 && (reinterpret_cast<unsigned long long>(Y) & 7) == 0)
            gemm_tc_store<NT, NORM, true, 1>(acc, t0, o0, warp, g, q, tokens, out, bias, Y, ldy, mode, ss);
        else
            gemm_tc_store<NT, NORM, false, 1>(acc, t0, o0, warp, g, q, tokens, out, bias, Y, ldy, mode, ss);
        ss[0][0] = ss[0][1] = 0.0f;
    }
    cp_async_wait<0>();
}
#define GEMM_WG(name, BN, NORM)                                                                              \
    extern "C" __global__ void __launch_bounds__(256, 2) name(GEMM_S_ARGS) {                               \
        gemm_wg_impl<BN, NORM>(X, ldx, tokens, in, W, out, bias, Y, ldy, mode, eps);                       \
    }
GEMM_WG(gemm_wg_tf32x3_s64, 64, false)
GEMM_WG(gemm_wg_tf32x3_norm_s64, 64, true)
GEMM_WG(gemm_wg_tf32x3_s48, 48, false)

// ---- 3xFP16 ("half-split") projections on wgmma, sm_90a only: in_proj (norm fused) and out_proj where out >= 128
// (GpuKernels.usesHalfSplit). FP16 has TF32's 11 significant bits and its wgmma (m64nNk16) twice TF32's multiply-adds
// an instruction; only its range is narrow (normal from 2^-14, at most 65504). So every row of A is scaled by a power
// of two sa = 2^(14 - e) (e: the exponent of its largest magnitude; row_scales below) and every row of W likewise on
// upload (DeviceWeights, HalfSplit), before head = rn(v) and tail = rn(v - head) are taken: each row's largest value
// lies in [2^14, 2^15), the split's errors are relative to it as in 3xTF32 (measured: the same or smaller error
// against float64), and the epilogue undoes both scalings by exact powers of two (one factor, so no intermediate
// under- or overflows). W comes [2][out][inP] halves (heads, then tails; inP = in rounded up to 64, zero-padded), then
// out floats 2^-c; within every 16 k its values are permuted so that a thread's A fragment of a k16 step (k 2q, 2q + 1,
// 2q + 8, 2q + 9) is 4 adjacent floats: position 2q + j holds k 4q + j, 2q + 8 + j holds 4q + 2 + j.
// Tiling: 128 tokens x 128 outputs, two warpgroups; k-tiles of 64 (A: 64 floats a row, padded to 80 so that a lane's
// 16-byte loads of rows g and g + 8 are conflict-free; W: 128-byte rows in the 128-byte swizzle), 3 stages, one block
// an SM (217 KB); otherwise the pipeline of gemm_wg_impl: two A register sets, each k16 step's three wgmma one commit
// group with one left in flight. Measured on H200 (docs/benchmarks.md, ninth session): the prototype
// gemm_wgh_n128_s3_k64 1.79x gemm_wg_tf32x3_s64 at hidden 256's in_proj, 1.88x at its out_proj; in the layer (call 4,
// with their row_scales passes) in_proj 1.03 vs 1.76 ms, out_proj 0.64 vs 0.94, the layer 3.29 vs 4.31. Slower in the
// prototype: 128 x 64 tiles, 32-deep k-tiles, prefetch distance 2-3, three warpgroups.
// rs: per token {sa, the row's output factor}: 1 / sa, or 1 / (sa rms) with the norm fused.
#define WGH_BM 128
#define WGH_BN 128
#define WGH_KB 64
#define WGH_LDA (WGH_KB + 16)
#define WGH_STAGES 3
__device__ __forceinline__ unsigned pack_f16x2(float lo, float hi) {
    unsigned r;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}
// a and b as f16x2 heads and tails: head = rn(v), tail = rn(v - head)
__device__ __forceinline__ void split_f16x2(float a, float b, unsigned& head, unsigned& tail) {
    head = pack_f16x2(a, b);
    float ha, hb;
    asm("{.reg .b16 l, h;\nmov.b32 {l, h}, %2;\ncvt.f32.f16 %0, l;\ncvt.f32.f16 %1, h;}" : "=f"(ha), "=f"(hb) : "r"(head));
    tail = pack_f16x2(a - ha, b - hb);
}
__device__ __forceinline__ void wgmma_f16_n128(float (&d)[1][16][4], const unsigned (&a)[4], unsigned long long descB, int scaleD) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, p, 1, 1, 0;\n}"
                 : "+f"(d[0][0][0]), "+f"(d[0][0][1]), "+f"(d[0][0][2]), "+f"(d[0][0][3]), "+f"(d[0][1][0]), "+f"(d[0][1][1]), "+f"(d[0][1][2]), "+f"(d[0][1][3]), "+f"(d[0][2][0]), "+f"(d[0][2][1]), "+f"(d[0][2][2]), "+f"(d[0][2][3]), "+f"(d[0][3][0]), "+f"(d[0][3][1]), "+f"(d[0][3][2]), "+f"(d[0][3][3]), "+f"(d[0][4][0]), "+f"(d[0][4][1]), "+f"(d[0][4][2]), "+f"(d[0][4][3]), "+f"(d[0][5][0]), "+f"(d[0][5][1]), "+f"(d[0][5][2]), "+f"(d[0][5][3]), "+f"(d[0][6][0]), "+f"(d[0][6][1]), "+f"(d[0][6][2]), "+f"(d[0][6][3]), "+f"(d[0][7][0]), "+f"(d[0][7][1]), "+f"(d[0][7][2]), "+f"(d[0][7][3]),
                   "+f"(d[0][8][0]), "+f"(d[0][8][1]), "+f"(d[0][8][2]), "+f"(d[0][8][3]), "+f"(d[0][9][0]), "+f"(d[0][9][1]), "+f"(d[0][9][2]), "+f"(d[0][9][3]), "+f"(d[0][10][0]), "+f"(d[0][10][1]), "+f"(d[0][10][2]), "+f"(d[0][10][3]), "+f"(d[0][11][0]), "+f"(d[0][11][1]), "+f"(d[0][11][2]), "+f"(d[0][11][3]), "+f"(d[0][12][0]), "+f"(d[0][12][1]), "+f"(d[0][12][2]), "+f"(d[0][12][3]), "+f"(d[0][13][0]), "+f"(d[0][13][1]), "+f"(d[0][13][2]), "+f"(d[0][13][3]), "+f"(d[0][14][0]), "+f"(d[0][14][1]), "+f"(d[0][14][2]), "+f"(d[0][14][3]), "+f"(d[0][15][0]), "+f"(d[0][15][1]), "+f"(d[0][15][2]), "+f"(d[0][15][3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB), "r"(scaleD));
}
// The 3xFP16 GEMMs' accumulators, read only after the wait, each scaled by one factor: its output's column scale
// (0 past out when CHECKED) times its row's factor (f0 for rows g, f1 for rows g + 8)
template <int NT, bool CHECKED>
__device__ __forceinline__ void scale_half_tile(float (&acc)[1][NT][4], const float* __restrict__ cs, int o0, int q,
                                                int out, float f0, float f1) {
#pragma unroll
    for (int j = 0; j < NT; j++)
#pragma unroll
        for (int v = 0; v < 4; v++) {
            int o = o0 + j * 8 + 2 * q + (v & 1);
            asm volatile("" : "+f"(acc[0][j][v])::"memory");
            acc[0][j][v] *= (!CHECKED || o < out ? cs[o] : 0.0f) * (v < 2 ? f0 : f1);
        }
}
// CHECKED false: every tile full (tokens a multiple of 128, out of 128, in of 64; rows 16-byte aligned, Y's 8-byte):
// no checks at all, for GpuKernels to launch over a projection's full tiles (the remainder on the checked kernel)
template <bool CHECKED>
__device__ __forceinline__ void gemm_wgh_impl(const float* __restrict__ X, int ldx, int tokens, int in,
                                              const unsigned short* __restrict__ W, int out, const float* __restrict__ bias,
                                              float* __restrict__ Y, int ldy, int mode, const float2* __restrict__ rs) {
    constexpr int BN = WGH_BN, NT = BN / 8, LDA = WGH_LDA;
    constexpr int A_FLOATS = WGH_BM * LDA, B_FLOATS = BN * WGH_KB / 2, STAGE_FLOATS = A_FLOATS + 2 * B_FLOATS;
    static_assert(STAGE_FLOATS % 256 == 0, "stages keep the swizzle atoms 1,024-byte aligned");
    extern __shared__ __align__(16) float smem_raw[];
    float* smem = smem_raw + ((1024 - (smem_u32(smem_raw) & 1023)) & 1023) / 4;
    int tid = threadIdx.x, lane = tid % WARP, warp = tid / WARP;
    int g = lane >> 2, q = lane & 3;
    int o0 = blockIdx.y * BN;
    const int inP = (in + WGH_KB - 1) / WGH_KB * WGH_KB;
    const float* cs = reinterpret_cast<const float*>(W + 2LL * out * inP);
    bool vec = !CHECKED || (ldx % 4 == 0 && in % 4 == 0 && ((reinterpret_cast<unsigned long long>(X) & 15) == 0));
    int tilesM = (tokens + WGH_BM - 1) / WGH_BM, kTiles = inP / WGH_KB;
    int myTiles = (int)blockIdx.x < tilesM ? (tilesM - 1 - (int)blockIdx.x) / (int)gridDim.x + 1 : 0;
    int total = myTiles * kTiles;
    const bool wFull = !CHECKED || o0 + BN <= out;
    // A: 16 threads a row's 256 bytes, rows r0, r0 + 16, ...; W: 8 threads a row's 128 bytes, chunk c8 landing at
    // c8 ^ (row % 8), rows r8, r8 + 32, ... (the same swizzle for all of a thread's rows)
    const int c16 = tid % 16, r0 = tid / 16, c8 = tid % 8, r8 = tid / 8;
    const int aDst = r0 * LDA + c16 * 4, bDst = r8 * 64 + ((c8 ^ (r8 % 8)) * 8);
    const long long wPart = (long long)out * inP;
    int ldIt = 0, ldTile = 0, ldK = 0;
    auto load = [&]() {
        if (ldIt < total) {
            float* st = smem + (ldIt % WGH_STAGES) * STAGE_FLOATS;
            unsigned short* sb = reinterpret_cast<unsigned short*>(st + A_FLOATS);
            long long t0 = (long long)(blockIdx.x + ldTile * gridDim.x) * WGH_BM;
            int k0 = ldK * WGH_KB;
            if (!CHECKED || (vec && t0 + WGH_BM <= tokens && k0 + WGH_KB <= in)) {   // a full k-tile of A: no checks
                const float* xa = X + (t0 + r0) * ldx + k0 + c16 * 4;
#pragma unroll
                for (int i = 0; i < WGH_BM / 16; i++) cp_async16(st + aDst + i * 16 * LDA, xa + i * 16LL * ldx, 16);
            } else {
#pragma unroll
                for (int i = 0; i < WGH_BM / 16; i++) {
                    long long t = t0 + r0 + 16 * i;
                    bool ok = t < tokens;
                    stage4(st + aDst + i * 16 * LDA, X + (ok ? t : 0) * ldx, X, k0 + c16 * 4, in, ok, vec);
                }
            }
            // W's rows are padded to inP: only outputs past out are checked (zero-filled)
#pragma unroll
            for (int part = 0; part < 2; part++)
#pragma unroll
                for (int i = 0; i < BN / 32; i++) {
                    int o = o0 + r8 + 32 * i;
                    bool ok = wFull || o < out;
                    const unsigned short* src = W + part * wPart + (long long)(ok ? o : 0) * inP + k0 + c8 * 8;
                    cp_async16_to(smem_u32(sb + part * 2 * B_FLOATS + bDst + i * 32 * 64), reinterpret_cast<const float*>(src),
                                  ok ? 16 : 0);
                }
            next_k_tile(ldK, ldTile, ldIt, kTiles);
        }
        cp_async_commit();
    };
    float acc[1][NT][4];
    zero_acc(acc);
    unsigned ah[2][4], al[2][4];
    load();
    int it = 0;
    for (int tile = 0; tile < myTiles; tile++) {
        long long t0 = (long long)(blockIdx.x + tile * gridDim.x) * WGH_BM;
        long long ta = t0 + warp * 16 + g;
        float2 s0 = !CHECKED || ta < tokens ? rs[ta] : make_float2(1.0f, 1.0f);
        float2 s1 = !CHECKED || ta + 8 < tokens ? rs[ta + 8] : make_float2(1.0f, 1.0f);
        for (int kt = 0; kt < kTiles; kt++, it++) {
            cp_async_wait<0>();   // this k-tile has landed (the only group in flight)
            asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
            __syncthreads();      // ... for every thread, and all wgmma reading the stage refilled next are done
            load();
            const float* st = smem + (it % WGH_STAGES) * STAGE_FLOATS;
            const float* As = st + warp * 16 * LDA;
            unsigned bh = smem_u32(st + A_FLOATS), bt = smem_u32(st + A_FLOATS + B_FLOATS);
#pragma unroll
            for (int s = 0; s < WGH_KB / 16; s++) {
                const int set = s % 2;   // constant after unrolling; WGH_KB / 16 is even, so the sets alternate
                float4 u = *reinterpret_cast<const float4*>(As + g * LDA + 16 * s + 4 * q);
                float4 v = *reinterpret_cast<const float4*>(As + (g + 8) * LDA + 16 * s + 4 * q);
                split_f16x2(u.x * s0.x, u.y * s0.x, ah[set][0], al[set][0]);
                split_f16x2(v.x * s1.x, v.y * s1.x, ah[set][1], al[set][1]);
                split_f16x2(u.z * s0.x, u.w * s0.x, ah[set][2], al[set][2]);
                split_f16x2(v.z * s1.x, v.w * s1.x, ah[set][3], al[set][3]);
                wgmma_fence();
                // k16 step s: 32 bytes into each 128-byte row
                wgmma_f16_n128(acc, al[set], wg_desc_sw128(bh + 32 * s), kt == 0 && s == 0 ? 0 : 1);
                wgmma_f16_n128(acc, ah[set], wg_desc_sw128(bt + 32 * s), 1);
                wgmma_f16_n128(acc, ah[set], wg_desc_sw128(bh + 32 * s), 1);
                wgmma_commit();
                wgmma_wait<1>();
            }
        }
        wgmma_wait<0>();
        scale_half_tile<NT, CHECKED>(acc, cs, o0, q, out, s0.y, s1.y);
        if (!CHECKED || (wFull && t0 + WGH_BM <= tokens && ldy % 2 == 0 && (reinterpret_cast<unsigned long long>(Y) & 7) == 0))
            gemm_tc_store<NT, false, true, 1>(acc, t0, o0, warp, g, q, tokens, out, bias, Y, ldy, mode);
        else
            gemm_tc_store<NT, false, false, 1>(acc, t0, o0, warp, g, q, tokens, out, bias, Y, ldy, mode);
    }
    cp_async_wait<0>();
}
#define GEMM_H_ARGS const float* __restrict__ X, int ldx, int tokens, int in, const unsigned short* __restrict__ W, \
    int out, const float* __restrict__ bias, float* __restrict__ Y, int ldy, int mode, const float2* __restrict__ rs
#define GEMM_H_PASS X, ldx, tokens, in, W, out, bias, Y, ldy, mode, rs
extern "C" __global__ void __launch_bounds__(256, 1) gemm_wgh_f16x3_n128(GEMM_H_ARGS) { gemm_wgh_impl<true>(GEMM_H_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) gemm_wgh_f16x3_n128_full(GEMM_H_ARGS) { gemm_wgh_impl<false>(GEMM_H_PASS); }

// The split before the GEMM (in_proj on whole tiles, eleventh session): row_split (below) writes A already scaled
// and split, heads and tails in two planes permuted as W is, so that both operands reach the tensor cores from shared
// memory through descriptors and the loop is copies and wgmma only (the register split above left the tensor pipe 38%
// active, ninth session's Nsight Compute). Measured on H200 in the layer (docs/benchmarks.md, eleventh session, call
// 3, hidden 256, 262,144 tokens): norm + in_proj 0.981 ms, row_split's 0.141 of it, against 1.029 for row_scales and
// gemm_wgh_f16x3_n128; the GEMM gains 12%, and the pass's extra write of A takes most of that back. At out_proj (512
// deep) the prototype's row pass took 0.300 ms against row_scales' 0.135 (call 1), more than its GEMM gained, so
// out_proj keeps the register split.
// A2: [2][tokens][in] halves (heads, tails); W, cs and rs as gemm_wgh_impl. Tiling: 128 x 128, two warpgroups,
// k-tiles of 64 halves; a stage holds A's heads and tails and W's heads and tails, each 128 rows of 128 bytes in the
// 128-byte swizzle (64 KB), 3 stages. Loads go two k-tiles ahead and each k-tile's wgmma group is waited for at its
// end (one group in flight with loads a single k-tile ahead was 3% slower).
// Whole tiles only (GpuKernels checks): tokens % 128 == 0, out % 128 == 0, in % 64 == 0, Y's rows 8-byte aligned.
__device__ __forceinline__ void wgmma_ss_f16_n128(float (&d)[1][16][4], unsigned long long descA, unsigned long long descB,
                                                  int scaleD) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1, 0, 0;\n}"
                 : "+f"(d[0][0][0]), "+f"(d[0][0][1]), "+f"(d[0][0][2]), "+f"(d[0][0][3]), "+f"(d[0][1][0]), "+f"(d[0][1][1]), "+f"(d[0][1][2]), "+f"(d[0][1][3]), "+f"(d[0][2][0]), "+f"(d[0][2][1]), "+f"(d[0][2][2]), "+f"(d[0][2][3]), "+f"(d[0][3][0]), "+f"(d[0][3][1]), "+f"(d[0][3][2]), "+f"(d[0][3][3]), "+f"(d[0][4][0]), "+f"(d[0][4][1]), "+f"(d[0][4][2]), "+f"(d[0][4][3]), "+f"(d[0][5][0]), "+f"(d[0][5][1]), "+f"(d[0][5][2]), "+f"(d[0][5][3]), "+f"(d[0][6][0]), "+f"(d[0][6][1]), "+f"(d[0][6][2]), "+f"(d[0][6][3]), "+f"(d[0][7][0]), "+f"(d[0][7][1]), "+f"(d[0][7][2]), "+f"(d[0][7][3]),
                   "+f"(d[0][8][0]), "+f"(d[0][8][1]), "+f"(d[0][8][2]), "+f"(d[0][8][3]), "+f"(d[0][9][0]), "+f"(d[0][9][1]), "+f"(d[0][9][2]), "+f"(d[0][9][3]), "+f"(d[0][10][0]), "+f"(d[0][10][1]), "+f"(d[0][10][2]), "+f"(d[0][10][3]), "+f"(d[0][11][0]), "+f"(d[0][11][1]), "+f"(d[0][11][2]), "+f"(d[0][11][3]), "+f"(d[0][12][0]), "+f"(d[0][12][1]), "+f"(d[0][12][2]), "+f"(d[0][12][3]), "+f"(d[0][13][0]), "+f"(d[0][13][1]), "+f"(d[0][13][2]), "+f"(d[0][13][3]), "+f"(d[0][14][0]), "+f"(d[0][14][1]), "+f"(d[0][14][2]), "+f"(d[0][14][3]), "+f"(d[0][15][0]), "+f"(d[0][15][1]), "+f"(d[0][15][2]), "+f"(d[0][15][3])
                 : "l"(descA), "l"(descB), "r"(scaleD));
}
#define WHS_STAGES 3
#define WHS_PD 2
#define GEMM_HS_ARGS const unsigned short* __restrict__ A2, int tokens, int in, const unsigned short* __restrict__ W, \
    int out, const float* __restrict__ bias, float* __restrict__ Y, int ldy, int mode, const float2* __restrict__ rs
__device__ __forceinline__ void gemm_whs_impl(GEMM_HS_ARGS) {
    constexpr int BM = WGH_BM, BN = WGH_BN, NT = BN / 8, KB = WGH_KB, TILE = BM * KB / 2;   // floats a 128 x 64-half tile
    constexpr int STAGE_FLOATS = 4 * TILE;
    static_assert(WHS_PD <= WHS_STAGES - 1, "with each k-tile drained, a stage is refilled only once read");
    extern __shared__ __align__(16) float smem_raw[];
    float* smem = smem_raw + ((1024 - (smem_u32(smem_raw) & 1023)) & 1023) / 4;
    int tid = threadIdx.x, lane = tid % WARP, warp = tid / WARP, wg = warp / 4;
    int g = lane >> 2, q = lane & 3;
    int o0 = blockIdx.y * BN;
    int tilesM = tokens / BM, kTiles = in / KB;
    int myTiles = (int)blockIdx.x < tilesM ? (tilesM - 1 - (int)blockIdx.x) / (int)gridDim.x + 1 : 0;
    int total = myTiles * kTiles;
    const long long plane = (long long)tokens * in, wPlane = (long long)out * in;
    const float* cs = reinterpret_cast<const float*>(W + 2 * wPlane);
    // 8 threads a row's 128 bytes, rows r8, r8 + 32, ...: the same swizzled chunk for all of a thread's rows
    const int c8 = tid % 8, r8 = tid / 8, dst = r8 * 64 + ((c8 ^ (r8 % 8)) * 8);   // halves
    int ldIt = 0, ldTile = 0, ldK = 0;
    auto load = [&]() {
        if (ldIt < total) {
            unsigned short* st = reinterpret_cast<unsigned short*>(smem + (ldIt % WHS_STAGES) * STAGE_FLOATS);
            long long t0 = (long long)(blockIdx.x + ldTile * gridDim.x) * BM;
            int k0 = ldK * KB;
#pragma unroll
            for (int part = 0; part < 2; part++)
#pragma unroll
                for (int i = 0; i < BM / 32; i++) {
                    int r = r8 + 32 * i;
                    cp_async16_to(smem_u32(st + part * 2 * TILE + dst + i * 32 * 64),
                                  reinterpret_cast<const float*>(A2 + part * plane + (t0 + r) * in + k0 + c8 * 8), 16);
                    cp_async16_to(smem_u32(st + (2 + part) * 2 * TILE + dst + i * 32 * 64),
                                  reinterpret_cast<const float*>(W + part * wPlane + (long long)(o0 + r) * in + k0 + c8 * 8), 16);
                }
            next_k_tile(ldK, ldTile, ldIt, kTiles);
        }
        cp_async_commit();
    };
    float acc[1][NT][4];
    zero_acc(acc);
#pragma unroll
    for (int i = 0; i < WHS_PD; i++) load();
    int it = 0;
    for (int tile = 0; tile < myTiles; tile++) {
        long long t0 = (long long)(blockIdx.x + tile * gridDim.x) * BM;
        float s0 = rs[t0 + warp * 16 + g].y, s1 = rs[t0 + warp * 16 + g + 8].y;
        for (int kt = 0; kt < kTiles; kt++, it++) {
            cp_async_wait<WHS_PD - 1>();   // this k-tile has landed
            asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
            __syncthreads();               // ... for every thread; the stage refilled next was drained a k-tile ago
            load();
            unsigned st = smem_u32(smem + (it % WHS_STAGES) * STAGE_FLOATS);
            unsigned ah = st + wg * 64 * 128, at = ah + 4 * TILE, bh = st + 8 * TILE, bt = st + 12 * TILE;   // bytes
            wgmma_fence();
#pragma unroll
            for (int s = 0; s < KB / 16; s++) {   // k16 step s: 32 bytes into each 128-byte row
                wgmma_ss_f16_n128(acc, wg_desc_sw128(at + 32 * s), wg_desc_sw128(bh + 32 * s), kt == 0 && s == 0 ? 0 : 1);
                wgmma_ss_f16_n128(acc, wg_desc_sw128(ah + 32 * s), wg_desc_sw128(bt + 32 * s), 1);
                wgmma_ss_f16_n128(acc, wg_desc_sw128(ah + 32 * s), wg_desc_sw128(bh + 32 * s), 1);
            }
            wgmma_commit();
            wgmma_wait<0>();
        }
        scale_half_tile<NT, false>(acc, cs, o0, q, out, s0, s1);
        gemm_tc_store<NT, false, true, 1>(acc, t0, o0, warp, g, q, tokens, out, bias, Y, ldy, mode);
    }
    cp_async_wait<0>();
}
extern "C" __global__ void __launch_bounds__(256, 1) gemm_whs_f16x3_n128(GEMM_HS_ARGS) {
    gemm_whs_impl(A2, tokens, in, W, out, bias, Y, ldy, mode, rs);
}
// A for gemm_whs_f16x3_n128, 16 lanes a row: rs[t] as row_scales (eps >= 0: with the RMSNorm's factor), then the
// row scaled by sa and split (head = rn(v), tail = rn(v - head)), heads into plane 0 and tails into plane 1 of A2
// ([2][tokens][in] halves; in % 64 == 0, X's rows 16-byte aligned), every 16 k permuted as W is (word q holds k 4q,
// 4q + 1 and word q + 4 holds k 4q + 2, 4q + 3), so that W serves as uploaded. A lane takes whole 16-k groups: its 64
// bytes in, two 16-byte words out to each plane; rows of up to 512 stay in registers between the two passes.
#define ROW_SPLIT_HELD 2   // 16-k groups a lane holds in registers
__device__ __forceinline__ void row_split_group(const float4 (&v)[4], float sa, uint4* heads, uint4* tails, int gi) {
    unsigned h[8], tl[8];
#pragma unroll
    for (int j = 0; j < 4; j++) {
        split_f16x2(v[j].x * sa, v[j].y * sa, h[j], tl[j]);
        split_f16x2(v[j].z * sa, v[j].w * sa, h[j + 4], tl[j + 4]);
    }
    heads[2 * gi] = make_uint4(h[0], h[1], h[2], h[3]);
    heads[2 * gi + 1] = make_uint4(h[4], h[5], h[6], h[7]);
    tails[2 * gi] = make_uint4(tl[0], tl[1], tl[2], tl[3]);
    tails[2 * gi + 1] = make_uint4(tl[4], tl[5], tl[6], tl[7]);
}
extern "C" __global__ void row_split(const float* __restrict__ X, int ldx, int tokens, int in, float eps,
                                     uint4* __restrict__ A2, float2* __restrict__ rs) {
    long long t = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / 16;
    int l = threadIdx.x % 16, groups = in / 16;
    bool ok = t < tokens;
    const float4* row = reinterpret_cast<const float4*>(X + (ok ? t : 0) * ldx);
    float4 held[ROW_SPLIT_HELD][4], v[4];
    float m = 0.0f, ss = 0.0f;
    auto take = [&](const float4 (&g)[4]) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
            m = fmaxf(m, fmaxf(fmaxf(fabsf(g[j].x), fabsf(g[j].y)), fmaxf(fabsf(g[j].z), fabsf(g[j].w))));
            ss = fmaf(g[j].x, g[j].x, fmaf(g[j].y, g[j].y, fmaf(g[j].z, g[j].z, fmaf(g[j].w, g[j].w, ss))));
        }
    };
#pragma unroll
    for (int h = 0; h < ROW_SPLIT_HELD; h++)
        if (ok && l + 16 * h < groups) {
#pragma unroll
            for (int j = 0; j < 4; j++) held[h][j] = row[4 * (l + 16 * h) + j];
            take(held[h]);
        }
    for (int gi = l + 16 * ROW_SPLIT_HELD; ok && gi < groups; gi += 16) {
#pragma unroll
        for (int j = 0; j < 4; j++) v[j] = row[4 * gi + j];
        take(v);
    }
#pragma unroll
    for (int o = 8; o > 0; o >>= 1) {   // within the half warp (both halves take part, in range or not)
        m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
        ss += __shfl_xor_sync(0xffffffffu, ss, o);
    }
    if (!ok) return;
    int c = row_scale_exponent(m);
    float sa = exp2f((float)c), inv = exp2f((float)-c);
    if (l == 0) rs[t] = make_float2(sa, row_output_factor(inv, ss, in, eps));
    uint4* heads = A2 + t * (in / 8);
    uint4* tails = A2 + ((long long)tokens + t) * (in / 8);
#pragma unroll
    for (int h = 0; h < ROW_SPLIT_HELD; h++)
        if (l + 16 * h < groups) row_split_group(held[h], sa, heads, tails, l + 16 * h);
    for (int gi = l + 16 * ROW_SPLIT_HELD; gi < groups; gi += 16) {   // wider rows: read again (from L1)
#pragma unroll
        for (int j = 0; j < 4; j++) v[j] = row[4 * gi + j];
        row_split_group(v, sa, heads, tails, gi);
    }
}
#endif

// Per row of X (a warp's 8-lane groups a row each): rs[t] = {sa, f}, sa = 2^(14 - e) for the row's largest magnitude
// in [2^e, 2^(e+1)) (capped at 2^126; 1 for a row of zeros or an infinite value: the split then carries the inf or NaN
// on), f = 1 / sa, or with eps >= 0 (in_proj with the RMSNorm fused) rsqrt(mean of squares + eps) / sa.
extern "C" __global__ void row_scales(const float* __restrict__ X, int ldx, int tokens, int in, float eps,
                                      float2* __restrict__ rs) {
    long long t = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / 8;
    int l = threadIdx.x % 8;
    bool ok = t < tokens;
    const float* row = X + (ok ? t : 0) * ldx;
    float m = 0.0f, ss = 0.0f;
    if (ok) {
        if (ldx % 4 == 0 && in % 4 == 0 && (reinterpret_cast<unsigned long long>(X) & 15) == 0) {
            for (int k = 4 * l; k < in; k += 32) {
                float4 v = *reinterpret_cast<const float4*>(row + k);
                m = fmaxf(m, fmaxf(fmaxf(fabsf(v.x), fabsf(v.y)), fmaxf(fabsf(v.z), fabsf(v.w))));
                ss = fmaf(v.x, v.x, fmaf(v.y, v.y, fmaf(v.z, v.z, fmaf(v.w, v.w, ss))));
            }
        } else {
            for (int k = l; k < in; k += 8) {
                float v = row[k];
                m = fmaxf(m, fabsf(v));
                ss = fmaf(v, v, ss);
            }
        }
    }
#pragma unroll
    for (int o = 4; o > 0; o >>= 1) {
        m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
        ss += __shfl_xor_sync(0xffffffffu, ss, o);
    }
    if (ok && l == 0) {
        int c = row_scale_exponent(m);
        float inv = exp2f((float)-c);
        rs[t] = make_float2(exp2f((float)c), row_output_factor(inv, ss, in, eps));
    }
}


// The same convolution for a kernel width known at compile time: the last K-1 pre values ride in
// registers (each pre value is loaded once, not K times), and the window left behind is those registers.
template <int K>
__device__ __forceinline__ void conv_silu_fixed(const float* __restrict__ xz, int ldxz, const int* __restrict__ offsets,
                                                int seqs, float* __restrict__ states, int stateFloats, int convOff,
                                                const float* __restrict__ convW, const float* __restrict__ convB,
                                                float* __restrict__ u, int e) {
    int s = blockIdx.x;
    int ch = blockIdx.y * blockDim.x + threadIdx.x;
    if (s >= seqs || ch >= e) return;
    int tok0 = offsets[s] - offsets[0];
    int len = offsets[s + 1] - offsets[s];
    float* window = states + (long long)s * stateFloats + convOff + (long long)ch * (K - 1);
    float w[K], r[K - 1];
#pragma unroll
    for (int i = 0; i < K; i++) w[i] = convW[ch * K + i];
#pragma unroll
    for (int i = 0; i < K - 1; i++) r[i] = window[i];
    float bias = convB != nullptr ? convB[ch] : 0.0f;
    const float* pre = xz + (long long)tok0 * ldxz + ch;
    float* uo = u + (long long)tok0 * e + ch;
#pragma unroll 4
    for (int t = 0; t < len; t++) {
        float v = pre[(long long)t * ldxz];
        float acc = bias;
#pragma unroll
        for (int i = 0; i < K - 1; i++) acc = fmaf(w[i], r[i], acc);
        acc = fmaf(w[K - 1], v, acc);
#pragma unroll
        for (int i = 0; i < K - 2; i++) r[i] = r[i + 1];
        r[K - 2] = v;
        uo[(long long)t * e] = silu_sfu(acc);
    }
#pragma unroll
    for (int i = 0; i < K - 1; i++) window[i] = r[i];
}

// u[t, e] = silu(Σ_k w[e,k]·pre[t-K+1+k, e] + b[e]) for the tokens of sequence s, where pre values
// before the sequence come from its carried window; then the window holds the last K-1 pre values.
// One thread per (sequence, channel): grid.x = sequences, grid.y = channel blocks.
extern "C" __global__ void conv_silu(const float* __restrict__ xz, int ldxz, const int* __restrict__ offsets,
                                     int seqs, float* __restrict__ states, int stateFloats, int convOff,
                                     const float* __restrict__ convW, const float* __restrict__ convB,
                                     float* __restrict__ u, int e, int k) {
    int s = blockIdx.x;
    int ch = blockIdx.y * blockDim.x + threadIdx.x;
    if (s >= seqs || ch >= e) return;
    int tok0 = offsets[s] - offsets[0];
    int len = offsets[s + 1] - offsets[s];
    int win = k - 1;
    float* window = states + (long long)s * stateFloats + convOff + (long long)ch * win;
    const float* wrow = convW + ch * k;
    float bias = convB != nullptr ? convB[ch] : 0.0f;
    const float* pre = xz + (long long)tok0 * ldxz + ch;
    for (int t = 0; t < len; t++) {
        float acc = bias;
        for (int kk = 0; kk < k; kk++) {
            int j = t - win + kk;
            float v = j < 0 ? window[win + j] : pre[(long long)j * ldxz];
            acc = fmaf(wrow[kk], v, acc);
        }
        u[(long long)(tok0 + t) * e + ch] = silu_f(acc);
    }
    if (len >= win) {
        for (int i = 0; i < win; i++) window[i] = pre[(long long)(len - win + i) * ldxz];
    } else if (len > 0) {
        for (int i = 0; i < win - len; i++) window[i] = window[i + len];
        for (int i = 0; i < len; i++) window[win - len + i] = pre[(long long)i * ldxz];
    }
}

#define CONV_ARGS const float* __restrict__ xz, int ldxz, const int* __restrict__ offsets, int seqs, \
    float* __restrict__ states, int stateFloats, int convOff, const float* __restrict__ convW, \
    const float* __restrict__ convB, float* __restrict__ u, int e
#define CONV_PASS xz, ldxz, offsets, seqs, states, stateFloats, convOff, convW, convB, u, e
extern "C" __global__ void conv_silu_k2(CONV_ARGS) { conv_silu_fixed<2>(CONV_PASS); }
extern "C" __global__ void conv_silu_k3(CONV_ARGS) { conv_silu_fixed<3>(CONV_PASS); }
extern "C" __global__ void conv_silu_k4(CONV_ARGS) { conv_silu_fixed<4>(CONV_PASS); }

// The fused selective scan with its gate, for the tokens of one sequence:
//   s = exp(Δ·A) ⊙ s + Δ·u·B,   y = (s·C + D·u) · g
// g = silu(z) is read from xz's z half, where in_proj's epilogue put it (GEMM_MODE_GATE): the special-function unit,
// which the scans' 16 ex2 a token and channel keep near its limit, then spends nothing on the gate (scan alone 4.69 vs
// 5.01 ms at E 128, 100,000 x 64 tokens, H200, docs/benchmarks.md, twelfth session).
// The state of channel e lives in registers for the whole sequence (read from and written back to
// the stream's state once): the expanded [L, E, N] tensor never touches global memory. SPLIT
// adjacent lanes share a channel, NS/SPLIT states each (few registers per thread: high occupancy
// to hide memory latency), and add their parts of s·C with shuffles. B and C of a chunk of tokens
// are the same for every channel: staged once per block in shared memory.
#define SCAN_CHUNK 32
#define SCAN_GROUP 2   // tokens whose loads go ahead together; the next group's are issued before this one's recurrence
#define LOG2E 1.4426950408889634f
#define DT_RMAX 16   // the fused-Δ scans stage dt_proj rows in shared memory: time_step_rank <= 16

// 2^x on the special-function unit alone. exp2f compiles to ex2.approx.f32, which ptxas wraps in a
// range check and two multiplies so that results below 2^-126 come out denormal: 3 more instructions
// per state element in an issue-bound loop. Flushing those to 0 changes a state by at most 1.2e-38
// times itself, far below float32 resolution of any state that matters.
__device__ __forceinline__ float exp2_ftz(float x) {
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
}
// softplus on the special-function unit, for the fused-Δ scan where it sits on each channel's serial
// path: e = 2^(v·log2 e) (relative error ~|v|·2^-24), then log1p(e) by its series while e < 0.1 (error
// below e^7/7) and by lg2.approx(1 + e)·ln 2 above (1 + e >= 1.1: relative error < 3e-6). About a fifth of
// the instructions of log1pf(expf(v)); torch's threshold 20 kept.
__device__ __forceinline__ float softplus_sfu(float v) {
    if (v > 20.0f) return v;
    float e = exp2_ftz(v * LOG2E);
    if (e < 0.1f) {
        float p = fmaf(e, -1.0f / 6.0f, 0.2f);
        p = fmaf(e, -p, 0.25f);
        p = fmaf(e, -p, 1.0f / 3.0f);
        p = fmaf(e, -p, 0.5f);
        p = fmaf(e, -p, 1.0f);
        return e * p;
    }
    float l;
    asm("lg2.approx.ftz.f32 %0, %1;" : "=f"(l) : "f"(1.0f + e));
    return l * 0.69314718055994531f;
}
// δ·dt_proj row for a rank RK compiled in (a multiple of 4): δ read 16 bytes at a time from shared memory, the
// weights w(i) from wherever the kernel keeps them
template <int RK, class Weights>
__device__ __forceinline__ float dt_dot(const float* d, Weights w) {
    float v = 0.0f;
#pragma unroll
    for (int i = 0; i < RK; i += 4) {
        float4 d4 = *reinterpret_cast<const float4*>(d + i);
        v = fmaf(d4.x, w(i), v);
        v = fmaf(d4.y, w(i + 1), v);
        v = fmaf(d4.z, w(i + 2), v);
        v = fmaf(d4.w, w(i + 3), v);
    }
    return v;
}
// One token of a channel's recurrence over its NP state elements, the same in every scan kernel:
//   s = 2^(Δ·A·log2 e) ⊙ s + Δu·B, returning s·C (two accumulation chains: half the dependent FMA latency).
// b and c 16-byte aligned (shared memory).
template <int NP>
__device__ __forceinline__ float scan_step(float (&st)[NP], const float (&a2)[NP], const float* b, const float* c,
                                           float dl, float du) {
    float acc = 0.0f, acc2 = 0.0f;
#pragma unroll
    for (int n = 0; n < NP; n += 4) {   // NP is a multiple of 4: one 16-byte load each of B, C
        float4 b4 = *reinterpret_cast<const float4*>(b + n);
        float4 c4 = *reinterpret_cast<const float4*>(c + n);
        float bv[4] = {b4.x, b4.y, b4.z, b4.w}, cv[4] = {c4.x, c4.y, c4.z, c4.w};
#pragma unroll
        for (int q = 0; q < 4; q++) {
            float da = exp2_ftz(dl * a2[n + q]);
            st[n + q] = fmaf(da, st[n + q], du * bv[q]);
            if (q % 2 == 0) acc = fmaf(st[n + q], cv[q], acc);
            else acc2 = fmaf(st[n + q], cv[q], acc2);
        }
    }
    return acc + acc2;
}
// The parameters of every register-resident scan (Δ from a buffer, or from δ and dt_proj's rows when fused)
#define SCAN_IMPL_PARAMS const float* __restrict__ u, const float* __restrict__ dt, const float* __restrict__ dtW, \
    const float* __restrict__ dtB, const float* __restrict__ bc, int ldbc, int r, const float* __restrict__ xz, int ldxz, \
    const int* __restrict__ offsets, int seqs, float* __restrict__ states, int stateFloats, int ssmOff, \
    const float* __restrict__ aNeg, const float* __restrict__ dSkip, float* __restrict__ y, int e
// FUSE_DT: Δ = softplus(dt_proj(δ) + bias) computed here from δ (the first r columns of x_proj's
// output, staged in shared memory with B and C) instead of read from a [T, E] buffer that a separate
// GEMM wrote: saves that kernel and 8 bytes per (token, channel) of traffic.
// RK: time_step_rank known at compile time (0: the argument r): the fused Δ's dot product unrolled and δ
// read 16 bytes at a time.
template <int NS, int SPLIT, bool FUSE_DT, int RK = 0>
__device__ __forceinline__ void scan_impl(SCAN_IMPL_PARAMS) {
    constexpr int NP = NS / SPLIT, GROUP = SCAN_GROUP;
    __shared__ __align__(16) float bs[SCAN_CHUNK][NS];   // 16-byte aligned for the float4 reads
    __shared__ __align__(16) float cs[SCAN_CHUNK][NS];
    __shared__ __align__(16) float ds[FUSE_DT ? SCAN_CHUNK : 1][FUSE_DT ? DT_RMAX : 1];
    static_assert(RK % 4 == 0 && RK <= DT_RMAX, "compile-time ranks: multiples of 4 up to DT_RMAX");
    if (RK > 0) r = RK;
    __shared__ float wdt[FUSE_DT ? DT_RMAX : 1][FUSE_DT ? 128 : 1];   // [k][lane]: conflict-free
    int s = blockIdx.x;
    if (s >= seqs) return;                      // whole block leaves together
    int part = threadIdx.x % SPLIT;
    int ch = (blockIdx.y * blockDim.x + threadIdx.x) / SPLIT;
    bool active = ch < e;
    int chl = active ? ch : e - 1;              // inactive lanes compute on a valid channel, store nothing
    int nb = part * NP;
    int tok0 = offsets[s] - offsets[0];
    int len = offsets[s + 1] - offsets[s];
    // exp(Δ·A) as exp2(Δ·A·log2 e): one MUFU.EX2 per element, A pre-scaled once per channel
    float st[NP], a2[NP];
    float* sp = states + (long long)s * stateFloats + ssmOff + (long long)chl * NS + nb;
#pragma unroll
    for (int n = 0; n < NP; n++) {
        st[n] = sp[n];
        a2[n] = aNeg[chl * NS + nb + n] * LOG2E;
    }
    float dd = dSkip[chl];
    float bdt = 0.0f;
    if (FUSE_DT) {
        for (int i = 0; i < r; i++) wdt[i][threadIdx.x] = dtW[chl * r + i];
        bdt = dtB != nullptr ? dtB[chl] : 0.0f;
    }
    for (int c0 = 0; c0 < len; c0 += SCAN_CHUNK) {
        int cl = min(SCAN_CHUNK, len - c0);
        __syncthreads();
        for (int i = threadIdx.x; i < cl * NS; i += blockDim.x) {
            int t = i / NS, n = i % NS;
            const float* row = bc + (long long)(tok0 + c0 + t) * ldbc + r;
            bs[t][n] = row[n];
            cs[t][n] = row[NS + n];
        }
        if (FUSE_DT) {
            for (int i = threadIdx.x; i < cl * r; i += blockDim.x) {
                int t = i / r, k = i % r;
                ds[t][k] = bc[(long long)(tok0 + c0 + t) * ldbc + k];
            }
        }
        __syncthreads();
        // groups of tokens: their Δ, u and gate loads are issued together, ahead of the dependent recurrence, and
        // the next group's loads before this group's recurrence runs (one group of latency hidden)
        auto fetch = [&](int g, float (&d)[GROUP], float (&uu)[GROUP], float (&gg)[GROUP]) {
#pragma unroll
            for (int j = 0; j < GROUP; j++) {
                if (g + j < cl) {
                    long long tok = tok0 + c0 + g + j;
                    if (FUSE_DT) {
                        float v = 0.0f;
                        if constexpr (RK > 0) {
                            v = dt_dot<RK>(ds[g + j], [&](int i) { return wdt[i][threadIdx.x]; });
                        } else {
#pragma unroll 4
                            for (int i = 0; i < r; i++) v = fmaf(ds[g + j][i], wdt[i][threadIdx.x], v);
                        }
                        d[j] = softplus_sfu(v + bdt);
                    } else {
                        d[j] = dt[tok * e + chl];
                    }
                    uu[j] = u[tok * e + chl];
                    gg[j] = xz[tok * ldxz + e + chl];   // SiLU(z), in_proj's GEMM_MODE_GATE
                }
            }
        };
        float dl[GROUP], uv[GROUP], gv[GROUP];
        fetch(0, dl, uv, gv);
        for (int g = 0; g < cl; g += GROUP) {
            float nd[GROUP], nu[GROUP], ng[GROUP];
            if (g + GROUP < cl) fetch(g + GROUP, nd, nu, ng);
#pragma unroll
            for (int j = 0; j < GROUP; j++) {
                if (g + j < cl) {               // uniform across the block: shuffles stay converged
                    int t = g + j;
                    float acc = scan_step<NP>(st, a2, &bs[t][nb], &cs[t][nb], dl[j], dl[j] * uv[j]);
#pragma unroll
                    for (int o = SPLIT / 2; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
                    if (active && part == 0) {
                        y[(long long)(tok0 + c0 + t) * e + ch] = (acc + dd * uv[j]) * gv[j];
                    }
                }
            }
#pragma unroll
            for (int j = 0; j < GROUP; j++) {
                dl[j] = nd[j];
                uv[j] = nu[j];
                gv[j] = ng[j];
            }
        }
    }
    if (active) {
#pragma unroll
        for (int n = 0; n < NP; n++) sp[n] = st[n];
    }
}

#define SCAN_ARGS const float* __restrict__ u, const float* __restrict__ dt, const float* __restrict__ bc, \
    int ldbc, int r, const float* __restrict__ xz, int ldxz, const int* __restrict__ offsets, int seqs, \
    float* __restrict__ states, int stateFloats, int ssmOff, const float* __restrict__ aNeg, \
    const float* __restrict__ dSkip, float* __restrict__ y, int e
#define SCAN_PASS u, dt, nullptr, nullptr, bc, ldbc, r, xz, ldxz, offsets, seqs, states, stateFloats, ssmOff, aNeg, dSkip, y, e
// the fused-Δ scans take dt_proj's weight [E, r] and bias [E] instead of a Δ buffer
#define SCAN_DT_ARGS const float* __restrict__ u, const float* __restrict__ dtW, const float* __restrict__ dtB, \
    const float* __restrict__ bc, int ldbc, int r, const float* __restrict__ xz, int ldxz, \
    const int* __restrict__ offsets, int seqs, float* __restrict__ states, int stateFloats, int ssmOff, \
    const float* __restrict__ aNeg, const float* __restrict__ dSkip, float* __restrict__ y, int e
#define SCAN_DT_PASS u, nullptr, dtW, dtB, bc, ldbc, r, xz, ldxz, offsets, seqs, states, stateFloats, ssmOff, aNeg, dSkip, y, e

// lanes per channel = max(1, N/16) (GpuKernels.scanSplit mirrors this); measured on H100 at N=16,
// one lane per channel beat two (the shuffles and repeated Δ/u/z loads cost more than occupancy gave).
// Tried on H200 and dropped (docs/benchmarks.md): at most 64 registers for 8 blocks per SM (spills:
// slower), and every input of a chunk staged in shared memory by cp.async, double-buffered (slower:
// 7.6 vs 6.0 ms, the 4-byte copies and two barriers per 8 tokens cost more than the latency they hid).
// Groups of 2 tokens with the next group's loads issued early: on H200 (docs/benchmarks.md, third session)
// as fast as the groups of 4 without prefetch shipped before it (6.0 ms, 100,000 x 64 tokens) and 9% faster
// with Δ fused in (7.6 vs 8.4 ms).
extern "C" __global__ void scan_n4(SCAN_ARGS) { scan_impl<4, 1, false>(SCAN_PASS); }
extern "C" __global__ void scan_n8(SCAN_ARGS) { scan_impl<8, 1, false>(SCAN_PASS); }
extern "C" __global__ void scan_n16(SCAN_ARGS) { scan_impl<16, 1, false>(SCAN_PASS); }
extern "C" __global__ void scan_n32(SCAN_ARGS) { scan_impl<32, 2, false>(SCAN_PASS); }
extern "C" __global__ void scan_n64(SCAN_ARGS) { scan_impl<64, 4, false>(SCAN_PASS); }

// Δ fused in (time_step_rank <= DT_RMAX, blocks of <= 128 threads; GpuKernels falls back to dt GEMM + scan_nN
// otherwise), capped at 72 registers for 7 blocks of 128 per SM: 9% faster than uncapped (93 registers, 5
// blocks) on H200, no spills (docs/benchmarks.md, fourth session)
extern "C" __global__ void __launch_bounds__(128, 7) scan_dt_n4(SCAN_DT_ARGS) { scan_impl<4, 1, true>(SCAN_DT_PASS); }
extern "C" __global__ void __launch_bounds__(128, 7) scan_dt_n8(SCAN_DT_ARGS) { scan_impl<8, 1, true>(SCAN_DT_PASS); }
extern "C" __global__ void __launch_bounds__(128, 7) scan_dt_n16(SCAN_DT_ARGS) { scan_impl<16, 1, true>(SCAN_DT_PASS); }
extern "C" __global__ void __launch_bounds__(128, 7) scan_dt_n32(SCAN_DT_ARGS) { scan_impl<32, 2, true>(SCAN_DT_PASS); }
extern "C" __global__ void __launch_bounds__(128, 7) scan_dt_n64(SCAN_DT_ARGS) { scan_impl<64, 4, true>(SCAN_DT_PASS); }
// state 16 with rank 4 (hidden 64) compiled in (GpuKernels.FUSED_DT_COMPILED_RANKS; H200, fifth session: 6.47 vs
// 6.94 ms at 100,000 x 64 tokens, E 128; rank 16 compiled in was no faster: it spills under the register cap)
extern "C" __global__ void __launch_bounds__(128, 7) scan_dt_n16_r4(SCAN_DT_ARGS) { scan_impl<16, 1, true, 4>(SCAN_DT_PASS); }

// ---- The scan on inputs staged per warp in shared memory (sixth session) ----
// The register-resident scan above is latency-bound on H200: each lane loads its Δ, u and z from global
// memory a token or two ahead, and at the occupancy its 32 registers of state and A allow those loads stall
// it (Nsight: "long scoreboard" the top stall, issue active about 60%), worst on short sequences, where each
// block also starts on a dependent chain of loads (offsets, state, A) before its first token.
// Here a block walks a contiguous range of sequences, and every warp is its own pipeline: its lanes copy the
// warp's 32 channels of u, the gate (and Δ) and its own copy of the chunk's x_proj slice, 16 bytes a lane, by
// cp.async into one of two stages while the warp scans the other; a sequence's first chunk also brings the
// warp's 32 states into one of two state slots. Completion is per thread (cp.async groups) plus __syncwarp:
// no block-wide barrier, so a slow warp delays nobody. A, D and dt_proj's rows are read once per block.
// The copies' addresses are fixed per lane (ct, cq below): a profile found 200 instructions a chunk recomputing
// them (166 after; the token loop is 118).
// Tried first and dropped (docs/benchmarks.md, sixth session): the same pipeline fed by the Tensor Memory
// Accelerator (cp.async.bulk into stages shared by the block, one producer warp, mbarriers): its copies issue
// one lane at a time through the uniform datapath and the producer gates every refill, so the other warps
// waited on the full-stage barrier a third of the time (5.78 vs 5.39 ms at 100,000 x 64 tokens).
#define STAGED_LANES 128   // channels per block (the launcher's block size is min(128, E rounded up to 32))
#define STAGED_CT 8        // tokens a chunk (a stage)
#define STAGED_FIRST 1     // chunk flags: the chunk starts its sequence (its copies bring the state)
#define STAGED_LAST 2      //   ... ends it (the state is written back)
#define STAGED_END 4       //   ... no chunk: the block's range is done
#define STAGED_SLOT 8      // chunk flag: the state slot (0 or 1) of a first chunk

// FUSE_DT needs RK (the rank compiled in: dt_proj's rows in registers).
template <int NS, bool FUSE_DT, int RK = 0>
__device__ __forceinline__ void scan_staged_impl(SCAN_IMPL_PARAMS) {
    constexpr int W = STAGED_LANES, WARPS = W / WARP, STAGES = 2, CT = STAGED_CT;
    constexpr int ROW = (FUSE_DT ? RK : 0) + 2 * NS;   // x_proj slice per token: (δ,) B, C
    constexpr int XC = ROW / 4;                        // ... in 16-byte copies
    static_assert(NS % 4 == 0 && NS <= 16, "one lane per channel, 16-byte rows");
    static_assert(CT % 4 == 0, "a warp copies 4 tokens' rows of 32 channels per round");
    static_assert(!FUSE_DT || (RK > 0 && RK % 4 == 0), "the fused scan has its rank compiled in");
    __shared__ __align__(16) float su[WARPS][STAGES][CT][WARP];
    __shared__ __align__(16) float sg[WARPS][STAGES][CT][WARP];   // the gate SiLU(z)
    __shared__ __align__(16) float sd[FUSE_DT ? 1 : WARPS][FUSE_DT ? 1 : STAGES][FUSE_DT ? 1 : CT][FUSE_DT ? 4 : WARP];
    __shared__ __align__(16) float sx[WARPS][STAGES][CT][ROW];
    __shared__ __align__(16) float ss[WARPS][2][WARP * NS];   // two state slots a warp
    if (RK > 0) r = RK;
    int tid = threadIdx.x, lane = tid % WARP, wp = tid / WARP;
    int ch0 = blockIdx.y * W;
    int tile = min(W, e - ch0);
    int wch0 = wp * WARP;                       // the warp's first channel in the tile
    if (wch0 >= tile) return;                   // no channel for this warp (and no block-wide barrier to miss)
    int wtile = min(WARP, tile - wch0);         // the warp's channels: a multiple of 4
    bool active = lane < wtile;
    int col = active ? lane : wtile - 1;        // idle lanes compute on a valid channel and store nothing
    int cw = ch0 + wch0;                        // the warp's first channel
    int chl = cw + col;
    if (tid == 0 && ((reinterpret_cast<unsigned long long>(u) | reinterpret_cast<unsigned long long>(dt)
                      | reinterpret_cast<unsigned long long>(bc) | reinterpret_cast<unsigned long long>(xz)
                      | reinterpret_cast<unsigned long long>(states)) & 15ull) != 0) {
        __trap();
    }
    float a2[NS];
#pragma unroll
    for (int n = 0; n < NS; n++) a2[n] = aNeg[chl * NS + n] * LOG2E;
    float dd = dSkip[chl];
    float wr[RK > 0 ? RK : 1];
    float bdt = 0.0f;
    if constexpr (FUSE_DT) {
#pragma unroll
        for (int i = 0; i < RK; i++) wr[i] = dtW[chl * RK + i];
        bdt = dtB != nullptr ? dtB[chl] : 0.0f;
    }
    constexpr int boff = FUSE_DT ? RK : 0;
    // Each lane's share of a chunk's copies is fixed for the kernel: channels cq..cq+3 of the warp's 32 of tokens ct
    // and ct + 4 (CT 8), and the 16-byte pieces lane, lane + 32, ... of the chunk's x_proj slices. Copies past a
    // sequence's end or the last channel read nothing (source size 0), so the issue has no branches (a profile found
    // 200 instructions a chunk recomputing addresses around branches).
    const int ct = lane / 8, cq = (lane % 8) * 4;
    const bool cvalid = cq < wtile;
    const float* uL = u + cw + (cvalid ? cq : 0);
    const float* gL = xz + e + cw + (cvalid ? cq : 0);
    const float* dL = FUSE_DT ? nullptr : dt + cw + (cvalid ? cq : 0);
    const float* xL = bc + (FUSE_DT ? 0 : r);
    constexpr unsigned TOKB = WARP * 4, STB = CT * WARP * 4, XSTB = CT * ROW * 4;   // bytes: token row, stage, x stage
    const unsigned suL = smem_u32(&su[wp][0][ct][cq]), sgL = smem_u32(&sg[wp][0][ct][cq]);
    const unsigned sdL = FUSE_DT ? 0u : smem_u32(&sd[wp][0][ct][FUSE_DT ? 0 : cq]);
    const unsigned sxW = smem_u32(&sx[wp][0][0][0]);
    // the warp's cursor over the block's sequences (every lane the same)
    int ps = (int)((long long)blockIdx.x * seqs / gridDim.x), pEnd = (int)((long long)(blockIdx.x + 1) * seqs / gridDim.x);
    int pc = 0, firsts = 0;
    const int base = offsets[0];
    auto next = [&]() {
        int tok = 0, len = 0;
        while (ps < pEnd) {
            tok = offsets[ps] - base;
            len = offsets[ps + 1] - base - tok;
            if (pc < len) break;
            ps++;
            pc = 0;
        }
        if (ps >= pEnd) return make_int4(0, 0, 0, STAGED_END);
        int cl = min(CT, len - pc);
        int flags = (pc + cl == len ? STAGED_LAST : 0);
        if (pc == 0) flags |= STAGED_FIRST | (firsts++ & 1 ? STAGED_SLOT : 0);
        int4 m = make_int4(ps, tok + pc, cl, flags);
        pc += cl;
        return m;
    };
    // one cp.async group per chunk (an empty one past the end, so that wait_group's count stays in step)
    auto issue = [&](int4 m, int stage) {
        if (!(m.w & STAGED_END)) {
            const long long rowE = (long long)m.y * e, rowZ = (long long)m.y * ldxz, rowX = (long long)m.y * ldbc;
#pragma unroll
            for (int i = 0; i < CT / 4; i++) {
                int t = ct + 4 * i;
                bool ok = t < m.z && cvalid;
                int tt = ok ? t : 0;
                unsigned off = stage * STB + i * 4 * TOKB, bytes = ok ? 16u : 0u;
                cp_async16_to(suL + off, uL + rowE + tt * e, bytes);
                cp_async16_to(sgL + off, gL + rowZ + tt * ldxz, bytes);
                if (!FUSE_DT) cp_async16_to(sdL + off, dL + rowE + tt * e, bytes);
            }
            const unsigned xS = sxW + stage * XSTB;
#pragma unroll
            for (int c0 = 0; c0 < CT * XC; c0 += WARP) {
                int c = c0 + lane, t = c / XC, p = (c % XC) * 4;
                bool ok = t < m.z;
                if (c0 + WARP <= CT * XC || c < CT * XC) {
                    cp_async16_to(xS + (c < CT * XC ? (t * ROW + p) * 4 : 0), xL + rowX + (ok ? t * ldbc + p : 0),
                                  ok ? 16u : 0u);
                }
            }
            if ((m.w & STAGED_FIRST) && active) {
                const float* src = states + (long long)m.x * stateFloats + ssmOff + (long long)chl * NS;
                unsigned dst = smem_u32(&ss[wp][m.w & STAGED_SLOT ? 1 : 0][lane * NS]);
#pragma unroll
                for (int n = 0; n < NS; n += 4) cp_async16_to(dst + 4 * n, src + n, 16u);
            }
        }
        cp_async_commit();
    };
    int4 m0 = next();
    issue(m0, 0);
    int4 m1 = next();
    issue(m1, 1);
    float st[NS];
#pragma unroll
    for (int n = 0; n < NS; n++) st[n] = 0.0f;
    for (int item = 0;; item++) {
        int stage = item & 1;
        cp_async_wait<1>();                     // this thread's copies of the chunk have landed ...
        __syncwarp();                           // ... and every lane's
        if (m0.w & STAGED_END) break;           // the same for every lane of the warp
        if (m0.w & STAGED_FIRST) {
            const float* src = &ss[wp][m0.w & STAGED_SLOT ? 1 : 0][col * NS];
#pragma unroll
            for (int n = 0; n < NS; n += 4) {
                float4 v = *reinterpret_cast<const float4*>(src + n);
                st[n] = v.x; st[n + 1] = v.y; st[n + 2] = v.z; st[n + 3] = v.w;
            }
        }
        float* yp = y + (long long)m0.y * e + chl;
        auto token = [&](int t) {
            float uv = su[wp][stage][t][col], gv = sg[wp][stage][t][col];
            const float* xr = sx[wp][stage][t];
            float dl;
            if constexpr (FUSE_DT) {
                dl = softplus_sfu(dt_dot<RK>(xr, [&](int i) { return wr[i]; }) + bdt);
            } else {
                dl = sd[wp][FUSE_DT ? 0 : stage][t][col];
            }
            float acc = scan_step<NS>(st, a2, &xr[boff], &xr[boff + NS], dl, dl * uv);
            if (active) *yp = (acc + dd * uv) * gv;
            yp += e;
        };
        // The fused scans' token loop unrolled (a chunk's tokens at fixed shared-memory offsets): 5% faster at rank 4,
        // 2% at rank 16 (docs/benchmarks.md, seventh session); the plain scan's was not faster (5.12 vs 5.07 ms).
        if constexpr (FUSE_DT) {
#pragma unroll
            for (int t = 0; t < CT; t++)
                if (t < m0.z) token(t);
        } else {
            for (int t = 0; t < m0.z; t++) token(t);
        }
        if ((m0.w & STAGED_LAST) && active) {
            float* sp = states + (long long)m0.x * stateFloats + ssmOff + (long long)chl * NS;
#pragma unroll
            for (int n = 0; n < NS; n += 4) *reinterpret_cast<float4*>(&sp[n]) = make_float4(st[n], st[n + 1], st[n + 2], st[n + 3]);
        }
        __syncwarp();                           // every lane is done with this stage before it is refilled
        int4 m2 = next();
        issue(m2, stage);
        m0 = m1;
        m1 = m2;
    }
    cp_async_wait<0>();                         // nothing in flight at exit (the empty groups past the end)
}

// Grid: x = blocks over the sequences (each a contiguous range; GpuKernels sizes it to the blocks that stay
// resident), y = ceil(E / 128); blocks of min(128, E rounded up to 32) threads. The plain scans take 48 KB of
// shared memory a block at N 16 (4 blocks per SM), the fused-Δ ones 41 KB at rank 4 (5) and 44 KB at rank 16 (4,
// dt_proj's row in 16 registers: 4.12 vs 5.79 ms for the lane-loading scan at E 512, 16,384 x 64 tokens, H200,
// docs/benchmarks.md, seventh session). Other ranks keep the lane-loading fused scans: a runtime-rank staged one, with
// dt_proj's rows in shared memory and so only 4 tokens a chunk, was slower at rank 16 (sixth session).
extern "C" __global__ void __launch_bounds__(128, 4) scan_staged_n4(SCAN_ARGS) { scan_staged_impl<4, false>(SCAN_PASS); }
extern "C" __global__ void __launch_bounds__(128, 4) scan_staged_n8(SCAN_ARGS) { scan_staged_impl<8, false>(SCAN_PASS); }
extern "C" __global__ void __launch_bounds__(128, 4) scan_staged_n16(SCAN_ARGS) { scan_staged_impl<16, false>(SCAN_PASS); }
extern "C" __global__ void __launch_bounds__(128, 5) scan_dt_staged_n16_r4(SCAN_DT_ARGS) { scan_staged_impl<16, true, 4>(SCAN_DT_PASS); }
extern "C" __global__ void __launch_bounds__(128, 4) scan_dt_staged_n16_r16(SCAN_DT_ARGS) { scan_staged_impl<16, true, 16>(SCAN_DT_PASS); }
// Any other state size: the same recurrence with the state updated in place in global memory
// (correct for every N, slower; the shipped sizes above cover HF's configurations).
extern "C" __global__ void scan_generic(SCAN_ARGS, int ns) {
    int s = blockIdx.x;
    int ch = blockIdx.y * blockDim.x + threadIdx.x;
    if (s >= seqs || ch >= e) return;
    int tok0 = offsets[s] - offsets[0];
    int len = offsets[s + 1] - offsets[s];
    float* sp = states + (long long)s * stateFloats + ssmOff + (long long)ch * ns;
    const float* arow = aNeg + (long long)ch * ns;
    float dd = dSkip[ch];
    for (int t = 0; t < len; t++) {
        long long tok = tok0 + t;
        float delta = dt[tok * e + ch];
        float uv = u[tok * e + ch];
        float du = delta * uv;
        const float* row = bc + tok * ldbc + r;
        float acc = 0.0f;
        for (int n = 0; n < ns; n++) {
            float v = fmaf(expf(delta * arow[n]), sp[n], du * row[n]);
            sp[n] = v;
            acc = fmaf(v, row[ns + n], acc);
        }
        y[tok * e + ch] = (acc + dd * uv) * xz[tok * ldxz + e + ch];
    }
}
