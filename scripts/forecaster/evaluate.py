#!/usr/bin/env python3
"""Held-out step-2 scores of exported forecasters next to the model-free peers (needs torch).

  python3 scripts/forecaster/evaluate.py --out eval.json models/general-univariate models/sensor-multivariate models/trade

For each directory: the preset's held-out pool (its eval seed) scored by the model and by the
"normaliser" (mu=0, logvar=0) and "last-value" peers (normaliser.naive_scores); for the univariate
model also one pool per signal kind (seeds 921..931). Also the largest |difference| of (mu, logvar)
between the fast training forward and HF's own forward on 4 x 300 held-out events, TF32 off.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import normaliser as nz  # noqa: E402
import signals  # noqa: E402
from model import load_exported  # noqa: E402
from train import PRESETS  # noqa: E402

SKIP = 16


def scores(model, raw, dev):
    z, _, scales = nz.normalise(raw, return_stats=True)
    zt = torch.tensor(z, dtype=torch.float32, device=dev)
    mus, lvs = [], []
    with torch.no_grad():
        for a in range(0, len(zt), 128):
            mu, lv = model(zt[a:a + 128, :-1])
            mus.append(mu.double().cpu().numpy())
            lvs.append(lv.double().cpu().numpy())
    per = {"model": nz.gaussian_nll(z[:, 1:], np.concatenate(mus), np.concatenate(lvs)).mean(-1)[:, SKIP - 1:]}
    per.update(nz.naive_scores(z, scales, skip=SKIP - 1))
    return {k: {"mean": round(float(v.mean()), 4), "median": round(float(np.median(v)), 4)} for k, v in per.items()}


def per_event(model, raw, dev):
    z, _, scales = nz.normalise(raw, return_stats=True)
    zt = torch.tensor(z, dtype=torch.float32, device=dev)
    mus, lvs = [], []
    with torch.no_grad():
        for a in range(0, len(zt), 128):
            mu, lv = model(zt[a:a + 128, :-1])
            mus.append(mu.double().cpu().numpy())
            lvs.append(lv.double().cpu().numpy())
    per = {"model": nz.gaussian_nll(z[:, 1:], np.concatenate(mus), np.concatenate(lvs)).mean(-1)}
    per.update(nz.naive_scores(z, scales, skip=0))
    return per                                                      # [B, L-1]: index t = event t+1


def after_spike(model, clean, spiked, dev):
    a, b = per_event(model, clean, dev), per_event(model, spiked, dev)
    return {k: round(float((b[k][:, 500:530] - a[k][:, 500:530]).mean()), 4) for k in a}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--seqs", type=int, default=512)
    p.add_argument("dirs", nargs="+")
    a = p.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = False
    res = {}
    for d in a.dirs:
        name = os.path.basename(os.path.normpath(d))
        pre = PRESETS[name]
        m, fm = load_exported(d, dev)
        m.train()
        m.fast = True
        raw = signals.make_pool(pre["family"], a.seqs, 1024, pre["eval_seed"])
        r = {"held_out": scores(m, raw, dev), "eval_seed": pre["eval_seed"],
             "sequences": a.seqs}
        z = torch.tensor(nz.normalise(raw[:4, :300]), dtype=torch.float32, device=dev)
        with torch.no_grad():
            m.fast = True
            x = m(z)
            m.fast = False
            y = m(z)
            m.fast = True
        r["fast_vs_hf_forward_max_abs_diff_tf32_off"] = float(f"{max(float((u - v).abs().max()) for u, v in zip(x, y)):.3e}")
        # one spike at event 500 in every held-out sequence: excess score over the clean stream on the
        # 30 events after it (how long the forecaster stays thrown by one outlier in its input)
        spiked, _ = signals.inject_spikes(np.random.default_rng(941), raw, at=500)
        r["after_spike_excess_events_501_530"] = after_spike(m, raw, spiked, dev)
        if pre["family"] == "univariate":
            kinds = {}
            for i, kind in enumerate(signals.UNIVARIATE):
                rng = np.random.default_rng(921 + i)
                kinds[kind] = scores(m, signals.univariate(rng, 128, 1024, only=kind), dev)
            r["by_kind"] = kinds
        res[name] = r
        print(name, json.dumps(r), flush=True)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
