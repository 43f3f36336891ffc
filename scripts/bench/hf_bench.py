#!/usr/bin/env python3
"""Hugging Face MambaModel on the GPU, for the shapes of GpuBench (docs/benchmarks.md, GPU section).

float32, zero initial state, inputs_embeds [keys, events, hidden], no cache, inference mode.
Runs HF's default configuration (use_mambapy=False). In transformers 5.x the mixer's conv and scan
functions resolve at import time to, in order: hub kernels (only with `kernels` installed and
network access), the mamba_ssm / causal_conv1d packages, else the torch-only code: the recurrent
"slow path". The script prints what they resolved to: when it is the torch code, the default path
IS the slow path and one column serves both.
Keys go in sub-batches that fit in memory (the slow path materialises [B, E, L, N] tensors); the
time is the sum over all sub-batches, synchronised, after a warm-up. Usage: hf_bench.py [quick]
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
# bytes of one [B, E, L, N] float32 tensor allowed per sub-batch (a few are alive at once)
SLOW_BYTES = 3 << 30


def describe(fn):
    inner = getattr(fn, "__wrapped__", fn)
    return f"{getattr(inner, '__module__', '?')}.{getattr(inner, '__qualname__', repr(inner))}"


def main():
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"device {torch.cuda.get_device_name(0)}")
    for mod in ("mamba_ssm", "causal_conv1d", "kernels", "mambapy"):
        try:
            __import__(mod)
            print(f"{mod}: importable")
        except Exception as e:  # noqa: BLE001 - report whatever stops it
            print(f"{mod}: not importable ({type(e).__name__})")
    for name in ("mamba_selective_scan", "causal_conv1d_fn", "mamba_inner_fn"):
        fn = getattr(modeling_mamba, name, None)
        print(f"modeling_mamba.{name} -> {describe(fn) if fn else 'absent'}")
    print()
    print("| hidden | layers | keys | events/key | HF default (= slow path here) events/s | seconds |")
    print("|---|---|---|---|---|---|")
    for hidden, layers, keys, length in SHAPES:
        cfg = MambaConfig(hidden_size=hidden, state_size=16, num_hidden_layers=layers, vocab_size=16)
        torch.manual_seed(0)
        model = MambaModel(cfg).cuda().eval()
        x = torch.randn(keys, length, hidden, device="cuda")
        sub = max(1, min(keys, SLOW_BYTES // (4 * 2 * hidden * length * 16)))
        with torch.inference_mode():
            model(inputs_embeds=x[:min(sub, 256)], use_cache=False)  # warm-up
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for i in range(0, keys, sub):
                model(inputs_embeds=x[i:i + sub], use_cache=False)
            torch.cuda.synchronize()
            secs = time.perf_counter() - t0
        print(f"| {hidden} | {layers} | {keys} | {length} | {keys * length / secs:.3g} | {secs:.2f} |", flush=True)
        del model, x
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
