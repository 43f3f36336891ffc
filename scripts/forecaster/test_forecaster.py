"""numpy-only tests of the generator, the normaliser and the float64 reference.

    python3 -m unittest discover -s scripts/forecaster -p 'test_*.py'
"""
import json
import math
import os
import struct
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import normaliser as nz  # noqa: E402
import signals  # noqa: E402
from reference import ReferenceForecaster, load_safetensors  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
PROJ_BIAS = os.path.join(REPO, "kernels", "src", "test", "resources", "fixtures", "proj-bias")


def literal_normalise(x, alpha=0.01, min_scale_rel=0.001):
    """One feature, one event at a time, straight from the format text."""
    n, m, v, z = 0, 0.0, 0.0, []
    for xt in x:
        s = max(math.sqrt(v), min_scale_rel * (1 + abs(m)))
        z.append(0.0 if n == 0 else (xt - m) / s)
        a = max(alpha, 1.0 / (n + 1))
        d = xt - m
        m += a * d
        v = (1 - a) * (v + a * d * d)
        n += 1
    return np.array(z)


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        b = np.ascontiguousarray(v, dtype="<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


class NormaliserTest(unittest.TestCase):
    def test_matches_literal_loop(self):
        rng = np.random.default_rng(3)
        x = np.concatenate([rng.normal(50, 5, 300), np.full(100, 7.0), rng.normal(0, 1e-3, 50) + 1e6])
        xx = np.stack([x, -2 * x + 1], axis=1)
        z = nz.normalise(xx)
        for f in range(2):
            np.testing.assert_allclose(z[:, f], literal_normalise(xx[:, f]), rtol=1e-12, atol=1e-12)
        self.assertEqual(z[0, 0], 0.0)

    def test_batch_equals_single(self):
        rng = np.random.default_rng(4)
        x = rng.normal(size=(3, 200, 2)) * 10
        zb = nz.normalise(x)
        for i in range(3):
            np.testing.assert_array_equal(zb[i], nz.normalise(x[i]))

    def test_normaliser_peer_on_white_noise(self):
        rng = np.random.default_rng(5)
        x = rng.normal(3, 2, size=(64, 1024, 1))
        z, _, s = nz.normalise(x, return_stats=True)
        sc = nz.naive_scores(z, s, skip=100)
        # N(0,1) forecast of ~N(0,1) values: 0.5 * (log 2pi + 1) = 1.419 (slightly more: EWMA noise)
        self.assertAlmostEqual(float(sc["normaliser"].mean()), 1.419, delta=0.03)
        # the last value is a worse forecast of white noise than the mean
        self.assertGreater(float(sc["last-value"].mean()), float(sc["normaliser"].mean()) + 0.2)

    def test_last_value_peer_wins_on_random_walk(self):
        rng = np.random.default_rng(6)
        x = np.cumsum(rng.normal(size=(64, 1024, 1)), axis=1)
        z, _, s = nz.normalise(x, return_stats=True)
        sc = nz.naive_scores(z, s, skip=100)
        self.assertLess(float(sc["last-value"].mean()), float(sc["normaliser"].mean()) - 0.5)

    def test_read_csv(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "a.csv")
            with open(p, "w") as f:
                f.write("timestamp,a,b\n1,1.5,2\n2,nan,3\n3,oops,1\n4,2.5,-1\n")
            x = nz.read_csv(p)
            np.testing.assert_array_equal(x, [[1.5, 2], [2.5, -1]])


class CsvWindowsTest(unittest.TestCase):
    def test_csv_cut_into_normalised_windows(self):
        import train
        rng = np.random.default_rng(8)
        x = rng.normal(5, 2, size=(2500, 1))
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "s.csv")
            with open(p, "w") as f:
                f.write("timestamp,value\n")
                for i, v in enumerate(x[:, 0]):
                    f.write(f"{1700000000000 + i},{float(v)!r}\n")
            seqs = train.csv_sequences([p], 1024, 1)
            self.assertEqual([len(s) for s in seqs], [1024, 1024, 452])
            z, mask = train.pad_z(seqs, 1024)
            np.testing.assert_allclose(z[1], nz.normalise(x[1024:2048]), rtol=1e-12)
            np.testing.assert_array_equal(mask.sum(axis=1), [1024, 1024, 452])
            self.assertTrue((z[2, 452:] == 0).all())
            with self.assertRaises(SystemExit):
                train.csv_sequences([p], 1024, 2)


class SignalsTest(unittest.TestCase):
    def test_shapes_finite_deterministic(self):
        for fam, f in (("univariate", 1), ("sensor", 3), ("trade", 2)):
            a = signals.make_pool(fam, 40, 300, 5)
            self.assertEqual(a.shape, (40, 300, f))
            self.assertTrue(np.isfinite(a).all())
            np.testing.assert_array_equal(a, signals.make_pool(fam, 40, 300, 5))
            self.assertFalse(np.array_equal(a, signals.make_pool(fam, 40, 300, 6)))

    def test_benchmark_seeds_refused(self):
        with self.assertRaises(ValueError):
            signals.make_pool("univariate", 4, 100, 1000)

    def test_univariate_is_diverse(self):
        a = signals.make_pool("univariate", 400, 256, 9)[:, :, 0]
        stds = a.std(axis=1)
        self.assertGreater(np.log10(stds.max() / np.maximum(stds.min(), 1e-300)), 4)   # scales span decades
        self.assertTrue((np.abs(a.mean(axis=1)) > 10 * stds).any())                    # large offsets too

    def test_trade_features(self):
        price = np.array([[100.0, 101.0, 99.0]])
        size = np.array([[5.0, 10.0, 1.0]])
        f = signals.trade_features(price, size)
        np.testing.assert_allclose(f[0], [[math.log(1.01), math.log(10)], [math.log(99 / 101), 0.0]])


@unittest.skipUnless(os.path.isdir(PROJ_BIAS), "needs the proj-bias HF fixture")
class ReferenceTest(unittest.TestCase):
    """The per-event reference on the proj-bias HF checkpoint (hidden 24, in/out_proj biases)."""

    def make_dir(self, d, F=2):
        with open(os.path.join(PROJ_BIAS, "config.json")) as f:
            cfg = json.load(f)
        cfg["flink_mamba"] = {"kind": "forecaster", "format_version": 1, "num_features": F,
                              "feature_names": ["a", "b"][:F], "version": "test-1",
                              "normaliser": {"alpha": 0.01, "min_scale_rel": 0.001, "clip": 10.0},
                              "log_var_min": -9.0, "log_var_max": 6.0, "training": {}}
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f)
        sd = {("backbone." + k): v for k, v in load_safetensors(os.path.join(PROJ_BIAS, "model.safetensors")).items()}
        rng = np.random.default_rng(1)
        D = cfg["hidden_size"]
        sd["input_proj.weight"] = rng.normal(size=(D, F))
        sd["input_proj.bias"] = rng.normal(size=D) * 0.3
        sd["head.weight"] = rng.normal(size=(2 * F, D)) * 0.3
        sd["head.bias"] = rng.normal(size=2 * F) * 0.3
        write_safetensors(os.path.join(d, "model.safetensors"), sd)

    def test_block_steps_match_whole_sequence_fixture(self):
        with tempfile.TemporaryDirectory() as d:
            self.make_dir(d)
            ref = ReferenceForecaster(d)
            x = np.load(os.path.join(PROJ_BIAS, "inputs_embeds.npy"))
            want = np.load(os.path.join(PROJ_BIAS, "last_hidden_state_pure_f64.npy"))
            for b in range(x.shape[0]):
                conv = [np.zeros((ref.E, ref.K - 1)) for _ in range(ref.layers)]
                ssm = [np.zeros((ref.E, ref.N)) for _ in range(ref.layers)]
                for t in range(x.shape[1]):
                    h = x[b, t]
                    for i in range(ref.layers):
                        h = ref._block_step(i, h, conv[i], ssm[i])
                    y = ref._rmsnorm(h, ref.w["backbone.norm_f.weight"])
                    np.testing.assert_allclose(y, want[b, t], rtol=1e-10, atol=1e-12)

    def test_stream_steps(self):
        with tempfile.TemporaryDirectory() as d:
            self.make_dir(d)
            ref = ReferenceForecaster(d)
            rng = np.random.default_rng(2)
            x = rng.normal(size=(50, 2)) * [1, 100] + [0, 1e4]
            x[30] += [50, 0]
            r = ref.run_stream(x)
            np.testing.assert_allclose(r["z"], nz.normalise(x), rtol=1e-12, atol=1e-12)
            self.assertTrue(np.isnan(r["score"][0]) and np.isfinite(r["score"][1:]).all())
            # score, forecast and std from the previous event's (mu, logvar) and the pre-update stats
            _, means, scales = nz.normalise(x, return_stats=True)
            for t in (1, 17, 30, 49):
                nll = nz.gaussian_nll(r["z"][t], r["mu"][t - 1], r["logvar"][t - 1]).mean()
                self.assertAlmostEqual(r["score"][t], nll, places=12)
                np.testing.assert_allclose(r["forecast"][t], means[t] + scales[t] * r["mu"][t - 1], rtol=1e-12)
                np.testing.assert_allclose(r["forecast_std"][t], scales[t] * np.exp(r["logvar"][t - 1] / 2), rtol=1e-12)
            self.assertGreater(r["score"][30], np.median(r["score"][1:]))
            self.assertTrue((r["logvar"] >= -9).all() and (r["logvar"] <= 6).all())


FIXTURES = os.path.join(REPO, "kernels", "src", "test", "resources", "fixtures")


class CommittedFixturesTest(unittest.TestCase):
    """The committed forecaster fixtures are what reference.py computes from their model copies."""

    def test_fixtures_reproduce(self):
        dirs = [d for d in sorted(os.listdir(FIXTURES)) if d.startswith("forecaster-")] if os.path.isdir(FIXTURES) else []
        if not dirs:
            self.skipTest("no forecaster fixtures")
        for d in dirs:
            root = os.path.join(FIXTURES, d)
            ref = ReferenceForecaster(os.path.join(root, "model"))
            with open(os.path.join(root, "meta.json")) as f:
                meta = json.load(f)
            for key in meta["keys"]:
                x = np.load(os.path.join(root, key, "x.npy"))
                got = ref.run_stream(x)
                for name, v in got.items():
                    want = np.load(os.path.join(root, key, name + ".npy"))
                    np.testing.assert_allclose(v, want, rtol=1e-9, atol=1e-12, err_msg=f"{d}/{key}/{name}")


if __name__ == "__main__":
    unittest.main()
