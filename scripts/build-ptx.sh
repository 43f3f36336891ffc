#!/usr/bin/env bash
# Builds the shipped GPU kernels from kernels/src/main/cuda/mamba.cu:
#   mamba.ptx   (compute_90 PTX, JIT-compiled by the driver on any sm_90+ GPU)
#   mamba.sm_90.cubin (ready for H100/H200, no JIT)
# into kernels/src/main/resources/io/flinkmamba/kernels/gpu/. Fixed flags, so the output is
# reproducible; GpuShippedKernelsTest rebuilds into a temp dir and compares.
# Usage: scripts/build-ptx.sh [outdir]   (needs nvcc; NVCC=/path/to/nvcc to override)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/kernels/src/main/cuda/mamba.cu"
out="${1:-$root/kernels/src/main/resources/io/flinkmamba/kernels/gpu}"
nvcc="${NVCC:-nvcc}"
mkdir -p "$out"
flags=(-std=c++17 -O3 --fmad=true -Xptxas -O3)
cd "$(dirname "$src")"
"$nvcc" "${flags[@]}" -arch=compute_90 -ptx mamba.cu -o "$out/mamba.ptx"
"$nvcc" "${flags[@]}" -arch=sm_90 -cubin mamba.cu -o "$out/mamba.sm_90.cubin"
