"""Float64 per-event reference of the forecaster format, written from the format text (numpy only).

This is deliberately NOT the training code path. Training (model.py) precomputes z for a whole
sequence (normaliser.normalise), then runs HF's `MambaModel(inputs_embeds=...)` over the whole
sequence at once in float32 on the GPU (parallel scan) and reads (mu, logvar) for every event.
Here every event goes through steps 1-5 of the format one at a time, with its own normaliser
stats, its own recurrent Mamba state (conv window [E, K-1] + SSM state [E, N] per layer, the
equations of mamba-block.md) and every operation in float64 on the F32 weights read from
model.safetensors by a hand-written reader.

`run_stream(model, x)` returns, per event t of one key (x [L, F]):
  z [L, F]          step 1 (z_0 = 0)
  score [L]         step 2 (NaN at t = 0: no forecast yet)
  forecast [L, F]   step 2, raw units m_prev + s_prev * mu (NaN at t = 0)
  forecast_std [L, F]  s_prev * exp(logvar / 2) (NaN at t = 0)
  mean, var [L, F]  the stats after step 3
  mu, logvar [L, F] step 5: the forecast of z_{t+1} made at t (logvar clamped)
  hidden [L, D]     the backbone's output y_t after norm_f
"""
import json
import math
import os
import struct

import numpy as np

_NP = {"F64": "<f8", "F32": "<f4", "F16": "<f2"}


def load_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    out = {}
    for k, v in header.items():
        a, b = v["data_offsets"]
        if v["dtype"] == "BF16":
            bits = np.frombuffer(data[a:b], dtype="<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32)
        else:
            arr = np.frombuffer(data[a:b], dtype=_NP[v["dtype"]])
        out[k] = arr.astype(np.float64).reshape(v["shape"])
    return out


class ReferenceForecaster:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            self.cfg = json.load(f)
        fm = self.cfg["flink_mamba"]
        self.F = fm["num_features"]
        self.alpha = fm["normaliser"]["alpha"]
        self.min_scale_rel = fm["normaliser"]["min_scale_rel"]
        self.clip = fm["normaliser"]["clip"]
        self.lv_min, self.lv_max = fm["log_var_min"], fm["log_var_max"]
        self.D = self.cfg["hidden_size"]
        self.E = self.cfg.get("intermediate_size") or int(self.cfg.get("expand", 2) * self.D)
        r = self.cfg.get("time_step_rank", "auto")
        self.R = math.ceil(self.D / 16) if r == "auto" else int(r)
        self.N = self.cfg["state_size"]
        self.K = self.cfg["conv_kernel"]
        self.layers = self.cfg["num_hidden_layers"]
        self.eps = self.cfg["layer_norm_epsilon"]
        sd = load_safetensors(os.path.join(model_dir, "model.safetensors"))
        self.w = sd
        assert sd["input_proj.weight"].shape == (self.D, self.F)
        assert sd["head.weight"].shape == (2 * self.F, self.D)

    def _rmsnorm(self, h, w):
        return w * (h / np.sqrt(np.mean(h * h) + self.eps))

    def _block_step(self, i, x, conv, ssm):
        """One event through layer i: x [D] -> x + out; conv [E, K-1] and ssm [E, N] updated in place."""
        p = f"backbone.layers.{i}."
        w = self.w
        h = self._rmsnorm(x, w[p + "norm.weight"])
        xz = w[p + "mixer.in_proj.weight"] @ h
        if p + "mixer.in_proj.bias" in w:
            xz = xz + w[p + "mixer.in_proj.bias"]
        u, z = xz[:self.E], xz[self.E:]
        window = np.concatenate([conv, u[:, None]], axis=1)      # [E, K]: u_{t-K+1} .. u_t
        c = np.sum(w[p + "mixer.conv1d.weight"][:, 0, :] * window, axis=1)
        if p + "mixer.conv1d.bias" in w:
            c = c + w[p + "mixer.conv1d.bias"]
        conv[:, :] = window[:, 1:]
        u = c / (1.0 + np.exp(-c))                                # silu
        dbc = w[p + "mixer.x_proj.weight"] @ u
        delta, bm, cm = dbc[:self.R], dbc[self.R:self.R + self.N], dbc[self.R + self.N:]
        y = w[p + "mixer.dt_proj.weight"] @ delta + w[p + "mixer.dt_proj.bias"]
        dt = np.where(y > 20, y, np.log1p(np.exp(np.minimum(y, 20))))   # softplus
        a = -np.exp(w[p + "mixer.A_log"])                         # [E, N]
        ssm[:, :] = np.exp(dt[:, None] * a) * ssm + dt[:, None] * bm[None, :] * u[:, None]
        yy = ssm @ cm + w[p + "mixer.D"] * u
        yy = yy * (z / (1.0 + np.exp(-z)))
        out = w[p + "mixer.out_proj.weight"] @ yy
        if p + "mixer.out_proj.bias" in w:
            out = out + w[p + "mixer.out_proj.bias"]
        return x + out

    def run_stream(self, x):
        x = np.asarray(x, dtype=np.float64)
        L, F = x.shape
        assert F == self.F, (F, self.F)
        n, m, v = 0, np.zeros(F), np.zeros(F)
        conv = [np.zeros((self.E, self.K - 1)) for _ in range(self.layers)]
        ssm = [np.zeros((self.E, self.N)) for _ in range(self.layers)]
        mu, logvar = None, None
        res = {k: np.full((L, F), np.nan) for k in ("z", "forecast", "forecast_std", "mean", "var", "mu", "logvar")}
        res["score"] = np.full(L, np.nan)
        res["hidden"] = np.zeros((L, self.D))
        for t in range(L):
            # 1. normalise with the stats before this event
            s = np.maximum(np.sqrt(v), self.min_scale_rel * (1.0 + np.abs(m)))
            z = np.zeros(F) if n == 0 else (x[t] - m) / s
            res["z"][t] = z
            # 2. score against the forecast made at the previous event (unclipped z)
            if n > 0:
                nll = 0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 / np.exp(logvar))
                res["score"][t] = nll.mean()
                res["forecast"][t] = m + s * mu
                res["forecast_std"][t] = s * np.exp(logvar / 2)
            # 3. update the stats
            a = max(self.alpha, 1.0 / (n + 1))
            d = x[t] - m
            m = m + a * d
            v = (1 - a) * (v + a * d * d)
            n += 1
            res["mean"][t], res["var"][t] = m, v
            # 4. input projection of the clipped z, one step of every layer, norm_f
            hcur = self.w["input_proj.weight"] @ np.clip(z, -self.clip, self.clip) + self.w["input_proj.bias"]
            for i in range(self.layers):
                hcur = self._block_step(i, hcur, conv[i], ssm[i])
            y = self._rmsnorm(hcur, self.w["backbone.norm_f.weight"])
            res["hidden"][t] = y
            # 5. head: forecast of z_{t+1}
            o = self.w["head.weight"] @ y + self.w["head.bias"]
            mu, logvar = o[:F], np.clip(o[F:], self.lv_min, self.lv_max)
            res["mu"][t], res["logvar"][t] = mu, logvar
        return res
