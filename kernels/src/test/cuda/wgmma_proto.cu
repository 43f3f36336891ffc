// PROTOTYPES, not shipped: variants of the 3xTF32 projection on Hopper's warpgroup MMA (wgmma), measured against the
// shipped kernels (mma.sync gemm_tf32x3_s64, and gemm_wg_tf32x3_s64, which grew out of gemm_wgp_n64_s3_g1_sw) by
// WgmmaProtoBench; figures in docs/benchmarks.md, GPU, seventh and eighth sessions. Needs sm_90a; built by
// scripts/bench/build-wgmma-proto.sh into a test resource. Full tiles only: tokens a multiple of the block's rows, out
// of BN, in of 64; rows 16-byte aligned.
//
// gemm_wgp_impl<BN, STAGES, KG, WGS, SW>: WGS warpgroups of 64 token rows x BN outputs; k-tiles of 32 through STAGES
// cp.async stages; A split into TF32 head and tail in registers, two register sets alternating by commit group of KG
// k8 steps with one group in flight; W's pre-split heads and tails read by wgmma through descriptors, in the
// no-swizzle core-matrix layout (lbo 128 along k, sbo 1,024 along n: the seventh session's call 11 settled which is
// which) or, SW, the 128-byte swizzle. lbo / sbo stay kernel arguments (unused since) so that WgmmaProtoBench passes
// one argument list to every kernel.

#define WARP 32
#define WG_KB 32
#define WG_LDA (WG_KB + 4)

__device__ __forceinline__ unsigned smem_u32(const void* p) { return static_cast<unsigned>(__cvta_generic_to_shared(p)); }
__device__ __forceinline__ void cp_async16(unsigned dst, const float* src) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(dst), "l"(src) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory"); }
__device__ __forceinline__ unsigned tf32_head(float v) { return (__float_as_uint(v) + 0x1000u) & 0xffffe000u; }
__device__ __forceinline__ unsigned tf32_tail(float v, unsigned head) {
    return __float_as_uint(v - __uint_as_float(head)) & 0xffffe000u;
}

// matrix descriptor: start address, leading and stride byte offsets (all >> 4), no swizzle
__device__ __forceinline__ unsigned long long wg_desc(unsigned addr, unsigned lbo, unsigned sbo) {
    return (unsigned long long)((addr & 0x3FFFF) >> 4) | ((unsigned long long)(lbo >> 4) << 16)
           | ((unsigned long long)(sbo >> 4) << 32);
}

// D[64 x N] += A[64 x 8] (registers, tf32) * B[N x 8]^T (shared memory, descriptor)
__device__ __forceinline__ void wgmma_m64n64k8(float (&d)[32], const unsigned (&a)[4], unsigned long long descB) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, 1, 1, 1;"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB));
}
__device__ __forceinline__ void wgmma_m64n128k8(float (&d)[64], const unsigned (&a)[4], unsigned long long descB) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, 1, 1, 1;"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB));
}
// the same, with scale-d a predicate: 0 overwrites D (a tile's first product), 1 accumulates
__device__ __forceinline__ void wgmma_m64n64k8_p(float (&d)[32], const unsigned (&a)[4], unsigned long long descB, int scaleD) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, p, 1, 1;\n}"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB), "r"(scaleD));
}
// the same, with scale-d a predicate: 0 overwrites D (a tile's first product), 1 accumulates
__device__ __forceinline__ void wgmma_m64n128k8_p(float (&d)[64], const unsigned (&a)[4], unsigned long long descB, int scaleD) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, p, 1, 1;\n}"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB), "r"(scaleD));
}
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait0() { asm volatile("wgmma.wait_group.sync.aligned 0;" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmma_keep(float (&d)[N]) {   // the accumulators stay live across the async MMA
#pragma unroll
    for (int i = 0; i < N; i++) asm volatile("" : "+f"(d[i])::"memory");
}

#define WG_ARGS const float* __restrict__ X, int ldx, int tokens, int in, const float* __restrict__ W, int out, \
    const float* __restrict__ bias, float* __restrict__ Y, int ldy, unsigned lbo, unsigned sbo
#define WG_PASS X, ldx, tokens, in, W, out, bias, Y, ldy, lbo, sbo
// Pipelined (eighth session): one k-tile's wgmma stay in flight while the next tile's A fragments are split into a
// second register set (wgmma.wait_group 1), and a stage is refilled two k-tiles after its last use, when every
// warpgroup has waited for the wgmma that read it (prefetch distance STAGES - 2). A tile's first product overwrites
// the accumulators (scale-d 0) instead of a clear between wgmma. B's copies put 8 consecutive threads on one core
// matrix's 128 contiguous bytes (v1 spread them 128 bytes apart, 8-way bank conflicts). Loops over a tile's k-tiles
// in pairs, one register set each: in % 64 == 0.
template <int BN, int STAGES, int KG = 4, int WGS = 2, bool SW = false>
__device__ __forceinline__ void gemm_wgp_impl(WG_ARGS) {
    extern __shared__ __align__(1024) float smem[];
    constexpr int BM = 64 * WGS, THREADS = 128 * WGS;
    constexpr int A_FLOATS = BM * WG_LDA, B_FLOATS = BN * WG_KB, STAGE_FLOATS = A_FLOATS + 2 * B_FLOATS;
    constexpr int NACC = BN / 2, BCOPIES = 2 * BN * 8 / THREADS, PD = STAGES - 2;
    static_assert(PD >= 1, "at least 3 stages");
    int tid = threadIdx.x, lane = tid % WARP, warp = tid / WARP, wg = warp / 4, wq = warp % 4;
    int g = lane >> 2, q = lane & 3;
    int o0 = blockIdx.y * BN;
    int tilesM = tokens / BM, kTiles = in / WG_KB;
    int myTiles = (int)blockIdx.x < tilesM ? (tilesM - 1 - (int)blockIdx.x) / (int)gridDim.x + 1 : 0;
    int total = myTiles * kTiles;
    int ldIt = 0, ldTile = 0, ldK = 0;
    auto load = [&]() {
        if (ldIt < total) {
            float* st = smem + (ldIt % STAGES) * STAGE_FLOATS;
            long long t0 = (long long)(blockIdx.x + ldTile * gridDim.x) * BM;
            int k0 = ldK * WG_KB;
#pragma unroll
            for (int i = 0; i < 4; i++) {
                int p = tid + i * THREADS, m = p / 8, c = (p % 8) * 4;
                cp_async16(smem_u32(st + m * WG_LDA + c), X + (t0 + m) * ldx + k0 + c);
            }
#pragma unroll
            for (int i = 0; i < BCOPIES; i++) {
                int p = tid + i * THREADS, part = p / (BN * 8), r = p % (BN * 8);
                if constexpr (SW) {   // 8 threads copy one row's 128 bytes; chunk kb lands at kb ^ (row % 8)
                    int n = r / 8, kb = r % 8;
                    float* dst = st + A_FLOATS + part * B_FLOATS + n * 32 + ((kb ^ (n % 8)) * 4);
                    cp_async16(smem_u32(dst), W + (long long)part * out * in + (long long)(o0 + n) * in + k0 + kb * 4);
                } else {
                    int nlo = r % 8, kb = (r / 8) % 8, nhi = r / 64, n = nhi * 8 + nlo;
                    float* dst = st + A_FLOATS + part * B_FLOATS + (nhi * 8 + kb) * 32 + nlo * 4;
                    cp_async16(smem_u32(dst), W + (long long)part * out * in + (long long)(o0 + n) * in + k0 + kb * 4);
                }
            }
            if (++ldK == kTiles) {
                ldK = 0;
                ldTile++;
            }
            ldIt++;
        }
        cp_async_commit();
    };
    float acc[NACC];
#pragma unroll
    for (int i = 0; i < NACC; i++) acc[i] = 0.0f;
    unsigned ah[2][KG][4], al[2][KG][4];
#pragma unroll
    for (int s = 0; s < PD; s++) load();
    int it = 0;
    for (int tile = 0; tile < myTiles; tile++) {
        for (int kt = 0; kt < kTiles; kt += 2) {
#pragma unroll
            for (int p = 0; p < 2; p++) {
                cp_async_wait<PD - 1>();
                asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
                __syncthreads();
                load();
                const float* st = smem + (it % STAGES) * STAGE_FLOATS;
                const float* As = st + (wg * 64 + wq * 16) * WG_LDA;
                unsigned bh = smem_u32(st + A_FLOATS), bt = smem_u32(st + A_FLOATS + B_FLOATS);
                // k8 step s: no swizzle, core matrices 2s and 2s + 1 (256 bytes on); 128-byte swizzle: 32 bytes into
                // each row, the hardware applying the XOR (the atoms are 1,024-byte aligned)
                auto bdesc = [](unsigned base, int s) {
                    return SW ? wg_desc(base + 32 * s, 16, 1024) | (1ull << 62) : wg_desc(base + 256 * s, 128, 1024);
                };
#pragma unroll
                for (int grp = 0; grp < 4 / KG; grp++) {
                    constexpr int GPT = 4 / KG;
                    const int set = (p * GPT + grp) % 2;   // constant after unrolling
#pragma unroll
                    for (int ss = 0; ss < KG; ss++) {
                        int s = grp * KG + ss;
                        float v[4] = {As[g * WG_LDA + 8 * s + q], As[(g + 8) * WG_LDA + 8 * s + q],
                                      As[g * WG_LDA + 8 * s + q + 4], As[(g + 8) * WG_LDA + 8 * s + q + 4]};
#pragma unroll
                        for (int x = 0; x < 4; x++) {
                            ah[set][ss][x] = tf32_head(v[x]);
                            al[set][ss][x] = tf32_tail(v[x], ah[set][ss][x]);
                        }
                    }
                    int first = kt + p == 0 && grp == 0 ? 0 : 1;
                    wgmma_fence();
#pragma unroll
                    for (int ss = 0; ss < KG; ss++) {
                        int s = grp * KG + ss;
                        if constexpr (BN == 64) {
                            wgmma_m64n64k8_p(acc, al[set][ss], bdesc(bh, s), ss == 0 ? first : 1);
                            wgmma_m64n64k8(acc, ah[set][ss], bdesc(bt, s));
                            wgmma_m64n64k8(acc, ah[set][ss], bdesc(bh, s));
                        } else {
                            wgmma_m64n128k8_p(acc, al[set][ss], bdesc(bh, s), ss == 0 ? first : 1);
                            wgmma_m64n128k8(acc, ah[set][ss], bdesc(bt, s));
                            wgmma_m64n128k8(acc, ah[set][ss], bdesc(bh, s));
                        }
                    }
                    wgmma_commit();
                    asm volatile("wgmma.wait_group.sync.aligned 1;" ::: "memory");
                }
                it++;
            }
        }
        wgmma_wait0();
        wgmma_keep(acc);
        long long t0 = (long long)(blockIdx.x + tile * gridDim.x) * BM + wg * 64 + wq * 16;
#pragma unroll
        for (int j = 0; j < BN / 8; j++) {
            int o = o0 + 8 * j + 2 * q;
            float b0 = bias != nullptr ? bias[o] : 0.0f, b1 = bias != nullptr ? bias[o + 1] : 0.0f;
            *reinterpret_cast<float2*>(Y + (t0 + g) * ldy + o) = make_float2(acc[4 * j] + b0, acc[4 * j + 1] + b1);
            *reinterpret_cast<float2*>(Y + (t0 + g + 8) * ldy + o) = make_float2(acc[4 * j + 2] + b0, acc[4 * j + 3] + b1);
        }
    }
    cp_async_wait<0>();
}
extern "C" __global__ void __launch_bounds__(256, 2) gemm_wgp_n64_s3(WG_ARGS) { gemm_wgp_impl<64, 3>(WG_PASS); }
extern "C" __global__ void __launch_bounds__(256, 2) gemm_wgp_n64_s3_g2(WG_ARGS) { gemm_wgp_impl<64, 3, 2>(WG_PASS); }
extern "C" __global__ void __launch_bounds__(256, 2) gemm_wgp_n64_s3_g1(WG_ARGS) { gemm_wgp_impl<64, 3, 1>(WG_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) gemm_wgp_n128_s3_g2(WG_ARGS) { gemm_wgp_impl<128, 3, 2>(WG_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) gemm_wgp_n64_s4(WG_ARGS) { gemm_wgp_impl<64, 4>(WG_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) gemm_wgp_n128_s3(WG_ARGS) { gemm_wgp_impl<128, 3>(WG_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) gemm_wgp_n128_s4(WG_ARGS) { gemm_wgp_impl<128, 4>(WG_PASS); }
// four warpgroups: 256 tokens x 128 outputs a block, 1.5x the product per byte staged of 128 x 128
extern "C" __global__ void __launch_bounds__(512, 1) gemm_wgp_m256_n128_s3_g1(WG_ARGS) { gemm_wgp_impl<128, 3, 1, 4>(WG_PASS); }
extern "C" __global__ void __launch_bounds__(512, 1) gemm_wgp_m256_n64_s4_g2(WG_ARGS) { gemm_wgp_impl<64, 4, 2, 4>(WG_PASS); }
// 128-byte swizzled B, coalesced B copies
extern "C" __global__ void __launch_bounds__(512, 1) gemm_wgp_m256_n128_s3_g1_sw(WG_ARGS) { gemm_wgp_impl<128, 3, 1, 4, true>(WG_PASS); }
extern "C" __global__ void __launch_bounds__(512, 1) gemm_wgp_m256_n64_s4_g2_sw(WG_ARGS) { gemm_wgp_impl<64, 4, 2, 4, true>(WG_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) gemm_wgp_n128_s3_g2_sw(WG_ARGS) { gemm_wgp_impl<128, 3, 2, 2, true>(WG_PASS); }
extern "C" __global__ void __launch_bounds__(256, 2) gemm_wgp_n64_s3_g1_sw(WG_ARGS) { gemm_wgp_impl<64, 3, 1, 2, true>(WG_PASS); }

// ---- Ninth session: 3xFP16 ("half-split") projections. FP16 carries the same 11 significant bits as TF32, and its
// wgmma (m64nNk16) does twice TF32's multiply-adds an instruction; only its range is narrow (normal from 2^-14, at
// most 65504). So every row of A is scaled by a power of two, sa = 2^(14 - exponent of its largest magnitude), and
// every row of W (an output) likewise on the host, before the split: the largest value of each lies in [2^14, 2^15),
// a head's and a tail's rounding errors are then relative to the row's largest value as in 3xTF32 (tails below 2^-14,
// subnormal, lose bits only 2^-38 and less below that largest value), and the products are undone by exact powers of
// two in the epilogue. W comes pre-split: [2][out][in] halves, heads then tails, each row scaled, and within every 16
// k its values permuted so that a thread's A fragment (k 2q, 2q + 1, 2q + 8, 2q + 9 of the k16 step) is 4 adjacent
// floats in shared memory: logical k 2q + j holds W's k 4q + j, logical 2q + 8 + j holds 4q + 2 + j.
// rs: per token {sa, 1 / sa} (row_scales below); cs: per output 2^-c. Full tiles only, as above; in % KB == 0.
__device__ __forceinline__ unsigned pack_f16x2(float lo, float hi) {
    unsigned r;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}
__device__ __forceinline__ float2 unpack_f16x2(unsigned v) {
    float2 f;
    asm("{.reg .b16 l, h;\nmov.b32 {l, h}, %2;\ncvt.f32.f16 %0, l;\ncvt.f32.f16 %1, h;}" : "=f"(f.x), "=f"(f.y) : "r"(v));
    return f;
}
// a and b (scaled) as f16x2 heads and tails: head = rn(v), tail = rn(v - head)
__device__ __forceinline__ void split_f16x2(float a, float b, unsigned& head, unsigned& tail) {
    head = pack_f16x2(a, b);
    float2 h = unpack_f16x2(head);
    tail = pack_f16x2(a - h.x, b - h.y);
}
__device__ __forceinline__ void split_vk(float a, float b, unsigned& head, unsigned& tail) {
    float ca = a * 8193.0f, cb = b * 8193.0f;
    float ha = ca - (ca - a), hb = cb - (cb - b);
    head = pack_f16x2(ha, hb);
    tail = pack_f16x2(a - ha, b - hb);
}
template <int N>
__device__ __forceinline__ void wgmma_f16(float (&d)[N / 2], const unsigned (&a)[4], unsigned long long descB, int scaleD);
template <>
__device__ __forceinline__ void wgmma_f16<64>(float (&d)[32], const unsigned (&a)[4], unsigned long long descB, int scaleD) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, p, 1, 1, 0;\n}"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB), "r"(scaleD));
}
template <>
__device__ __forceinline__ void wgmma_f16<128>(float (&d)[64], const unsigned (&a)[4], unsigned long long descB, int scaleD) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, p, 1, 1, 0;\n}"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB), "r"(scaleD));
}

// A 3xFP16 tile's epilogue: the thread's rows g and g + 8 (from t0) of outputs 8j + 2q, + 1 (from o0), each scaled by
// its column's 2^-c and its row's 1 / sa, plus the bias
template <int BN>
__device__ __forceinline__ void store_half_tile(const float (&acc)[BN / 2], long long t0, int o0, int g, int q, float2 r0,
                                                float2 r1, const float* __restrict__ cs, const float* __restrict__ bias,
                                                float* __restrict__ Y, int ldy) {
#pragma unroll
    for (int j = 0; j < BN / 8; j++) {
        int o = o0 + 8 * j + 2 * q;
        float c0 = cs[o], c1 = cs[o + 1];
        float b0 = bias != nullptr ? bias[o] : 0.0f, b1 = bias != nullptr ? bias[o + 1] : 0.0f;
        *reinterpret_cast<float2*>(Y + (t0 + g) * ldy + o) =
            make_float2(acc[4 * j] * c0 * r0.y + b0, acc[4 * j + 1] * c1 * r0.y + b1);
        *reinterpret_cast<float2*>(Y + (t0 + g + 8) * ldy + o) =
            make_float2(acc[4 * j + 2] * c0 * r1.y + b0, acc[4 * j + 3] * c1 * r1.y + b1);
    }
}

#define WGH_ARGS const float* __restrict__ X, int ldx, int tokens, int in, const unsigned short* __restrict__ W, int out, \
    const float* __restrict__ bias, float* __restrict__ Y, int ldy, const float2* __restrict__ rs, const float* __restrict__ cs
#define WGH_PASS X, ldx, tokens, in, W, out, bias, Y, ldy, rs, cs
// KB floats of A a k-tile (rows padded to KB + 16 floats: a lane's 16-byte loads of rows g and g + 8 conflict-free);
// W's k-tile is KB halves a row: 64-byte rows in the 64-byte swizzle (KB 32: chunk c of row n at c ^ ((n / 2) % 4)) or
// 128-byte rows in the 128-byte one (KB 64: c ^ (n % 8)).
// PD: prefetch distance (k-tiles loaded ahead); a stage is refilled PD k-tiles ahead, so its last reader is PD -
// STAGES k-tiles back: PD <= STAGES - 2 with one commit group left in flight across the barrier, or STAGES - 1 with
// DRAIN (every wgmma of a k-tile waited for at its end).
// WGS: warpgroups (64 token rows each); VK: the head taken by Veltkamp's split on the FMA pipe (v rounded to 11
// significant bits: c = v * (2^13 + 1), head = c - (c - v)) instead of converting the packed head back
template <int BN, int STAGES, int KB, int PD = 1, bool DRAIN = false, int WGS = 2, bool VK = false>
__device__ __forceinline__ void gemm_wgh_impl(WGH_ARGS) {
    static_assert(PD >= 1 && PD <= (DRAIN ? STAGES - 1 : STAGES - 2), "a stage is refilled only once read");
    extern __shared__ __align__(1024) float smem[];
    constexpr int BM = 64 * WGS, THREADS = 128 * WGS, LDA = KB + 16, ROWB = KB * 2, CHUNKS = ROWB / 16;
    constexpr int A_FLOATS = BM * LDA, B_FLOATS = BN * KB / 2, STAGE_FLOATS = A_FLOATS + 2 * B_FLOATS;
    static_assert(STAGE_FLOATS % 256 == 0, "stages stay 1,024-byte aligned");
    constexpr int NACC = BN / 2;
    int tid = threadIdx.x, lane = tid % WARP, warp = tid / WARP;
    int g = lane >> 2, q = lane & 3;
    int o0 = blockIdx.y * BN;
    int tilesM = tokens / BM, kTiles = in / KB;
    int myTiles = (int)blockIdx.x < tilesM ? (tilesM - 1 - (int)blockIdx.x) / (int)gridDim.x + 1 : 0;
    int total = myTiles * kTiles;
    int ldIt = 0, ldTile = 0, ldK = 0;
    auto load = [&]() {
        if (ldIt < total) {
            float* st = smem + (ldIt % STAGES) * STAGE_FLOATS;
            long long t0 = (long long)(blockIdx.x + ldTile * gridDim.x) * BM;
            int k0 = ldK * KB;
#pragma unroll
            for (int i = 0; i < BM * KB / 4 / THREADS; i++) {
                int p = tid + i * THREADS, m = p / (KB / 4), c = (p % (KB / 4)) * 4;
                cp_async16(smem_u32(st + m * LDA + c), X + (t0 + m) * ldx + k0 + c);
            }
#pragma unroll
            for (int i = 0; i < (2 * BN * CHUNKS + THREADS - 1) / THREADS; i++) {
                int p = tid + i * THREADS, part = p / (BN * CHUNKS), r = p % (BN * CHUNKS), n = r / CHUNKS, c = r % CHUNKS;
                if ((2 * BN * CHUNKS) % THREADS != 0 && p >= 2 * BN * CHUNKS) break;
                int sc = KB == 32 ? c ^ ((n >> 1) & 3) : c ^ (n & 7);
                const unsigned short* src = W + (long long)part * out * in + (long long)(o0 + n) * in + k0 + c * 8;
                cp_async16(smem_u32(st + A_FLOATS + part * B_FLOATS + n * (ROWB / 4) + sc * 4), reinterpret_cast<const float*>(src));
            }
            if (++ldK == kTiles) {
                ldK = 0;
                ldTile++;
            }
            ldIt++;
        }
        cp_async_commit();
    };
    float acc[NACC];
#pragma unroll
    for (int i = 0; i < NACC; i++) acc[i] = 0.0f;
    unsigned ah[2][4], al[2][4];
#pragma unroll
    for (int i = 0; i < PD; i++) load();
    int it = 0;
    for (int tile = 0; tile < myTiles; tile++) {
        long long t0 = (long long)(blockIdx.x + tile * gridDim.x) * BM + warp * 16;
        float2 r0 = rs[t0 + g], r1 = rs[t0 + g + 8];
        for (int kt = 0; kt < kTiles; kt++) {
            cp_async_wait<PD - 1>();
            asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
            __syncthreads();
            load();
            const float* st = smem + (it % STAGES) * STAGE_FLOATS;
            const float* As = st + warp * 16 * LDA;
            unsigned bh = smem_u32(st + A_FLOATS), bt = smem_u32(st + A_FLOATS + B_FLOATS);
#pragma unroll
            for (int s = 0; s < KB / 16; s++) {
                const int set = s % 2;
                float4 u = *reinterpret_cast<const float4*>(As + g * LDA + 16 * s + 4 * q);
                float4 v = *reinterpret_cast<const float4*>(As + (g + 8) * LDA + 16 * s + 4 * q);
                if constexpr (VK) {
                    split_vk(u.x * r0.x, u.y * r0.x, ah[set][0], al[set][0]);
                    split_vk(v.x * r1.x, v.y * r1.x, ah[set][1], al[set][1]);
                    split_vk(u.z * r0.x, u.w * r0.x, ah[set][2], al[set][2]);
                    split_vk(v.z * r1.x, v.w * r1.x, ah[set][3], al[set][3]);
                } else {
                    split_f16x2(u.x * r0.x, u.y * r0.x, ah[set][0], al[set][0]);
                    split_f16x2(v.x * r1.x, v.y * r1.x, ah[set][1], al[set][1]);
                    split_f16x2(u.z * r0.x, u.w * r0.x, ah[set][2], al[set][2]);
                    split_f16x2(v.z * r1.x, v.w * r1.x, ah[set][3], al[set][3]);
                }
                wgmma_fence();
                // k16 step s: 32 bytes into each row, the hardware applying the swizzle
                constexpr unsigned long long mode = KB == 32 ? (2ull << 62) : (1ull << 62);
                auto desc = [&](unsigned base) {
                    return (unsigned long long)(((base + 32 * s) & 0x3FFFF) >> 4) | (1ull << 16)
                           | ((unsigned long long)(8 * ROWB >> 4) << 32) | mode;
                };
                wgmma_f16<BN>(acc, al[set], desc(bh), kt == 0 && s == 0 ? 0 : 1);
                wgmma_f16<BN>(acc, ah[set], desc(bt), 1);
                wgmma_f16<BN>(acc, ah[set], desc(bh), 1);
                wgmma_commit();
                asm volatile("wgmma.wait_group.sync.aligned 1;" ::: "memory");
            }
            if (DRAIN) wgmma_wait0();
            it++;
        }
        wgmma_wait0();
        wgmma_keep(acc);
        store_half_tile<BN>(acc, t0, o0, g, q, r0, r1, cs, bias, Y, ldy);
    }
    cp_async_wait<0>();
}
extern "C" __global__ void __launch_bounds__(256, 2) gemm_wgh_n64_s3_k32(WGH_ARGS) { gemm_wgh_impl<64, 3, 32>(WGH_PASS); }
extern "C" __global__ void __launch_bounds__(256, 2) gemm_wgh_n64_s4_k32(WGH_ARGS) { gemm_wgh_impl<64, 4, 32>(WGH_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) gemm_wgh_n128_s3_k32(WGH_ARGS) { gemm_wgh_impl<128, 3, 32>(WGH_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) gemm_wgh_n64_s3_k64(WGH_ARGS) { gemm_wgh_impl<64, 3, 64>(WGH_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) gemm_wgh_n128_s3_k64(WGH_ARGS) { gemm_wgh_impl<128, 3, 64>(WGH_PASS); }
// prefetch distance 2 and more (ninth session, call 3)
extern "C" __global__ void __launch_bounds__(256, 1) gemm_wgh_n128_s3_k64_pd2d(WGH_ARGS) { gemm_wgh_impl<128, 3, 64, 2, true>(WGH_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) gemm_wgh_n128_s4_k32_pd2(WGH_ARGS) { gemm_wgh_impl<128, 4, 32, 2>(WGH_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) gemm_wgh_n128_s4_k32_pd3d(WGH_ARGS) { gemm_wgh_impl<128, 4, 32, 3, true>(WGH_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) gemm_wgh_n128_s5_k32_pd3(WGH_ARGS) { gemm_wgh_impl<128, 5, 32, 3>(WGH_PASS); }
// Veltkamp's split; three warpgroups (192 tokens a block)
extern "C" __global__ void __launch_bounds__(256, 1) gemm_wgh_n128_s3_k64_vk(WGH_ARGS) { gemm_wgh_impl<128, 3, 64, 1, false, 2, true>(WGH_PASS); }
extern "C" __global__ void __launch_bounds__(384, 1) gemm_wgh_m192_n128_s4_k32(WGH_ARGS) { gemm_wgh_impl<128, 4, 32, 2, false, 3>(WGH_PASS); }
extern "C" __global__ void __launch_bounds__(384, 1) gemm_wgh_m192_n128_s3_k32(WGH_ARGS) { gemm_wgh_impl<128, 3, 32, 1, false, 3>(WGH_PASS); }

// per row of X: {sa, 1 / sa}, sa = 2^(14 - e) for the row's largest magnitude in [2^e, 2^(e+1)), 1 for a row of zeros
// or one that is not finite; a warp a row
extern "C" __global__ void row_scales(const float* __restrict__ X, int ldx, int tokens, int in, float2* __restrict__ rs) {
    long long t = (long long)blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP;
    if (t >= tokens) return;
    int lane = threadIdx.x % WARP;
    float m = 0.0f;
    for (int k = lane; k < in; k += WARP) m = fmaxf(m, fabsf(X[t * ldx + k]));
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    if (lane == 0) {
        int c = 0;
        if (m > 0.0f && __float_as_uint(m) < 0x7f800000u) c = min(126, 141 - (int)(__float_as_uint(m) >> 23));   // 14 - unbiased exponent
        rs[t] = make_float2(exp2f((float)c), exp2f((float)-c));
    }
}

// The A-split-first prototypes (row_split, gemm_whs_n128_s3_pd1 / _pd2d; tenth session) were measured in the eleventh
// (at commit 3563572: `bash .gpu/run.sh hsplit`) and shipped as row_split and gemm_whs_f16x3_n128 in mamba.cu.
