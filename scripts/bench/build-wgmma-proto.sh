#!/usr/bin/env bash
# Builds the wgmma GEMM prototype (kernels/src/test/cuda/wgmma_proto.cu, not shipped) into a gzipped sm_90a cubin
# test resource, for WgmmaProtoBench on the GPU machine. wgmma exists only on sm_90a, so no PTX fallback.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/kernels/src/test/resources/io/flinkmamba/kernels/gpu"
mkdir -p "$out"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
"${NVCC:-nvcc}" -std=c++17 -O3 -Xptxas -O3 -arch=sm_90a -cubin "$root/kernels/src/test/cuda/wgmma_proto.cu" \
  -o "$tmp/wgmma_proto.sm_90a.cubin"
gzip -9 -n -c "$tmp/wgmma_proto.sm_90a.cubin" > "$out/wgmma_proto.sm_90a.cubin.gz"
