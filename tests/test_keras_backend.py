"""fastinit.keras against keras.initializers (installed Keras 3) on two backends.

Keras fixes its backend at import, so each backend runs the checks below in its own
subprocess (KERAS_BACKEND=jax and KERAS_BACKEND=torch); the subprocess reports every check as
JSON and the tests assert on groups of them. Statistical checks use fixed seeds; a correct
sampler with a fresh seed would fail a moment check with probability ~2e-9 (6 standard errors)
and a KS check with probability 1e-6.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

import fastinit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Subprocesses import the fastinit this test run imported (installed, or a built source tree).
FASTINIT_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))

SCRIPT = textwrap.dedent(r'''
    import json, math, warnings
    import numpy as np
    import keras
    from scipy import stats
    import fastinit, fastinit.keras as fk

    K = keras.initializers
    res = {"backend": keras.backend.backend(), "checks": 0, "failures": [], "groups": {}}
    Z, KS_P, TRUNC = 6.0, 1e-6, 0.87962566103423978

    def check(group, ok, what):
        res["checks"] += 1
        res["groups"][group] = res["groups"].get(group, 0) + 1
        if not ok:
            res["failures"].append(f"{group}: {what}")

    def npy(t):
        return np.asarray(keras.ops.convert_to_numpy(t))

    def bits(a):
        a = np.asarray(a)
        return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])

    def outcome(fn, *a):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = fn(*a)
        except Exception as e:
            return ["error", type(e).__name__, str(e)]
        return ["ok", list(r.shape), keras.backend.standardize_dtype(r.dtype)]

    RANDOM = {"RandomNormal": {"mean": 0.1, "stddev": 0.2},
              "RandomUniform": {"minval": -0.3, "maxval": 0.5},
              "TruncatedNormal": {"mean": -0.1, "stddev": 0.3},
              "VarianceScaling": {"scale": 2.5, "mode": "fan_avg", "distribution": "uniform"},
              "GlorotUniform": {}, "GlorotNormal": {}, "HeUniform": {}, "HeNormal": {},
              "LecunUniform": {}, "LecunNormal": {}, "Orthogonal": {"gain": 1.5}}

    # --- classes, names, configs -----------------------------------------------------------
    for name in list(RANDOM) + ["Zeros", "Ones", "Constant", "Identity"]:
        ours, theirs = getattr(fk, name), getattr(K, name)
        check("api", issubclass(ours, theirs), f"{name} is not a keras.initializers.{name}")
    for alias in ("random_normal", "random_uniform", "truncated_normal", "variance_scaling",
                  "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
                  "lecun_normal", "orthogonal", "zeros", "ones", "constant", "identity"):
        check("api", issubclass(getattr(fk, alias), getattr(K, alias)), alias)
    check("api", fk.Zeros is K.Zeros and fk.Identity is K.Identity, "re-exports")
    check("api", type(fk.get("he_normal")) is fk.HeNormal, "get(str)")
    check("api", type(fk.get({"class_name": "GlorotUniform", "config": {"seed": 1}}))
          is fk.GlorotUniform, "get(dict)")
    check("api", type(fk.get("zeros")) is K.Zeros, "get falls back to keras")

    for name, kw in RANDOM.items():
        for seed in (7, None, keras.random.SeedGenerator(3)):
            a = getattr(fk, name)(seed=seed, **kw)
            cfg = a.get_config()
            check("config", cfg == getattr(K, name)(seed=seed, **kw).get_config(),
                  f"{name} config differs from Keras's: {cfg}")
            b = getattr(fk, name).from_config(cfg)
            check("config", type(b) is getattr(fk, name) and b.get_config() == cfg,
                  f"{name} from_config")
            c = K.deserialize(K.serialize(a))
            check("config", type(c) is getattr(fk, name) and c.get_config() == cfg,
                  f"{name} serialize/deserialize -> {type(c)}")
            if isinstance(seed, int):
                check("config", np.array_equal(npy(a((6, 5))), npy(b((6, 5)))),
                      f"{name} from_config values")
        check("config", fk.VarianceScaling(input_axes=[0], output_axes=[1]).get_config()
              == K.VarianceScaling(input_axes=[0], output_axes=[1]).get_config(), "axes")

    # --- seed semantics (mirroring Keras's own behaviour) ----------------------------------
    shape = (8, 6)
    for name, kw in RANDOM.items():
        for cls, tag in ((getattr(fk, name), "ours"), (getattr(K, name), "keras")):
            a = cls(seed=11, **kw)
            check("seed", np.array_equal(npy(a(shape)), npy(a(shape))),
                  f"{tag} {name}: int seed, repeated call differs")
            check("seed", np.array_equal(npy(a(shape)), npy(cls(seed=11, **kw)(shape))),
                  f"{tag} {name}: int seed, new instance differs")
            u = cls(**kw)
            check("seed", np.array_equal(npy(u(shape)), npy(u(shape))),
                  f"{tag} {name}: seed=None, repeated call differs (Keras draws it once)")
            check("seed", not np.array_equal(npy(u(shape)), npy(cls(**kw)(shape))),
                  f"{tag} {name}: seed=None, two instances agree")
            g = keras.random.SeedGenerator(21)
            s = cls(seed=g, **kw)
            check("seed", not np.array_equal(npy(s(shape)), npy(s(shape))),
                  f"{tag} {name}: SeedGenerator, repeated call agrees")
        g1, g2 = keras.random.SeedGenerator(4), keras.random.SeedGenerator(4)
        getattr(fk, name)(seed=g1, **kw)(shape)
        getattr(K, name)(seed=g2, **kw)(shape)
        check("seed", np.array_equal(npy(g1.state.value), npy(g2.state.value)),
              f"{name}: SeedGenerator state advanced differently from Keras")

    # documented seed -> stream
    s = (33, 17)
    check("stream", np.array_equal(npy(fk.RandomNormal(0.1, 0.2, seed=3)(s)),
                                   fastinit.normal(s, 0.1, 0.2, rng=3)), "int seed")
    check("stream", np.array_equal(npy(fk.RandomUniform(-1, 2, seed=2**40)(s)),
                                   fastinit.uniform(s, -1, 2, rng=2**40)), "large int seed")
    check("stream", np.array_equal(
        npy(fk.TruncatedNormal(0, 0.3, seed=keras.random.SeedGenerator(9))(s)),
        fastinit.truncated_normal(s, 0, 0.3, -2, 2, rng=np.random.SeedSequence([9, 0]))),
        "SeedGenerator([9, 0])")
    check("stream", np.array_equal(npy(fk.HeNormal(seed=5)((3, 3, 16, 32))),
                                   fastinit.variance_scaling((3, 3, 16, 32), 2.0, "fan_in",
                                   "truncated_normal", layout="jax", rng=5)), "HeNormal")
    check("stream", np.array_equal(npy(fk.Orthogonal(2.0, seed=5)((24, 16))),
                                   fastinit.orthogonal((24, 16), 2.0, column_axis=-1, rng=5)),
          "Orthogonal")

    # --- dtypes and errors ------------------------------------------------------------------
    for name, kw in RANDOM.items():
        for dt in (None, "float16", "bfloat16", "float32", "float64", "int32", "bool"):
            for shp in ((5, 7), (3, 3, 4, 8), (6,), (), (0, 4), (3, -4)):
                got = outcome(lambda: getattr(fk, name)(seed=1, **kw)(shp, dt))
                want = outcome(lambda: getattr(K, name)(seed=1, **kw)(shp, dt))
                if (name == "Orthogonal" and dt in ("float16", "bfloat16") and want[0] == "error"
                        and got == ["ok", list(shp), dt]):
                    res["gaps"] = res.get("gaps", 0) + 1    # the backend has no 16-bit QR
                    continue
                check("dtype_error", got == want, f"{name} {shp} {dt}: {got} != {want}")
        if name == "VarianceScaling":
            got = outcome(lambda: fk.VarianceScaling(seed=1, input_axes=[5],
                                                     output_axes=[1])((3, 4)))
            want = outcome(lambda: K.VarianceScaling(seed=1, input_axes=[5],
                                                     output_axes=[1])((3, 4)))
            check("dtype_error", got == want, f"axes: {got} != {want}")
    for dt in ("float16", "bfloat16"):
        a = npy(fk.GlorotUniform(seed=2)((64, 32), dt))
        limit = math.sqrt(3.0 * (1.0 / 48.0))        # Keras's formula: sqrt(3 scale / n)
        want = fastinit.uniform((64, 32), -limit, limit, dtype=dt, rng=2)
        check("dtype_error", np.array_equal(bits(a), bits(want)), f"{dt} bits")

    # inputs fastinit does not fill go to Keras's own sampler: Keras's exact values
    for ours, theirs in ((fk.RandomUniform(0.5, 0.1, seed=4), K.RandomUniform(0.5, 0.1, seed=4)),
                         (fk.RandomNormal(0, -1.0, seed=4), K.RandomNormal(0, -1.0, seed=4)),
                         (fk.Orthogonal(-2.0, seed=4), K.Orthogonal(-2.0, seed=4))):
        want = outcome(lambda: theirs((6, 4)))
        check("fallback", outcome(lambda: ours((6, 4))) == want, type(ours).__name__)
        if want[0] == "ok":
            check("fallback", np.array_equal(npy(ours((6, 4))), npy(theirs((6, 4)))),
                  type(ours).__name__ + " values")

    # --- statistics -------------------------------------------------------------------------
    def moments(x, std, what, kurt):
        x = np.asarray(x, np.float64).ravel()
        n = x.size
        check("stats", abs(x.mean()) < Z * std / math.sqrt(n), what + " mean")
        tol = Z * math.sqrt((kurt - 1) / n) / 2
        check("stats", abs(x.std() / std - 1) < tol, f"{what} std {x.std()} vs {std}")

    kt = float(stats.truncnorm(-2, 2).stats(moments="k")) + 3
    for shp in ((512, 512), (3, 3, 128, 256)):
        fi = shp[-2] * math.prod(shp[:-2])
        fo = shp[-1] * math.prod(shp[:-2])
        for name, scale, n, dist in (("GlorotUniform", 1, (fi + fo) / 2, "u"),
                                     ("GlorotNormal", 1, (fi + fo) / 2, "t"),
                                     ("HeUniform", 2, fi, "u"), ("HeNormal", 2, fi, "t"),
                                     ("LecunUniform", 1, fi, "u"), ("LecunNormal", 1, fi, "t")):
            std = math.sqrt(scale / n)
            for mod in (fk, K):
                x = npy(getattr(mod, name)(seed=8)(shp)).astype(np.float64).ravel()[:1 << 18]
                what = f"{mod.__name__}.{name}{shp}"
                if dist == "u":
                    b = math.sqrt(3) * std
                    check("stats", np.abs(x).max() <= b * (1 + 1e-6), what + " bound")
                    moments(x, std, what, 1.8)
                    check("stats", stats.kstest(x, stats.uniform(-b, 2 * b).cdf).pvalue > KS_P,
                          what + " KS")
                else:
                    s0 = std / TRUNC
                    outside = int((np.abs(x) > 2 * s0 * (1 + 1e-6)).sum())
                    if mod is fk:
                        check("stats", outside == 0, what + " bound")
                    else:   # Keras's torch backend keeps a draw when 4 tries all miss
                        res.setdefault("keras_outside_2std", {})[what] = outside
                    moments(x, std, what, kt)
                    check("stats", stats.kstest(x, stats.truncnorm(-2, 2, scale=s0).cdf).pvalue
                          > KS_P, what + " KS")
    x = npy(fk.RandomNormal(0.0, 0.2, seed=3)((512, 512))).astype(np.float64).ravel()
    moments(x, 0.2, "RandomNormal", 3.0)
    check("stats", stats.kstest(x, stats.norm(scale=0.2).cdf).pvalue > KS_P, "RandomNormal KS")
    x = npy(fk.TruncatedNormal(0.0, 0.2, seed=3)((512, 512))).astype(np.float64).ravel()
    check("stats", np.abs(x).max() <= 0.4, "TruncatedNormal bound")
    check("stats", stats.kstest(x, stats.truncnorm(-2, 2, scale=0.2).cdf).pvalue > KS_P,
          "TruncatedNormal KS")
    x = npy(fk.RandomUniform(-0.3, 0.5, seed=3)((512, 512))).astype(np.float64).ravel()
    check("stats", x.min() >= -0.3 and x.max() < 0.5, "RandomUniform bounds")
    check("stats", stats.kstest(x, stats.uniform(-0.3, 0.8).cdf).pvalue > KS_P,
          "RandomUniform KS")
    for shp in ((64, 64), (128, 32), (32, 128), (3, 3, 16, 32)):
        q = npy(fk.Orthogonal(1.5, seed=2)(shp)).astype(np.float64).reshape(-1, shp[-1]) / 1.5
        g = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
        check("stats", np.allclose(g, np.eye(len(g)), atol=2e-5), f"Orthogonal {shp}")

    # --- in layers and models ---------------------------------------------------------------
    layer = keras.layers.Dense(24, kernel_initializer=fk.GlorotUniform(seed=3),
                               bias_initializer=fk.Zeros())
    layer.build((None, 16))
    check("model", np.array_equal(npy(layer.kernel), npy(fk.GlorotUniform(seed=3)((16, 24)))),
          "Dense kernel is the initializer's output")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 8, 8, 1)).astype("float32")
    Y = (X.mean(axis=(1, 2, 3)) > 0).astype("int32")
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(8, 3, activation="relu", kernel_initializer=fk.HeNormal(seed=1)),
        keras.layers.Flatten(),
        keras.layers.Dense(32, activation="tanh", kernel_initializer=fk.Orthogonal(seed=2)),
        keras.layers.Dense(2, kernel_initializer=fk.GlorotUniform(seed=3)),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    hist = model.fit(X, Y, epochs=6, batch_size=64, verbose=0).history["loss"]
    check("model", hist[-1] < 0.85 * hist[0], f"loss {hist}")
    clone = keras.models.model_from_json(model.to_json())
    check("model", type(clone.layers[0].kernel_initializer) is fk.HeNormal,
          f"model_from_json gives {type(clone.layers[0].kernel_initializer)}")
    check("model", np.array_equal(npy(clone.layers[0].kernel),
                                  npy(fk.HeNormal(seed=1)((3, 3, 1, 8)))), "clone kernel")
    print("RESULT" + json.dumps(res))
''')

BACKENDS = [b for b in ("jax", "torch") if importlib.util.find_spec(b) is not None]


@pytest.fixture(scope="module", params=BACKENDS)
def report(request):
    env = dict(os.environ, KERAS_BACKEND=request.param,
               PYTHONPATH=FASTINIT_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=900)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT")]
    assert r.returncode == 0 and lines, r.stdout[-3000:] + r.stderr[-5000:]
    res = json.loads(lines[-1][len("RESULT"):])
    assert res["backend"] == request.param
    return res


@pytest.mark.parametrize("group,minimum", [
    ("api", 20), ("config", 100), ("seed", 100), ("stream", 5), ("dtype_error", 400),
    ("fallback", 3), ("stats", 100), ("model", 4)])
def test_keras_backend(report, group, minimum):
    fails = [f for f in report["failures"] if f.startswith(group + ":")]
    assert not fails, f"[{report['backend']}] " + "\n".join(fails[:20])
    assert report["groups"].get(group, 0) >= minimum, report["groups"]
