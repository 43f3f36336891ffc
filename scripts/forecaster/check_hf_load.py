#!/usr/bin/env python3
"""Checks that transformers' MambaModel.from_pretrained(dir) loads the backbone of exported forecasters.

  python3 scripts/forecaster/check_hf_load.py models/general-univariate models/sensor-multivariate ...

For each directory: loads it with MambaModel.from_pretrained (output_loading_info), checks that no
backbone tensor is missing, that the only unexpected keys are the forecaster's input_proj/head,
that every loaded tensor equals the file's, and that its output on random inputs_embeds equals the
backbone of the Forecaster rebuilt by model.load_exported. Prints one JSON line per directory;
exit status 1 on any failure.
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file
from transformers import MambaModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import load_exported  # noqa: E402


def check(d):
    hf, info = MambaModel.from_pretrained(d, output_loading_info=True)
    hf = hf.float().eval()
    sd = load_file(os.path.join(d, "model.safetensors"))
    missing = sorted(info.get("missing_keys", []))
    unexpected = sorted(info.get("unexpected_keys", []))
    mismatched = [k for k, v in hf.state_dict().items() if not torch.equal(v, sd["backbone." + k])]
    fc, _ = load_exported(d)
    fc = fc.float().eval()
    x = torch.randn(2, 64, hf.config.hidden_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a = hf(inputs_embeds=x, use_cache=False).last_hidden_state
        b = fc.backbone(inputs_embeds=x, use_cache=False).last_hidden_state
    diff = float((a - b).abs().max())
    ok = (not missing and all(k.split(".")[0] in ("input_proj", "head") for k in unexpected)
          and not mismatched and diff == 0.0)
    return {"dir": d, "ok": ok, "missing": missing, "unexpected": unexpected,
            "mismatched": mismatched, "max_abs_diff_vs_forecaster_backbone": diff,
            "file_bytes": os.path.getsize(os.path.join(d, "model.safetensors"))}


def main():
    bad = 0
    for d in sys.argv[1:]:
        try:
            r = check(d)
        except Exception as e:  # report every directory
            r = {"dir": d, "ok": False, "error": f"{type(e).__name__}: {e}"}
        bad += not r["ok"]
        print(json.dumps(r), flush=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
