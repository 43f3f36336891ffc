"""The per-key online normaliser of the forecaster format (steps 1 and 3), in float64 numpy.

For a stream x [L, F] (or a batch [B, L, F]) `normalise` returns z [.., L, F]: z_t is x_t normalised
with the stats as they were BEFORE event t (z_0 = 0), exactly as the Java runtime does per event:

    scale s = max(sqrt(v), min_scale_rel * (1 + |m|));  z_t = (x_t - m) / s      (n == 0: z_t = 0)
    a = max(alpha, 1 / (n + 1));  d = x_t - m;  m += a * d;  v = (1 - a) * (v + a * d * d);  n += 1

The model reads clip(z_t, -clip, clip) and forecasts z_{t+1}, so training pairs are
(input clip(z[:-1]), target z[1:]) and the step-2 score uses the unclipped z.
"""
import numpy as np

DEFAULTS = {"alpha": 0.01, "min_scale_rel": 0.001, "clip": 10.0}
LOG_2PI = float(np.log(2.0 * np.pi))


def normalise(x, alpha=0.01, min_scale_rel=0.001, return_stats=False):
    """z (and optionally the stats used for each event: mean, scale [.., L, F]) for raw x."""
    x = np.asarray(x, dtype=np.float64)
    squeeze = x.ndim == 2
    if squeeze:
        x = x[None]
    b, length, f = x.shape
    m = np.zeros((b, f))
    v = np.zeros((b, f))
    z = np.zeros_like(x)
    means = np.zeros_like(x)
    scales = np.zeros_like(x)
    for t in range(length):
        s = np.maximum(np.sqrt(v), min_scale_rel * (1.0 + np.abs(m)))
        means[:, t], scales[:, t] = m, s
        if t > 0:
            z[:, t] = (x[:, t] - m) / s
        a = max(alpha, 1.0 / (t + 1))
        d = x[:, t] - m
        m = m + a * d
        v = (1.0 - a) * (v + a * d * d)
    if squeeze:
        z, means, scales = z[0], means[0], scales[0]
    return (z, means, scales) if return_stats else z


def gaussian_nll(z, mu, logvar):
    """Per-feature Gaussian NLL in normalised space, the step-2 score before the mean over F."""
    return 0.5 * (LOG_2PI + logvar + (z - mu) ** 2 / np.exp(logvar))


def naive_scores(z, scales, skip=16, alpha=0.01, log_var_min=-9.0, log_var_max=6.0):
    """Step-2 scores of two model-free peers on z, scales [B, L, F] (targets z[:, 1:]), events >= skip.

    - "normaliser": mu = 0, logvar = 0: the normaliser's own forecast (next value ~ N(mean, var)).
    - "last-value": mu = the last value x_t expressed in the next event's normalisation,
      (x_t - m_t) / s_t = (1 - a_t) * z_t * s_{t-1} / s_t, and logvar = log of a running mean of its
      own squared errors (weights max(alpha, 1/k) like the normaliser, fed from event `skip` on so the
      huge z of the normaliser's first events do not inflate it; 1 before), clamped like the model's.
    Returns {name: per-event mean-over-features score [B, L-1-skip]}.
    """
    tgt = z[:, 1:]
    out = {"normaliser": gaussian_nll(tgt, 0.0, 0.0).mean(-1)}
    b, n, f = tgt.shape
    err2 = np.ones((b, f))
    scores = np.empty((b, n, f))
    k = 0
    for t in range(n):
        a = max(alpha, 1.0 / (t + 1))
        mu = (1.0 - a) * z[:, t] * scales[:, t] / scales[:, t + 1]
        lv = np.clip(np.log(np.maximum(err2, 1e-300)), log_var_min, log_var_max)
        scores[:, t] = gaussian_nll(tgt[:, t], mu, lv)
        if t >= skip:
            k += 1
            w = max(alpha, 1.0 / k)
            err2 = (1 - w) * err2 + w * (tgt[:, t] - mu) ** 2
    out["last-value"] = scores.mean(-1)
    return {k: v[:, skip:] for k, v in out.items()}


def read_csv(path):
    """Rows of `timestamp,value[,value...]` (header optional) -> float64 [L, F], in file order.

    Rows whose values do not parse as finite floats are reported and skipped (never silently)."""
    rows, bad = [], 0
    with open(path) as fh:
        for i, line in enumerate(fh):
            parts = [p.strip() for p in line.strip().split(",")]
            if len(parts) < 2 or not line.strip():
                continue
            try:
                vals = [float(p) for p in parts[1:]]
            except ValueError:
                if i == 0:
                    continue                                   # header
                bad += 1
                continue
            if not all(np.isfinite(vals)):
                bad += 1
                continue
            rows.append(vals)
    if not rows:
        raise ValueError(f"{path}: no row of timestamp,value[,value...] with finite numbers ({bad} bad rows)")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ValueError(f"{path}: rows have different numbers of values: {sorted(widths)}")
    if bad:
        print(f"{path}: skipped {bad} rows with unparsable or non-finite values")
    return np.asarray(rows, dtype=np.float64)
