#!/usr/bin/env python3
"""Hugging Face MambaModel on the GPU, for the shapes of GpuBench (docs/benchmarks.md, GPU section).

Two runs per shape, float32, zero initial state, inputs_embeds [keys, events, hidden]:
  slow    - MambaMixer.slow_forward forced (the pure PyTorch path; use_mambapy=False)
  default - whatever HF picks by itself (cuda_kernels_forward when mamba_ssm + causal_conv1d are
            importable, else the slow path); the path that actually ran is reported.
Keys are fed in sub-batches that fit in memory (the slow path materialises [B, E, L, N]); the time
is the sum over all sub-batches, synchronised. Usage: hf_bench.py [quick]
"""
import sys
import time

import torch
import transformers
from transformers import MambaConfig, MambaModel
from transformers.models.mamba import modeling_mamba

QUICK = len(sys.argv) > 1 and sys.argv[1] == "quick"
SHAPES = [(64, 2, 4096, 16), (64, 2, 4096, 64)] if QUICK else [
    (64, 2, 4096, 16), (64, 2, 4096, 256), (64, 2, 100_000, 16), (64, 2, 100_000, 64),
    (64, 4, 100_000, 64), (256, 2, 4096, 64), (256, 4, 16_384, 64)]
# bytes of the slow path's [B, E, L, N] float32 tensors we allow per sub-batch (several live at once)
SLOW_BYTES = 3 << 30


def build(hidden, layers):
    cfg = MambaConfig(hidden_size=hidden, state_size=16, num_hidden_layers=layers, vocab_size=16,
                      use_mambapy=False)
    torch.manual_seed(0)
    return MambaModel(cfg).cuda().eval()


def instrument(model, force_slow):
    """Counts which mixer path runs; with force_slow, routes the fast path to the slow one."""
    counts = {"cuda_kernels_forward": 0, "slow_forward": 0}
    for layer in model.layers:
        mixer = layer.mixer
        slow, fast = mixer.slow_forward, getattr(mixer, "cuda_kernels_forward", None)

        def slow_counted(*a, _slow=slow, **k):
            counts["slow_forward"] += 1
            return _slow(*a, **k)

        def fast_counted(*a, _fast=fast, **k):
            counts["cuda_kernels_forward"] += 1
            return _fast(*a, **k)

        mixer.slow_forward = slow_counted
        if fast is not None:
            mixer.cuda_kernels_forward = slow_counted if force_slow else fast_counted
    return counts


def run(model, x, sub):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, x.shape[0], sub):
            model(inputs_embeds=x[i:i + sub], use_cache=False)
    torch.cuda.synchronize()
    return time.perf_counter() - t0


def main():
    fast_avail = getattr(modeling_mamba, "is_fast_path_available", None)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"device {torch.cuda.get_device_name(0)}, modeling_mamba.is_fast_path_available={fast_avail}")
    for mod in ("mamba_ssm", "causal_conv1d"):
        try:
            __import__(mod)
            print(f"{mod}: importable")
        except Exception as e:  # noqa: BLE001 - report whatever stops it
            print(f"{mod}: not importable ({type(e).__name__}: {e})")
    print()
    print("| hidden | layers | keys | events/key | HF slow path events/s | HF default path events/s | default path ran |")
    print("|---|---|---|---|---|---|---|")
    for hidden, layers, keys, length in SHAPES:
        x = torch.randn(keys, length, hidden, device="cuda")
        sub = max(1, min(keys, SLOW_BYTES // (4 * 2 * hidden * length * 16)))
        results = []
        for force_slow in (True, False):
            model = build(hidden, layers)
            counts = instrument(model, force_slow)
            with torch.inference_mode():
                model(inputs_embeds=x[:min(sub, 64)], use_cache=False)  # warm-up
            best = min(run(model, x, sub) for _ in range(2))
            results.append((keys * length / best, dict(counts)))
            del model
            torch.cuda.empty_cache()
        slow_eps, _ = results[0]
        dflt_eps, dflt_counts = results[1]
        ran = "+".join(k for k, v in dflt_counts.items() if v) or "none"
        print(f"| {hidden} | {layers} | {keys} | {length} | {slow_eps:.3g} | {dflt_eps:.3g} | {ran} |", flush=True)
        del x
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
