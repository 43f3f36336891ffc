"""Generated *normal* training signals for the forecasters (numpy only, deterministic per seed).

Every family function takes a numpy Generator, a count n and a length L and returns float64
[n, L, F]. Anomalies are never injected here: the forecaster learns what normal looks like and the
score measures surprise. Seeds below 1000 only (the quality benchmark uses seeds >= 1000), checked
by `make_pool`.

Families
- univariate (F=1), used for models/general-univariate: sines of many periods and phases, sums of
  seasons, trend + season, random walks, AR(1)/AR(2), level regimes, square / sawtooth waves,
  counts (Poisson with a seasonal rate), heteroscedastic noise, white noise; random scale and offset,
  sometimes quantised (integer sensors).
- sensor (F=3): job-examples' StreamGenerator SENSOR family (per channel level U(-2,2), amplitude
  U(0.5,2), phase U(0,2pi), shared period U(20,60), noise U(0.05,0.2)) for half the pool, and signals
  like it for the other half (periods 6..300, harmonics, shared noise factor, slow trends, scales
  and offsets per channel).
- trade (F=2): geometric random-walk prices (volatility 0.0005..0.01, some with volatility
  clustering), prices rounded through float32 as the Java generator prints them, sizes
  round(exp(mu + sigma * N(0,1))) (some with a seasonal intensity); features
  [log(price_t / price_{t-1}), log(size_t)]. Each sequence starts at a key's second tick (the
  first tick has no return).
"""
import numpy as np

MAX_TRAINING_SEED = 999
TWO_PI = 2.0 * np.pi


def _u(rng, lo, hi, n):
    return rng.uniform(lo, hi, size=(n, 1))


def _logu(rng, lo, hi, n):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size=(n, 1)))


def _t(L):
    return np.arange(L, dtype=np.float64)[None, :]


def _ar(rng, coeffs, sigma, n, L):
    """AR(p) driven by Gaussian noise, vectorised over sequences; coeffs [n, p]."""
    p = coeffs.shape[1]
    burn = 200
    e = rng.standard_normal((n, L + burn)) * sigma
    x = np.zeros((n, L + burn))
    for t in range(L + burn):
        acc = e[:, t].copy()
        for k in range(1, p + 1):
            if t - k >= 0:
                acc += coeffs[:, k - 1] * x[:, t - k]
        x[:, t] = acc
    return x[:, burn:]


# ---------------------------------------------------------------- univariate components (unit scale)

def sine(rng, n, L):
    period = _logu(rng, 4, 500, n)
    phase = _u(rng, 0, TWO_PI, n)
    noise = _logu(rng, 0.01, 0.5, n)
    return np.sin(TWO_PI * _t(L) / period + phase) + noise * rng.standard_normal((n, L))


def seasons(rng, n, L):
    k = 3
    periods = _logu(rng, 4, 400, n * k).reshape(n, k)
    amps = rng.uniform(0.1, 1.0, size=(n, k))
    phases = rng.uniform(0, TWO_PI, size=(n, k))
    t = np.arange(L, dtype=np.float64)
    x = np.zeros((n, L))
    for j in range(k):
        x += amps[:, j:j + 1] * np.sin(TWO_PI * t[None, :] / periods[:, j:j + 1] + phases[:, j:j + 1])
    return x + _logu(rng, 0.01, 0.3, n) * rng.standard_normal((n, L))


def trend_season(rng, n, L):
    slope = rng.normal(0, 1, size=(n, 1)) * _logu(rng, 1e-4, 1e-2, n)
    base = sine(rng, n, L) * _u(rng, 0, 1, n)
    return slope * _t(L) + base + _logu(rng, 0.02, 0.3, n) * rng.standard_normal((n, L))


def random_walk(rng, n, L):
    drift = rng.normal(0, 0.02, size=(n, 1)) * (rng.uniform(size=(n, 1)) < 0.3)
    x = np.cumsum(rng.standard_normal((n, L)) + drift, axis=1)
    obs = _logu(rng, 1e-3, 1.0, n) * rng.standard_normal((n, L))
    return x + obs


def ar1(rng, n, L):
    phi = rng.uniform(-0.5, 0.995, size=(n, 1))
    return _ar(rng, phi, 1.0, n, L)


def ar2(rng, n, L):
    # stable AR(2) from two roots inside the unit circle (complex pair -> damped oscillation)
    r = rng.uniform(0.3, 0.98, size=n)
    theta = rng.uniform(0.05, np.pi - 0.05, size=n)
    complex_pair = rng.uniform(size=n) < 0.6
    r2 = rng.uniform(-0.9, 0.95, size=n)
    a1 = np.where(complex_pair, 2 * r * np.cos(theta), r * np.sign(np.cos(theta)) + r2)
    a2 = np.where(complex_pair, -r * r, -(r * np.sign(np.cos(theta))) * r2)
    return _ar(rng, np.stack([a1, a2], axis=1), 1.0, n, L)


def regimes(rng, n, L):
    """Markov switching between 2-4 levels (machine states), noise on top."""
    k = rng.integers(2, 5, size=n)
    levels = rng.normal(0, 1, size=(n, 4))
    p_switch = _logu(rng, 1e-3, 3e-2, n)[:, 0]
    state = np.zeros(n, dtype=np.int64)
    x = np.empty((n, L))
    rows = np.arange(n)
    for t in range(L):
        sw = rng.uniform(size=n) < p_switch
        state = np.where(sw, rng.integers(0, 1 << 30, size=n) % k, state)
        x[:, t] = levels[rows, state]
    return x + _logu(rng, 0.02, 0.3, n) * rng.standard_normal((n, L))


def square_saw(rng, n, L):
    period = _logu(rng, 6, 200, n)
    phase = _u(rng, 0, 1, n)
    frac = np.mod(_t(L) / period + phase, 1.0)
    duty = _u(rng, 0.2, 0.8, n)
    square = np.where(frac < duty, 1.0, -1.0)
    saw = 2 * frac - 1
    which = rng.uniform(size=(n, 1)) < 0.5
    return np.where(which, square, saw) + _logu(rng, 0.01, 0.3, n) * rng.standard_normal((n, L))


def counts(rng, n, L):
    base = _logu(rng, 0.3, 60, n)
    period = _logu(rng, 10, 400, n)
    amp = _u(rng, 0, 0.8, n)
    rate = base * (1 + amp * np.sin(TWO_PI * _t(L) / period + _u(rng, 0, TWO_PI, n)))
    return rng.poisson(np.maximum(rate, 1e-3)).astype(np.float64)


def hetero(rng, n, L):
    """Noise whose scale changes smoothly (seasonal) or in GARCH-like clusters."""
    seasonal = 1 + _u(rng, 0.2, 0.9, n) * np.sin(TWO_PI * _t(L) / _logu(rng, 20, 400, n))
    eps = rng.standard_normal((n, L))
    a, b = rng.uniform(0.02, 0.15, size=n), rng.uniform(0.6, 0.83, size=n)
    h = np.ones(n)
    garch = np.empty((n, L))
    for t in range(L):                                           # GARCH(1,1), unit long-run variance
        garch[:, t] = np.sqrt(h) * eps[:, t]
        h = (1 - a - b) + a * garch[:, t] ** 2 + b * h
    which = rng.uniform(size=(n, 1)) < 0.5
    mean = _u(rng, -1, 1, n) * np.sin(TWO_PI * _t(L) / _logu(rng, 10, 300, n)) * (rng.uniform(size=(n, 1)) < 0.5)
    return mean + np.where(which, seasonal * eps, garch)


def white(rng, n, L):
    """Gaussian or Student-t (3, 5, 30 degrees of freedom) noise of unit variance."""
    dof = rng.choice([3.0, 5.0, 30.0, 0.0], size=(n, 1))        # 0 = Gaussian
    g = rng.standard_normal((n, L))
    d = np.where(dof > 0, dof, 1.0)
    t_noise = g / np.sqrt(rng.chisquare(np.broadcast_to(d, (n, L))) / d) / np.sqrt(d / np.maximum(d - 2, 1))
    return np.where(dof > 0, t_noise, g)


UNIVARIATE = {
    "sine": (sine, 1.5), "seasons": (seasons, 1.5), "trend_season": (trend_season, 1.0),
    "random_walk": (random_walk, 1.0), "ar1": (ar1, 1.0), "ar2": (ar2, 1.0), "regimes": (regimes, 0.7),
    "square_saw": (square_saw, 0.8), "counts": (counts, 0.8), "hetero": (hetero, 0.8), "white": (white, 0.8),
}


def univariate(rng, n, L, only=None):
    """[n, L, 1]: a mix of the families above (or only the one named), each with a random scale,
    offset, sometimes quantised."""
    names = list(UNIVARIATE)
    w = np.array([UNIVARIATE[k][1] for k in names])
    pick = rng.choice(len(names), size=n, p=w / w.sum())
    if only is not None:
        pick[:] = names.index(only)
    x = np.empty((n, L))
    for i, name in enumerate(names):
        idx = np.nonzero(pick == i)[0]
        if len(idx):
            x[idx] = UNIVARIATE[name][0](rng, len(idx), L)
    is_count = pick == names.index("counts")
    scale = _logu(rng, 1e-3, 1e4, n)
    offset = np.where(rng.uniform(size=(n, 1)) < 0.5, 0.0, rng.normal(0, 1, size=(n, 1)) * scale * _logu(rng, 1, 100, n))
    y = np.where(is_count[:, None], x, x * scale + offset)
    # some sensors report integers / fixed decimals: quantise to a step of about 1/20 .. 1/2 std
    quant = (rng.uniform(size=n) < 0.15) & ~is_count
    if quant.any():
        step = (np.std(y[quant], axis=1, keepdims=True) + 1e-12) * _logu(rng, 0.05, 0.5, int(quant.sum()))
        y[quant] = np.round(y[quant] / step) * step
    return y[:, :, None]


# ---------------------------------------------------------------- sensor (F=3)

def sensor(rng, n, L, channels=3):
    """[n, L, channels]: half StreamGenerator SENSOR exactly, half broader signals like it."""
    t = _t(L)[:, :, None]                                        # [1, L, 1]
    level = rng.uniform(-2, 2, size=(n, 1, channels))
    amp = rng.uniform(0.5, 2, size=(n, 1, channels))
    phase = rng.uniform(0, TWO_PI, size=(n, 1, channels))
    exact = rng.uniform(size=(n, 1, 1)) < 0.5
    period = np.where(exact, rng.uniform(20, 60, size=(n, 1, 1)), _logu(rng, 6, 300, n)[:, :, None])
    noise = np.where(exact, rng.uniform(0.05, 0.2, size=(n, 1, 1)), _logu(rng, 0.02, 0.5, n)[:, :, None])
    x = level + amp * np.sin(TWO_PI * t / period + phase)
    eps = rng.standard_normal((n, L, channels))
    # broader half: a second harmonic, a noise factor shared by the channels, slow trend, scale/offset
    harm = rng.uniform(0, 0.5, size=(n, 1, channels)) * np.sin(2 * TWO_PI * t / period + 2 * phase)
    shared = rng.uniform(0, 0.8, size=(n, 1, 1))
    common = rng.standard_normal((n, L, 1))
    trend = rng.normal(0, 1, size=(n, 1, channels)) * _logu(rng, 1e-5, 3e-3, n)[:, :, None] * t
    scale = np.exp(rng.uniform(np.log(0.01), np.log(100), size=(n, 1, channels)))
    offset = rng.normal(0, 1, size=(n, 1, channels)) * scale * 10
    broad_noise = np.sqrt(1 - shared ** 2) * eps + shared * common
    broad = (x + harm + noise * broad_noise + trend) * scale + offset
    return np.where(exact, x + noise * eps, broad)


# ---------------------------------------------------------------- trade (F=2)

def trade_prices_sizes(rng, n, L):
    """Raw ticks: prices [n, L+1] (float32-rounded) and sizes [n, L+1] (integers >= 1)."""
    vol = _logu(rng, 5e-4, 1e-2, n)
    eps = rng.standard_normal((n, L + 1))
    cluster = rng.uniform(size=n) < 0.4
    h = np.ones(n)
    mult = np.ones((n, L + 1))
    for t in range(L + 1):
        mult[:, t] = np.where(cluster, np.sqrt(h), 1.0)
        h = 0.02 + 0.08 * (mult[:, t] * eps[:, t]) ** 2 + 0.9 * h
    ret = vol * mult * eps
    price0 = _logu(rng, 1, 5000, n)
    price = (price0 * np.exp(np.cumsum(ret, axis=1))).astype(np.float32).astype(np.float64)
    mu = rng.uniform(1, 7, size=(n, 1))
    sig = rng.uniform(0.2, 1.0, size=(n, 1))
    season = 1 + _u(rng, 0, 0.5, n) * np.sin(TWO_PI * np.arange(L + 1)[None, :] / _logu(rng, 20, 500, n))
    size = np.maximum(1.0, np.round(np.exp(mu + sig * rng.standard_normal((n, L + 1))) * season))
    return price, size


def trade_features(price, size):
    """[log return, log size] per tick from the second tick on: [n, L, 2] for prices [n, L+1]."""
    return np.stack([np.log(price[:, 1:] / price[:, :-1]), np.log(size[:, 1:])], axis=-1)


def trade(rng, n, L):
    price, size = trade_prices_sizes(rng, n, L)
    return trade_features(price, size)


FAMILIES = {"univariate": (univariate, 1), "sensor": (sensor, 3), "trade": (trade, 2)}


def make_pool(family, n, L, seed, chunk=1024):
    """[n, L, F] float64 signals of one family, deterministic for (family, n, L, seed, chunk)."""
    if not 0 <= seed <= MAX_TRAINING_SEED:
        raise ValueError(f"training seeds must be in [0, {MAX_TRAINING_SEED}] (the benchmark uses >= 1000), got {seed}")
    fn, f = FAMILIES[family]
    rng = np.random.default_rng(seed)
    out = np.empty((n, L, f))
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        out[a:b] = fn(rng, b - a, L)
    if not np.isfinite(out).all():
        raise AssertionError(f"non-finite values in the {family} pool")
    return out


def inject_spikes(rng, x, share=0.5, max_spikes=3, lo=3.0, hi=12.0, at=None):
    """Copies x [n, L, F] with single-event spikes; returns (spiked x, mask [n, L] True at spikes).

    A share of the sequences gets 1..max_spikes spikes of U(lo, hi) x the sequence's own std per
    channel, random sign, on all channels or on one. Used to make the model robust to an outlier in
    its input (the loss skips the spiked events themselves: they are anomalies, not forecasts to
    learn); `at` puts exactly one spike at that event in every sequence (evaluation)."""
    x = x.copy()
    n, L, f = x.shape
    mask = np.zeros((n, L), dtype=bool)
    std = x.std(axis=1) + 1e-12                                      # [n, F]
    for i in range(n):
        if at is None and rng.uniform() >= share:
            continue
        times = [at] if at is not None else rng.integers(32, L - 1, size=rng.integers(1, max_spikes + 1))
        for t in times:
            mag = rng.uniform(lo, hi) * std[i] * rng.choice([-1.0, 1.0])
            if f > 1 and rng.uniform() < 0.5:
                only = rng.integers(0, f)
                mag = np.where(np.arange(f) == only, mag, 0.0)
            x[i, t] += mag
            mask[i, t] = True
    return x, mask
