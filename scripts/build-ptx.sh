#!/usr/bin/env bash
# Builds the shipped GPU kernels from kernels/src/main/cuda/mamba.cu:
#   mamba.ptx.gz   (compute_90 PTX, JIT-compiled by the driver on any sm_90+ GPU)
#   mamba.sm_90a.cubin.gz (ready for H100/H200, no JIT; sm_90a adds the warpgroup-MMA projection kernels, which
#                          the PTX leaves out: they exist only on sm_90)
# into kernels/src/main/resources/io/flinkmamba/kernels/gpu/, gzip-compressed (GpuContext inflates them: the PTX
# is 6 MB of text, and the device tool carries the checkout in 64 MiB). Fixed flags, so the output is
# reproducible; ShippedKernelsTest rebuilds into a temp dir and compares the inflated bytes.
# Usage: scripts/build-ptx.sh [outdir]   (needs nvcc; NVCC=/path/to/nvcc to override)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/kernels/src/main/cuda/mamba.cu"
out="${1:-$root/kernels/src/main/resources/io/flinkmamba/kernels/gpu}"
nvcc="${NVCC:-nvcc}"
mkdir -p "$out"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
flags=(-std=c++17 -O3 --fmad=true -Xptxas -O3)
cd "$(dirname "$src")"
"$nvcc" "${flags[@]}" -arch=compute_90 -ptx mamba.cu -o "$tmp/mamba.ptx"
"$nvcc" "${flags[@]}" -arch=sm_90a -cubin mamba.cu -o "$tmp/mamba.sm_90a.cubin"
for f in mamba.ptx mamba.sm_90a.cubin; do
  gzip -9 -n -c "$tmp/$f" > "$out/$f.gz"   # -n: no name or time stamp in the header
done
