#!/usr/bin/env python3
"""Float64 reference fixtures for a forecaster directory (numpy; torch optional for the cross-check).

  python3 scripts/forecaster/make_fixtures.py --model models/general-univariate --name general-univariate \
      --out kernels/src/test/resources/fixtures/forecaster-general-univariate

Writes <out>/model/ (a copy of the model directory), <out>/<key>/*.npy per key and <out>/meta.json.
Expected values come from reference.py (per event, float64, literally the format's steps 1-5). When
torch + transformers are importable, the same streams also go through the training code path
(normaliser.normalise over the whole stream + the HF MambaModel forward in float32 and in float64 on
CPU) and the largest differences are recorded in meta.json ("cross_check").
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import normaliser as nz  # noqa: E402
from reference import ReferenceForecaster  # noqa: E402

SEED = 7   # < 1000: training-side seed space


def keys_for(num_features, rng):
    """Raw inputs of a few keys, [L, F] each: different lengths, constant stretches, a spike."""
    F = num_features
    keys = {}
    t = np.arange(300)[:, None]
    x = 20 + 3 * np.sin(2 * np.pi * t / 25 + np.arange(F)[None, :]) + 0.3 * rng.standard_normal((300, F))
    x[200] += 8 * 3                                                # spike at event 200
    keys["sine-spike"] = x
    x = np.cumsum(rng.standard_normal((160, F)), axis=0) + 5
    x[40:100] = x[40]                                              # constant stretch, then moves again
    keys["constant-stretch"] = x
    keys["large-offset"] = 1e6 + 0.01 * rng.standard_normal((80, F))   # min_scale_rel dominates
    keys["counts"] = rng.poisson(3.0, size=(120, F)).astype(np.float64)
    keys["single-event"] = rng.standard_normal((1, F))
    keys["two-events"] = rng.standard_normal((2, F)) * 10
    keys["constant-from-start"] = np.full((40, F), 2.5)           # n > 0 but var stays 0
    # runtimes take float32 features: make every input exactly representable so both read the same x
    return {k: v.astype(np.float32).astype(np.float64) for k, v in keys.items()}


def cross_check(model_dir, keys, expected):
    try:
        import torch
        from model import load_exported
    except ImportError as e:
        return {"skipped": f"torch/transformers not importable here: {e}"}
    out = {}
    for dtype in (torch.float32, torch.float64):
        m, fm = load_exported(model_dir)
        m = m.to(dtype).train()   # train() = no dropout anyway; CPU path (no CUDA kernels)
        worst = {"mu": 0.0, "logvar": 0.0}
        for name, x in keys.items():
            z = nz.normalise(x, fm["normaliser"]["alpha"], fm["normaliser"]["min_scale_rel"])
            with torch.no_grad():
                mu, lv = m(torch.tensor(z[None], dtype=dtype))
            for k, got in (("mu", mu), ("logvar", lv)):
                want = expected[name][k]
                worst[k] = max(worst[k], float(np.max(np.abs(got[0].double().numpy() - want))))
        out[str(dtype).replace("torch.", "")] = {k: float(f"{v:.3e}") for k, v in worst.items()}
    return {"max_abs_diff_training_path_vs_reference": out,
            "note": "training path = whole-stream normalise + HF MambaModel forward on CPU "
                    "(the float64 run still rounds RMSNorm, the residual, A, B, u, D, dt bias to float32 inside HF)"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    ref = ReferenceForecaster(a.model)
    rng = np.random.default_rng(SEED)
    keys = keys_for(ref.F, rng)
    os.makedirs(a.out, exist_ok=True)
    mdir = os.path.join(a.out, "model")
    if os.path.abspath(mdir) != os.path.abspath(a.model):
        shutil.rmtree(mdir, ignore_errors=True)
        os.makedirs(mdir)
        for f in ("config.json", "model.safetensors", "MODEL.md"):
            if os.path.exists(os.path.join(a.model, f)):
                shutil.copy(os.path.join(a.model, f), mdir)
    expected = {}
    meta = {"name": a.name, "seed": SEED, "num_features": ref.F, "hidden_size": ref.D, "keys": {}}
    for name, x in keys.items():
        r = ref.run_stream(x)
        expected[name] = r
        d = os.path.join(a.out, name)
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "x.npy"), x.astype(np.float64))
        for k, v in r.items():
            np.save(os.path.join(d, f"{k}.npy"), v.astype(np.float64))
        finite = r["score"][1:]
        meta["keys"][name] = {"length": int(len(x)), "max_score": float(np.max(finite)) if len(finite) else None,
                              "score_at_200": float(r["score"][200]) if len(x) > 200 else None}
    meta["cross_check"] = cross_check(a.model, keys, expected)
    old_meta = os.path.join(a.out, "meta.json")
    if "skipped" in meta["cross_check"] and os.path.exists(old_meta):
        with open(old_meta) as f:
            old = json.load(f).get("cross_check", {})
        if "max_abs_diff_training_path_vs_reference" in old:
            old["note"] = old.get("note", "") + ("; measured by an earlier run of this script on the same model and "
                                                 "keys before x was rounded to float32 (torch was not importable now)")
            meta["cross_check"] = old
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
