"""The forecaster module (HF `MambaModel` backbone + input_proj + head) and its export format.

Needs torch + transformers (the GPU machine has them). Format: see scripts/forecaster/README.md
and the forecaster-format section of the lead's design: config.json = MambaConfig.to_dict() plus a
"flink_mamba" object; model.safetensors (F32) = backbone.* (HF names) + input_proj.{weight,bias}
+ head.{weight,bias}.
"""
import json
import math
import os
import tempfile

import torch
from torch import nn
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import MambaConfig, MambaModel

LOG_VAR_MIN, LOG_VAR_MAX = -9.0, 6.0
LOG_2PI = 1.8378770664093453

# config.json fields that only choose a forward path in transformers (not part of the model):
# reset to MambaConfig's defaults before export so HF tooling takes its usual path.
_PATH_FLAGS = ("use_mambapy", "use_associative_scan")


def mamba_config(hidden, layers, state=16, conv_kernel=4, expand=2, use_bias=False, scan="default"):
    kw = dict(vocab_size=1, hidden_size=hidden, state_size=state, num_hidden_layers=layers,
              expand=expand, conv_kernel=conv_kernel, use_bias=use_bias, use_conv_bias=True,
              pad_token_id=0, bos_token_id=0, eos_token_id=0, use_cache=False)
    if scan == "mambapy":
        kw["use_mambapy"] = True
    elif scan == "loop":
        kw["use_associative_scan"] = False
    cfg = MambaConfig(**kw)
    cfg.architectures = ["MambaModel"]
    return cfg


def _parallel_scan(a, b):
    """s_t = a_t * s_{t-1} + b_t along dim 1 from s_{-1} = 0 (Hillis-Steele, log2(L) steps)."""
    length, d = a.shape[1], 1
    while d < length:
        b = b + a * F.pad(b[:, :-d], (0, 0, 0, 0, d, 0))
        a = a * F.pad(a[:, :-d], (0, 0, 0, 0, d, 0), value=1.0)
        d *= 2
    return b


def fast_mixer(mx, h):
    """HF MambaMixer's math on its own parameters, with a parallel scan instead of a per-event loop.

    transformers 5.17 without mamba_ssm runs a Python loop over the sequence (about 2.7 s per
    training step of 64 x 1024 events here); this computes the same function (checked against
    HF's forward before training, see train.py) in about log2(L) tensor steps."""
    bsz, length, _ = h.shape
    e, n = mx.A_log.shape
    r = mx.dt_proj.weight.shape[1]
    k = mx.conv1d.weight.shape[-1]
    xz = mx.in_proj(h)
    x, z = xz[..., :e], xz[..., e:]
    x = F.conv1d(x.transpose(1, 2), mx.conv1d.weight, mx.conv1d.bias, padding=k - 1, groups=e)[..., :length]
    x = F.silu(x.transpose(1, 2))
    delta, bm, cm = mx.x_proj(x).split([r, n, n], dim=-1)
    dt = F.softplus(mx.dt_proj(delta))
    a = torch.exp(dt[..., None] * -torch.exp(mx.A_log.float()))          # [B, L, E, N]
    b = dt[..., None] * bm[:, :, None, :] * x[..., None]
    s = _parallel_scan(a, b)
    y = (s * cm[:, :, None, :]).sum(-1) + x * mx.D
    return mx.out_proj(y * F.silu(z))


def fast_backbone(backbone, u):
    h = u
    for layer in backbone.layers:
        h = h + fast_mixer(layer.mixer, layer.norm(h))
    return backbone.norm_f(h)


class Forecaster(nn.Module):
    """z (clipped) [B, L, F] -> (mu, logvar) [B, L, F]: the forecast of z at the next event."""

    def __init__(self, config, num_features, clip=10.0):
        super().__init__()
        self.num_features = num_features
        self.clip = clip
        self.fast = False        # True: fast_backbone (training); False: HF's own forward
        self.backbone = MambaModel(config)
        self.input_proj = nn.Linear(num_features, config.hidden_size)
        self.head = nn.Linear(config.hidden_size, 2 * num_features)
        with torch.no_grad():                    # start at the normaliser's own forecast N(0, 1)
            self.head.weight.mul_(0.1)
            self.head.bias.zero_()

    def forward(self, z):
        u = self.input_proj(z.clamp(-self.clip, self.clip))
        if self.fast:
            y = fast_backbone(self.backbone, u)
        else:
            y = self.backbone(inputs_embeds=u, use_cache=False).last_hidden_state
        o = self.head(y)
        f = self.num_features
        return o[..., :f], o[..., f:].clamp(LOG_VAR_MIN, LOG_VAR_MAX)


def nll(target, mu, logvar):
    return 0.5 * (LOG_2PI + logvar + (target - mu) ** 2 * torch.exp(-logvar))


def state_dict_for_export(model):
    sd = {}
    for k, v in model.backbone.state_dict().items():
        sd["backbone." + k] = v
    for k, v in model.input_proj.state_dict().items():
        sd["input_proj." + k] = v
    for k, v in model.head.state_dict().items():
        sd["head." + k] = v
    return {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in sd.items()}


def export(model, out_dir, flink_mamba, model_md):
    """Writes config.json (MambaConfig.to_dict() + flink_mamba), model.safetensors (F32), MODEL.md."""
    os.makedirs(out_dir, exist_ok=True)
    cfg = MambaConfig.from_dict(model.backbone.config.to_dict())
    defaults = MambaConfig()
    for flag in _PATH_FLAGS:
        if hasattr(defaults, flag):
            setattr(cfg, flag, getattr(defaults, flag))
    with tempfile.TemporaryDirectory() as tmp:
        cfg.save_pretrained(tmp)
        with open(os.path.join(tmp, "config.json")) as f:
            d = json.load(f)
    d["flink_mamba"] = flink_mamba
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(d, f, indent=2)
        f.write("\n")
    save_file(state_dict_for_export(model), os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out_dir, "MODEL.md"), "w") as f:
        f.write(model_md)


def flink_mamba_block(num_features, feature_names, version, training, alpha=0.01, min_scale_rel=0.001, clip=10.0):
    return {
        "kind": "forecaster", "format_version": 1,
        "num_features": num_features, "feature_names": list(feature_names),
        "version": version,
        "normaliser": {"alpha": alpha, "min_scale_rel": min_scale_rel, "clip": clip},
        "log_var_min": LOG_VAR_MIN, "log_var_max": LOG_VAR_MAX,
        "training": training,
    }


def load_exported(model_dir, device="cpu"):
    """Rebuilds a Forecaster from an exported directory (strict: every tensor must match)."""
    from safetensors.torch import load_file
    with open(os.path.join(model_dir, "config.json")) as f:
        d = json.load(f)
    fm = d.pop("flink_mamba")
    cfg = MambaConfig.from_dict(d)
    m = Forecaster(cfg, fm["num_features"], fm["normaliser"]["clip"])
    sd = load_file(os.path.join(model_dir, "model.safetensors"))
    own = {}
    for k, v in sd.items():
        own[k] = v
    missing, unexpected = [], []
    msd = {("backbone." + k): v for k, v in m.backbone.state_dict().items()}
    msd.update({"input_proj." + k: v for k, v in m.input_proj.state_dict().items()})
    msd.update({"head." + k: v for k, v in m.head.state_dict().items()})
    missing = sorted(set(msd) - set(own))
    unexpected = sorted(set(own) - set(msd))
    if missing or unexpected:
        raise ValueError(f"{model_dir}: missing {missing}, unexpected {unexpected}")
    m.backbone.load_state_dict({k[len("backbone."):]: v for k, v in own.items() if k.startswith("backbone.")})
    m.input_proj.load_state_dict({k[len("input_proj."):]: v for k, v in own.items() if k.startswith("input_proj.")})
    m.head.load_state_dict({k[len("head."):]: v for k, v in own.items() if k.startswith("head.")})
    return m.to(device), fm


def randomize(model, seed):
    """Every parameter drawn from a fixed seed, away from HF's defaults (for the random fixture model)."""
    g = torch.Generator().manual_seed(seed)

    def randn(shape):
        return torch.randn(shape, generator=g, dtype=torch.float64)

    def rand(shape):
        return torch.rand(shape, generator=g, dtype=torch.float64)

    with torch.no_grad():
        for name, p in model.named_parameters():
            shape = tuple(p.shape)
            if name.endswith("norm.weight") or name.endswith("norm_f.weight"):
                v = 0.7 + 0.6 * rand(shape)
            elif name.endswith("A_log"):
                n = torch.arange(1, shape[1] + 1, dtype=torch.float64)[None, :].expand(shape)
                v = torch.log(n) + 0.3 * randn(shape)
            elif name.endswith("mixer.D"):
                v = 1.0 + 0.5 * randn(shape)
            elif name.endswith("dt_proj.bias"):
                dt = torch.exp(math.log(0.01) + rand(shape) * (math.log(0.3) - math.log(0.01)))
                v = dt + torch.log(-torch.expm1(-dt))
            elif name.endswith("conv1d.weight"):
                v = randn(shape) / math.sqrt(shape[2])
            elif name.endswith(".bias"):
                v = 0.2 * randn(shape)
            elif name.endswith("dt_proj.weight"):
                v = 0.5 * randn(shape) / math.sqrt(shape[1])
            elif name.startswith("head."):
                v = 0.5 * randn(shape) / math.sqrt(shape[1])
            else:
                v = randn(shape) / math.sqrt(shape[-1])
            p.copy_(v.to(p.dtype))
