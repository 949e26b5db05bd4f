"""Initializer API: fans, gains, every scheme's formula, orthogonality, errors, reproducibility.

The formula checks always run and use numbers written out here (not the module's constants).
The framework cross-checks (PyTorch, JAX) run where those are installed (pytest.importorskip).

Statistical checks: the seeds are fixed, so every outcome is deterministic. Thresholds are
5 standard errors: for the root-mean-square r of n zero-mean samples of a distribution with
kurtosis k, sd(r) / sigma ~ sqrt((k - 1) / (4 n)) <= 1 / sqrt(2 n) for k <= 3 (normal 3,
normal truncated at +-2 std 2.36, uniform 1.8, |z|^2 of the complex ones smaller still). A
two-sided 5-sigma test has a false-alarm rate of 5.7e-7 per check were the seed drawn at
random; the whole file makes a few hundred such checks, so < 1e-3 overall.
"""

import math
import warnings

import numpy as np
import pytest
import scipy.stats

import fastinit as fi
from fastinit import initializers as I

SEED = 20240611
NSIG = 5.0
EMPTY_MSG = "Initializing zero-element tensors is a no-op"

# std of N(0, 1) cut at +-2, computed independently of fastinit's constant
TRUNC_SD = float(scipy.stats.truncnorm(-2, 2).std())

# (shape, layout): 2-D, conv 1-D/2-D/3-D kernels, in both layouts
SHAPES = [
    ((256, 128), "torch"),
    ((96, 320), "torch"),
    ((128, 64, 5), "torch"),
    ((64, 64, 3, 3), "torch"),
    ((32, 32, 3, 3, 3), "torch"),
    ((128, 256), "jax"),
    ((5, 64, 128), "jax"),
    ((3, 3, 64, 64), "jax"),
    ((3, 3, 3, 32, 32), "jax"),
]


def fans_ref(shape, layout):
    """fan_in, fan_out written out: torch (out, in, *k), jax (*k, in, out)."""
    if layout == "torch":
        rf = math.prod(shape[2:])
        return shape[1] * rf, shape[0] * rf
    rf = math.prod(shape[:-2])
    return shape[-2] * rf, shape[-1] * rf


SQ = math.sqrt
# name, keyword arguments, fans -> (distribution, parameter): parameter is the uniform bound,
# or the std of the result (for 'trunc' the std after truncation, i.e. sqrt(variance)).
CASES = [
    ("xavier_uniform", {}, lambda i, o: ("uniform", SQ(6 / (i + o)))),
    ("xavier_uniform", {"gain": 5 / 3}, lambda i, o: ("uniform", 5 / 3 * SQ(6 / (i + o)))),
    ("glorot_uniform", {}, lambda i, o: ("uniform", SQ(6 / (i + o)))),
    ("xavier_normal", {}, lambda i, o: ("normal", SQ(2 / (i + o)))),
    ("glorot_normal", {"gain": SQ(2)}, lambda i, o: ("normal", SQ(2) * SQ(2 / (i + o)))),
    ("he_uniform", {}, lambda i, o: ("uniform", SQ(6 / i))),
    # torch's nn.Linear / nn.Conv default: kaiming_uniform_(w, a=sqrt(5)) -> bound 1/sqrt(fan_in)
    ("kaiming_uniform", {"a": SQ(5)}, lambda i, o: ("uniform", 1 / SQ(i))),
    ("he_uniform", {"mode": "fan_out", "nonlinearity": "relu"},
     lambda i, o: ("uniform", SQ(6 / o))),
    ("he_normal", {}, lambda i, o: ("normal", SQ(2 / i))),
    ("kaiming_normal", {"mode": "FAN_OUT", "nonlinearity": "tanh"},
     lambda i, o: ("normal", 5 / 3 / SQ(o))),
    ("he_normal", {"a": 0.2}, lambda i, o: ("normal", SQ(2 / 1.04) / SQ(i))),
    ("he_normal", {"nonlinearity": "selu"}, lambda i, o: ("normal", 0.75 / SQ(i))),
    ("lecun_uniform", {}, lambda i, o: ("uniform", SQ(3 / i))),
    ("lecun_normal", {}, lambda i, o: ("normal", 1 / SQ(i))),
    ("selu_normal", {}, lambda i, o: ("normal", 1 / SQ(i))),
    ("variance_scaling", {}, lambda i, o: ("trunc", 1 / SQ(i))),
    ("variance_scaling", {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal"},
     lambda i, o: ("trunc", SQ(2 / i))),
    ("variance_scaling", {"scale": 0.5, "mode": "fan_out", "distribution": "normal"},
     lambda i, o: ("normal", SQ(0.5 / o))),
    ("variance_scaling", {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform"},
     lambda i, o: ("uniform", SQ(3 * 2 / (i + o)))),
    ("variance_scaling", {"scale": 3.0, "mode": "fan_geo_avg", "distribution": "truncated_normal"},
     lambda i, o: ("trunc", SQ(3 / SQ(i * o)))),
    ("variance_scaling", {"scale": 2.0, "mode": "fan_avg", "distribution": "untruncated_normal"},
     lambda i, o: ("normal", SQ(2 * 2 / (i + o)))),
]
def _case_id(name, kw):
    parts = [f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in kw.items()]
    return "-".join([name] + parts)


CASE_IDS = [_case_id(n, kw) for n, kw, _ in CASES]


def reference_fill(kind, p, shape, rng, dtype=np.float32):
    """The fill each scheme must equal: one sampler call with the formula's parameter."""
    if kind == "uniform":
        return fi.uniform(shape, -p, p, rng=rng, dtype=dtype)
    if kind == "normal":
        return fi.normal(shape, 0.0, p, rng=rng, dtype=dtype)
    return fi.truncated_normal(shape, 0.0, p / TRUNC_SD, -2.0, 2.0, rng=rng, dtype=dtype)


def rms(x):
    x = np.asarray(x)
    if x.dtype.kind == "c":
        return float(np.sqrt(np.mean(np.abs(x.astype(np.complex128)) ** 2)))
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def assert_std(x, target, what=""):
    """Root-mean-square within NSIG standard errors of `target` (see the module docstring)."""
    n = np.asarray(x).size
    tol = NSIG / math.sqrt(2 * n)
    r = rms(x)
    assert abs(r / target - 1) < tol, f"{what}: rms {r} vs {target} (rel tol {tol:.2e})"


def check_distribution(x, kind, p, what=""):
    x = np.asarray(x, dtype=np.float64)
    if kind == "uniform":
        assert np.abs(x).max() <= p * (1 + 1e-7), what
        # P(max |x| < 0.99 b) = 0.99^n < e^-100 for n > 10^4
        assert np.abs(x).max() > 0.99 * p, what
        assert_std(x, p / SQ(3), what)
    elif kind == "normal":
        assert_std(x, p, what)
        # an untruncated normal exceeds 3 std with probability 0.27 %: at least one in n > 10^4
        assert np.abs(x).max() > 3 * p, what
    else:
        assert_std(x, p, what)
        cut = 2 * p / TRUNC_SD
        assert np.abs(x).max() <= cut * (1 + 1e-6), what
        assert np.abs(x).max() > 0.99 * cut, what


# --- gains ---------------------------------------------------------------------------------

GAIN_TABLE = [
    ("linear", None, 1.0), ("conv1d", None, 1.0), ("conv2d", None, 1.0), ("conv3d", None, 1.0),
    ("conv_transpose1d", None, 1.0), ("conv_transpose2d", None, 1.0),
    ("conv_transpose3d", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
    ("relu", None, SQ(2)), ("leaky_relu", None, SQ(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, SQ(2 / 1.04)), ("leaky_relu", 0, SQ(2)), ("leaky_relu", 3, SQ(0.2)),
    ("leaky_relu", np.float32(0.5), SQ(2 / 1.25)), ("selu", None, 0.75),
    ("relu", "ignored", SQ(2)),
]


@pytest.mark.parametrize("name,param,want", GAIN_TABLE)
def test_gain_table(name, param, want):
    assert fi.calculate_gain(name, param) == pytest.approx(want, rel=1e-15)


@pytest.mark.parametrize("name", ["gelu", "ReLU", "", None, 3])
def test_gain_unknown_nonlinearity(name):
    with pytest.raises(ValueError, match=f"Unsupported nonlinearity {name}"):
        fi.calculate_gain(name)


@pytest.mark.parametrize("param", ["0.1", True, [0.1], float("nan"), float("inf")])
def test_gain_bad_slope(param):
    with pytest.raises(ValueError, match="negative_slope .* not a valid number"):
        fi.calculate_gain("leaky_relu", param)


def test_gain_matches_torch():
    torch = pytest.importorskip("torch")
    for name, param, _ in GAIN_TABLE:
        if name == "relu" and param is not None:
            continue
        p = float(param) if isinstance(param, np.floating) else param
        assert fi.calculate_gain(name, p) == pytest.approx(
            torch.nn.init.calculate_gain(name, p), rel=1e-15)
    for bad in ("gelu", "x"):
        with pytest.raises(ValueError) as theirs:
            torch.nn.init.calculate_gain(bad)
        with pytest.raises(ValueError) as ours:
            fi.calculate_gain(bad)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError) as theirs:
        torch.nn.init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError) as ours:
        fi.calculate_gain("leaky_relu", True)
    assert str(ours.value) == str(theirs.value)


# --- fans ----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,layout", SHAPES)
def test_fans_formula(shape, layout):
    assert fi.compute_fans(shape, layout=layout) == fans_ref(shape, layout)
    if layout == "jax":
        assert fi.compute_fans(shape, in_axis=-2, out_axis=-1) == fans_ref(shape, layout)
    else:
        assert fi.compute_fans(shape) == fans_ref(shape, layout)
        assert fi.compute_fans(shape, in_axis=1, out_axis=0) == fans_ref(shape, layout)


def test_fans_examples():
    assert fi.compute_fans((64, 32, 3, 3)) == (288, 576)
    assert fi.compute_fans((3, 3, 32, 64), layout="jax") == (288, 576)
    assert fi.compute_fans((3, 3, 32, 64), layout="FLAX") == (288, 576)
    # tuple axes and batch axes (JAX's general form)
    assert fi.compute_fans((4, 3, 5, 7), in_axis=(1, 2), out_axis=3, batch_axis=0) == (15, 7)
    assert fi.compute_fans((2, 6, 10), in_axis=1, out_axis=2, batch_axis=(0,)) == (6, 10)
    # Flax Embed: variance_scaling(1, 'fan_in', 'normal', out_axis=0) on (vocab, features)
    assert fi.compute_fans((1000, 64), in_axis=-2, out_axis=0) == (64, 64)
    # Keras: 1-D fans are shape[0], 0-D fans are 1
    assert fi.compute_fans((7,), layout="keras") == (7, 7)
    assert fi.compute_fans((), layout="keras") == (1, 1)
    assert fi.compute_fans((5, 6), layout="keras") == (5, 6)
    # overrides
    assert fi.compute_fans((7,), fan_in=3, fan_out=4.5) == (3, 4.5)
    assert fi.compute_fans((8, 9), fan_in=100) == (100, 8)


def test_fans_zero_size_no_division():
    assert fi.compute_fans((0, 5)) == (5, 0)
    assert fi.compute_fans((4, 0, 3)) == (0, 12)
    assert fi.compute_fans((3, 0, 4, 5), layout="jax") == (0, 0)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(shape=(5,)), ValueError, "fewer than 2 dimensions"),
    (dict(shape=()), ValueError, "fewer than 2 dimensions"),
    (dict(shape=(5,), fan_in=3), ValueError, "fewer than 2 dimensions"),
    (dict(shape=(4, 5), layout="caffe"), ValueError, "unknown layout"),
    (dict(shape=(4, 5), layout=1), TypeError, "layout must be a str"),
    (dict(shape=(4, 5), in_axis=2), ValueError, "in_axis=2 is out of range"),
    (dict(shape=(4, 5, 6), in_axis=(1, 1)), ValueError, "names an axis twice"),
    (dict(shape=(4, 5, 6), in_axis=1, out_axis=2, batch_axis=1), ValueError, "overlaps"),
    (dict(shape=(4, 5), in_axis=1.0), TypeError, "in_axis must be an int"),
    (dict(shape=(4, 5), fan_in=0), ValueError, "fan_in must be a positive finite"),
    (dict(shape=(4, 5), fan_out=-2), ValueError, "fan_out must be a positive finite"),
    (dict(shape=(4, 5), fan_in=float("nan")), ValueError, "fan_in must be a positive finite"),
    (dict(shape=(4, 5), fan_in="3"), TypeError, "fan_in must be a positive number"),
    (dict(shape=(4, -5)), ValueError, "negative"),
    (dict(shape="ab"), TypeError, "shape must be"),
])
def test_fans_errors(kwargs, exc, match):
    shape = kwargs.pop("shape")
    with pytest.raises(exc, match=match):
        fi.compute_fans(shape, **kwargs)


def test_fans_match_torch():
    torch = pytest.importorskip("torch")
    calc = torch.nn.init._calculate_fan_in_and_fan_out
    for shape in [(3, 4), (7, 2, 5), (6, 4, 3, 3), (8, 2, 3, 1, 5), (1, 1), (16, 1, 7)]:
        assert fi.compute_fans(shape) == calc(torch.empty(shape))
    for shape in [(5,), ()]:
        with pytest.raises(ValueError) as theirs:
            calc(torch.empty(shape))
        with pytest.raises(ValueError) as ours:
            fi.compute_fans(shape)
        assert str(ours.value).startswith(str(theirs.value))


def test_fans_match_jax():
    pytest.importorskip("jax")
    jinit = pytest.importorskip("jax._src.nn.initializers")
    cf = getattr(jinit, "_compute_fans", None)
    assert cf is not None, "jax no longer has _compute_fans: point this cross-check elsewhere"
    cases = [((3, 4), {}), ((3, 3, 4, 5), {}), ((2, 3, 3, 4, 5), {}),
             ((4, 3, 5, 7), dict(in_axis=(1, 2), out_axis=3, batch_axis=0)),
             ((1000, 64), dict(in_axis=-2, out_axis=0)),
             ((6, 5, 4), dict(in_axis=0, out_axis=1))]
    for shape, kw in cases:
        ours = fi.compute_fans(shape, layout="jax", **kw)
        theirs = cf(shape, **kw)
        assert ours == pytest.approx(theirs, rel=1e-12), (shape, kw)


# --- the schemes: formulas -----------------------------------------------------------------

def test_truncation_constant():
    assert I.TRUNCATED_STD == pytest.approx(TRUNC_SD, rel=1e-14)
    # E|z|^2 of a complex normal cut at |z| = 2: |z|^2 ~ Exp(1) cut at 4
    e = scipy.stats.truncexpon(4.0).mean()
    assert I.COMPLEX_TRUNCATED_STD == pytest.approx(math.sqrt(e), rel=1e-12)


@pytest.mark.parametrize("name,kw,formula", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("shape,layout", SHAPES, ids=[f"{s}-{l}" for s, l in SHAPES])
def test_scheme_equals_formula(name, kw, formula, shape, layout):
    """Each scheme is exactly one sampler call with the paper's parameter."""
    fin, fout = fans_ref(shape, layout)
    kind, p = formula(fin, fout)
    got = getattr(fi, name)(shape, **kw, layout=layout, rng=SEED)
    want = reference_fill(kind, p, shape, SEED)
    assert got.dtype == np.float32 and got.shape == shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7 * p)


@pytest.mark.parametrize("name,kw,formula", CASES, ids=CASE_IDS)
def test_scheme_statistics(name, kw, formula):
    """Empirical std and range of each scheme against the formula (not through fastinit)."""
    for k, (shape, layout) in enumerate([((256, 128), "torch"), ((3, 3, 64, 64), "jax"),
                                         ((32, 32, 3, 3, 3), "torch")]):
        fin, fout = fans_ref(shape, layout)
        kind, p = formula(fin, fout)
        x = getattr(fi, name)(shape, **kw, layout=layout, rng=SEED + k)
        check_distribution(x, kind, p, f"{name} {shape} {layout}")


def test_science_pins():
    """Glorot: Var = 2/(in+out); He: Var = 2/in; LeCun: Var = 1/in (the often swapped ones)."""
    shape = (300, 100)                    # fan_in 100, fan_out 300
    assert_std(fi.xavier_normal(shape, rng=1), SQ(2 / 400), "xavier")
    assert_std(fi.xavier_uniform(shape, rng=2), SQ(2 / 400), "xavier_u")
    assert_std(fi.he_normal(shape, rng=3), SQ(2 / 100), "he")
    assert_std(fi.he_uniform(shape, rng=4), SQ(2 / 100), "he_u")
    assert_std(fi.he_normal(shape, mode="fan_out", rng=5), SQ(2 / 300), "he fan_out")
    assert_std(fi.lecun_normal(shape, rng=6), SQ(1 / 100), "lecun")
    assert_std(fi.lecun_uniform(shape, rng=7), SQ(1 / 100), "lecun_u")


def test_aliases_and_selu_equal():
    assert fi.glorot_uniform is fi.xavier_uniform and fi.glorot_normal is fi.xavier_normal
    assert fi.kaiming_uniform is fi.he_uniform and fi.kaiming_normal is fi.he_normal
    np.testing.assert_array_equal(fi.selu_normal((40, 30), rng=3), fi.lecun_normal((40, 30), rng=3))


def test_lecun_normal_is_untruncated():
    x = fi.lecun_normal((512, 256), rng=11)
    std = 1 / SQ(256)
    assert np.abs(x).max() > 2.5 * std          # a truncated one stops at 2.27 std
    t = fi.variance_scaling((512, 256), 1.0, "fan_in", "truncated_normal", rng=11)
    assert np.abs(t).max() <= 2 * std / TRUNC_SD * (1 + 1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float16, "bfloat16"])
def test_other_dtypes(dtype):
    shape = (64, 32, 3)
    fin, _ = fans_ref(shape, "torch")
    got = fi.he_normal(shape, rng=SEED, dtype=dtype)
    want = fi.normal(shape, 0.0, SQ(2 / fin), rng=SEED, dtype=dtype)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-6)
    raw = np.empty(shape, np.uint16)
    fi.he_normal(out=raw, dtype=dtype if dtype != np.float64 else np.float16, rng=SEED)


def test_fan_overrides():
    # 1-D tensors are fine once the fans the scheme needs are given
    x = fi.xavier_uniform((1000,), fan_in=30, fan_out=70, rng=1)
    np.testing.assert_allclose(x, fi.uniform((1000,), -SQ(6 / 100), SQ(6 / 100), rng=1), rtol=1e-6)
    x = fi.he_normal(1000, fan_in=50, rng=2)
    np.testing.assert_allclose(x, fi.normal(1000, 0, SQ(2 / 50), rng=2), rtol=1e-6)
    x = fi.he_uniform(1000, mode="fan_out", fan_out=8, rng=2)
    np.testing.assert_allclose(x, fi.uniform(1000, -SQ(6 / 8), SQ(6 / 8), rng=2), rtol=1e-6)
    x = fi.lecun_normal((2, 3, 4), fan_in=12.5, rng=3)
    np.testing.assert_allclose(x, fi.normal((2, 3, 4), 0, 1 / SQ(12.5), rng=3), rtol=1e-6)
    # an override replaces only its own fan
    x = fi.xavier_normal((40, 30), fan_in=10, rng=4)            # fan_out 40 from the shape
    np.testing.assert_allclose(x, fi.normal((40, 30), 0, SQ(2 / 50), rng=4), rtol=1e-6)
    x = fi.variance_scaling((40, 30), 2.0, "fan_geo_avg", "normal", fan_out=90, rng=5)
    np.testing.assert_allclose(x, fi.normal((40, 30), 0, SQ(2 / SQ(30 * 90)), rng=5), rtol=1e-6)
    # a fan the scheme needs but that is missing on a 1-D tensor
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        fi.xavier_uniform((1000,), fan_in=30)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        fi.he_normal(1000, mode="fan_out", fan_in=30)
    with pytest.raises(ValueError, match="fan_in must be a positive finite"):
        fi.he_normal((4, 5), fan_in=0)
    with pytest.raises(ValueError, match="unknown layout"):
        fi.he_normal(10, fan_in=5, layout="nchw")


def test_axes_keywords():
    # batch axis: stacked independent (in, out) matrices
    x = fi.variance_scaling((8, 64, 32), 1.0, "fan_in", "normal", in_axis=1, out_axis=2,
                            batch_axis=0, rng=1)
    np.testing.assert_allclose(x, fi.normal((8, 64, 32), 0, 1 / SQ(64), rng=1), rtol=1e-6)
    # torch transposed-conv weights (in, out, *k): the axes say which is which
    x = fi.he_normal((16, 8, 3, 3), in_axis=0, out_axis=1, rng=2)
    np.testing.assert_allclose(x, fi.normal((16, 8, 3, 3), 0, SQ(2 / 144), rng=2), rtol=1e-6)


# --- framework cross-checks ----------------------------------------------------------------

TORCH_SCHEMES = [  # fastinit name, kwargs, torch function, its kwargs, distribution kind
    ("xavier_uniform", {"gain": 1.3}, "xavier_uniform_", {"gain": 1.3}, "uniform"),
    ("xavier_normal", {}, "xavier_normal_", {}, "normal"),
    ("he_uniform", {"a": SQ(5)}, "kaiming_uniform_", {"a": SQ(5)}, "uniform"),
    ("he_uniform", {"mode": "fan_out", "nonlinearity": "relu"}, "kaiming_uniform_",
     {"mode": "fan_out", "nonlinearity": "relu"}, "uniform"),
    ("he_normal", {}, "kaiming_normal_", {}, "normal"),
    ("he_normal", {"a": 0.1, "nonlinearity": "leaky_relu", "mode": "fan_out"},
     "kaiming_normal_", {"a": 0.1, "nonlinearity": "leaky_relu", "mode": "fan_out"}, "normal"),
    ("lecun_normal", {}, "kaiming_normal_", {"nonlinearity": "linear"}, "normal"),
]


@pytest.mark.parametrize("name,kw,tname,tkw,kind", TORCH_SCHEMES)
def test_matches_torch(name, kw, tname, tkw, kind):
    torch = pytest.importorskip("torch")
    calc = torch.nn.init._calculate_fan_in_and_fan_out
    torch.manual_seed(0)
    for shape in [(256, 128), (64, 64, 3, 3), (128, 64, 5), (32, 32, 3, 3, 3)]:
        # (1) torch's own fans and gain give fastinit's parameter exactly
        fin, fout = calc(torch.empty(shape))
        if tname.startswith("xavier"):
            std = tkw.get("gain", 1.0) * SQ(2 / (fin + fout))
        else:
            gain = torch.nn.init.calculate_gain(tkw.get("nonlinearity", "leaky_relu"),
                                                tkw.get("a", 0))
            std = gain / SQ(fin if tkw.get("mode", "fan_in") == "fan_in" else fout)
        p = SQ(3) * std if kind == "uniform" else std
        got = getattr(fi, name)(shape, **kw, rng=SEED)
        np.testing.assert_allclose(got, reference_fill(kind, p, shape, SEED), rtol=1e-6,
                                   atol=1e-7 * p)
        # (2) torch's actual output has the same distribution parameters
        t = getattr(torch.nn.init, tname)(torch.empty(shape), **tkw).numpy()
        check_distribution(t, kind, p, f"torch {tname} {shape}")
        check_distribution(got, kind, p, f"fastinit {name} {shape}")


JAX_SCHEMES = [  # jax initializer name, its args, fastinit call (layout jax), kind, var(fi, fo)
    ("glorot_uniform", {}, ("xavier_uniform", {}), "uniform", lambda i, o: 2 / (i + o)),
    ("glorot_normal", {}, ("variance_scaling", dict(scale=1.0, mode="fan_avg")), "trunc",
     lambda i, o: 2 / (i + o)),
    ("he_uniform", {}, ("he_uniform", {}), "uniform", lambda i, o: 2 / i),
    ("he_normal", {}, ("variance_scaling", dict(scale=2.0)), "trunc", lambda i, o: 2 / i),
    ("lecun_uniform", {}, ("lecun_uniform", {}), "uniform", lambda i, o: 1 / i),
    ("lecun_normal", {}, ("variance_scaling", {}), "trunc", lambda i, o: 1 / i),
    ("variance_scaling", dict(scale=0.7, mode="fan_geo_avg", distribution="normal"),
     ("variance_scaling", dict(scale=0.7, mode="fan_geo_avg", distribution="normal")),
     "normal", lambda i, o: 0.7 / SQ(i * o)),
]


@pytest.mark.parametrize("jname,jkw,ours,kind,var", JAX_SCHEMES)
def test_matches_jax(jname, jkw, ours, kind, var):
    jax = pytest.importorskip("jax")
    init = getattr(jax.nn.initializers, jname)(**jkw)
    # one dense and one conv shape per scheme (each JAX call compiles: keep them few)
    shapes = [(256, 128), (3, 3, 64, 64), (3, 3, 3, 32, 32)]
    j = JAX_SCHEMES.index((jname, jkw, ours, kind, var))
    for k, shape in enumerate([shapes[0], shapes[1 + j % 2]]):
        fin, fout = fans_ref(shape, "jax")
        std = SQ(var(fin, fout))
        p = SQ(3) * std if kind == "uniform" else std
        theirs = np.asarray(init(jax.random.key(k), shape, np.float32))
        mine = getattr(fi, ours[0])(shape, **ours[1], layout="jax", rng=SEED + k)
        check_distribution(theirs, kind, p, f"jax {jname} {shape}")
        check_distribution(mine, kind, p, f"fastinit {ours[0]} {shape}")


def test_matches_jax_complex():
    jax = pytest.importorskip("jax")
    shape = (256, 128)
    for dist in ("normal", "uniform"):
        init = jax.nn.initializers.variance_scaling(2.0, "fan_in", dist)
        theirs = np.asarray(init(jax.random.key(1), shape, np.complex64))
        mine = fi.variance_scaling(shape, 2.0, "fan_in", dist, layout="jax",
                                   dtype=np.complex64, rng=1)
        assert_std(theirs, SQ(2 / 256), f"jax complex {dist}")
        assert_std(mine, SQ(2 / 256), f"fastinit complex {dist}")
        if dist == "uniform":         # both fill the disk of radius sqrt(2) std
            assert np.abs(theirs).max() == pytest.approx(np.abs(mine).max(), rel=0.01)


def test_zero_element_warning_matches_torch():
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning) as theirs:
        torch.nn.init.kaiming_uniform_(torch.empty(0, 3))
    with pytest.warns(UserWarning) as ours:
        fi.he_uniform((0, 3))
    assert str(ours[0].message) == str(theirs[0].message) == EMPTY_MSG


@pytest.mark.parametrize("call", [
    lambda: fi.he_uniform((0, 3)), lambda: fi.eye((0, 3)), lambda: fi.orthogonal((0, 3)),
    lambda: fi.sparse((0, 3), 0.5),
    lambda: fi.fill_many([("he_uniform", np.empty((0, 3), np.float32))])])
def test_zero_element_warning_points_at_the_caller(call):
    # the warning names the user's line, not one inside fastinit (PyTorch's stacklevel),
    # also when another fastinit module makes the call
    with pytest.warns(UserWarning, match=EMPTY_MSG) as caught:
        call()
    assert caught[0].filename == __file__


# --- complex -------------------------------------------------------------------------------

@pytest.mark.parametrize("cdt", [np.complex64, np.complex128])
def test_complex_normal_is_real_view(cdt):
    shape = (64, 48)
    real = np.float32 if cdt == np.complex64 else np.float64
    z = fi.variance_scaling(shape, 2.0, "fan_in", "normal", dtype=cdt, rng=5)
    assert z.dtype == cdt
    want = fi.normal(shape + (2,), 0.0, SQ(2 / 48) / SQ(2), dtype=real, rng=5)
    np.testing.assert_allclose(z.real, want[..., 0], rtol=1e-6)
    np.testing.assert_allclose(z.imag, want[..., 1], rtol=1e-6)
    # the named schemes take complex dtypes too (JAX's are variance_scaling)
    h = fi.he_normal(shape, dtype=cdt, rng=5)
    np.testing.assert_allclose(h, z, rtol=1e-6)


@pytest.mark.parametrize("cdt", [np.complex64, np.complex128])
def test_complex_statistics(cdt):
    shape = (512, 128)
    std = SQ(1.5 / 128)
    n = fi.variance_scaling(shape, 1.5, "fan_in", "normal", dtype=cdt, rng=1)
    assert_std(n, std, "normal")
    assert_std(n.real, std / SQ(2), "normal re")
    assert_std(n.imag, std / SQ(2), "normal im")
    u = fi.variance_scaling(shape, 1.5, "fan_in", "uniform", dtype=cdt, rng=2)
    assert_std(u, std, "uniform disk")
    assert np.abs(u).max() <= SQ(2) * std * (1 + 1e-6)
    assert np.abs(u).max() > 0.99 * SQ(2) * std
    # angle uniform: the mean of z is 0 (sd of the mean of z is std / sqrt(n))
    assert abs(u.mean()) < NSIG * std / SQ(u.size)
    t = fi.variance_scaling(shape, 1.5, "fan_in", "truncated_normal", dtype=cdt, rng=3)
    assert_std(t, std, "truncated disk")
    cut = 2 * std / I.COMPLEX_TRUNCATED_STD
    assert np.abs(t).max() <= cut * (1 + 1e-6)
    assert np.abs(t).max() > 0.99 * cut


def test_complex_out_and_errors():
    z = np.zeros((4, 6), np.complex128)
    assert fi.xavier_uniform(out=z, rng=1) is z and np.all(z != 0)
    strided = np.zeros((8, 12), np.complex64)[::2, ::2]
    fi.variance_scaling(out=strided, rng=3)
    np.testing.assert_array_equal(strided, fi.variance_scaling((4, 6), dtype=np.complex64, rng=3))
    for f in (fi.orthogonal, fi.delta_orthogonal, lambda *a, **k: fi.sparse(*a, sparsity=0.5, **k)):
        with pytest.raises(TypeError, match="complex"):
            f((4, 4, 3), dtype=np.complex64)
    with pytest.raises(TypeError, match="does not match"):
        fi.he_normal(out=np.zeros((3, 3), np.complex64), dtype=np.complex128)
    with pytest.raises(TypeError):
        fi.he_normal((3, 3), dtype=np.clongdouble)


# --- orthogonal ------------------------------------------------------------------------------

ORTHO_SHAPES = [(64, 32), (32, 64), (40, 40), (16, 8, 3, 3), (4, 8, 3), (1, 10), (10, 1)]
ORTHO_TOL = {np.float64: 1e-12, np.float32: 1e-5, np.float16: 5e-3, "bfloat16": 4e-2}


def _as_matrix(q, column_axis=None):
    q = np.asarray(q, dtype=np.float64)
    if column_axis is None:
        return q.reshape(q.shape[0], -1)
    return np.moveaxis(q, column_axis, -1).reshape(-1, q.shape[column_axis])


@pytest.mark.parametrize("shape", ORTHO_SHAPES)
@pytest.mark.parametrize("dtype", list(ORTHO_TOL))
def test_orthogonal_orthonormal(shape, dtype):
    q = fi.orthogonal(shape, rng=SEED, dtype=dtype)
    assert q.shape == shape
    m = _as_matrix(q)
    rows, cols = m.shape
    g = m.T @ m if rows >= cols else m @ m.T
    np.testing.assert_allclose(g, np.eye(min(rows, cols)), atol=ORTHO_TOL[dtype])


@pytest.mark.parametrize("shape", ORTHO_SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthogonal_sign_convention(shape, dtype):
    """Q is the Q of the QR of the fastinit normal fill with diag(R) > 0 (torch's convention)."""
    gain = 1.7
    q = _as_matrix(fi.orthogonal(shape, gain, rng=SEED, dtype=dtype)) / gain
    rows, cols = q.shape
    a = fi.normal((rows, cols), rng=SEED, dtype=dtype).astype(np.float64)
    if rows < cols:
        a, q = a.T, q.T
    r = q.T @ a                       # = R: upper triangular, positive diagonal
    tol = ORTHO_TOL[dtype] * 100 * np.abs(a).max()
    assert np.all(np.diag(r) > 0)
    assert np.abs(np.tril(r, -1)).max() < tol


def test_orthogonal_column_axis_and_gain():
    shape = (4, 5, 6)
    for ax in (0, 1, -1):
        q = fi.orthogonal(shape, 2.0, column_axis=ax, rng=1, dtype=np.float64)
        m = _as_matrix(q, ax) / 2.0
        rows, cols = m.shape
        g = m.T @ m if rows >= cols else m @ m.T
        np.testing.assert_allclose(g, np.eye(min(rows, cols)), atol=1e-12)
    # column_axis=0 and the default differ only in how the stream is laid out
    assert not np.array_equal(fi.orthogonal(shape, column_axis=0, rng=1),
                              fi.orthogonal(shape, rng=1))


def test_orthogonal_matches_torch():
    torch = pytest.importorskip("torch")
    for shape in [(64, 32), (32, 64), (16, 8, 3, 3)]:
        ours = fi.orthogonal(shape, rng=SEED, dtype=np.float64)
        rows = shape[0]
        cols = math.prod(shape[1:])
        # torch.nn.init.orthogonal_'s algorithm, on fastinit's normal draws
        flat = torch.from_numpy(fi.normal((rows, cols), rng=SEED, dtype=np.float64))
        if rows < cols:
            flat = flat.t()
        q, r = torch.linalg.qr(flat)
        q = q * torch.diag(r, 0).sign()
        if rows < cols:
            q = q.t()
        np.testing.assert_allclose(ours, q.reshape(shape).numpy(), atol=1e-12)
        # and torch's own initializer gives matrices of the same kind
        t = torch.nn.init.orthogonal_(torch.empty(shape, dtype=torch.float64)).numpy()
        m = t.reshape(rows, -1)
        g = m.T @ m if rows >= cols else m @ m.T
        np.testing.assert_allclose(g, np.eye(min(rows, cols)), atol=1e-12)


def test_orthogonal_haar_statistics():
    """Entries of a Haar-random orthogonal n x n matrix have mean 0 and variance 1/n."""
    n = 200
    q = fi.orthogonal((n, n), rng=3, dtype=np.float64)
    assert_std(q, 1 / SQ(n), "haar entries")
    # with the sign fix, diag(Q) has mean 0 (without it the diagonal is biased positive):
    # sd of the mean of n entries of variance 1/n is 1/n
    assert abs(np.diag(q).mean()) < NSIG / n


def test_orthogonal_errors():
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions"):
        fi.orthogonal((5,))
    with pytest.raises(ValueError, match="gain must be a positive finite"):
        fi.orthogonal((5, 5), 0.0)
    with pytest.raises(ValueError, match="column_axis=2 is out of range"):
        fi.orthogonal((5, 5), column_axis=2)
    with pytest.raises(TypeError, match="column_axis must be an int"):
        fi.orthogonal((5, 5), column_axis=1.5)


def test_delta_orthogonal():
    w = fi.delta_orthogonal((8, 4, 3, 3), 1.5, rng=2, dtype=np.float64)
    c = w[:, :, 1, 1] / 1.5
    np.testing.assert_allclose(c.T @ c, np.eye(4), atol=1e-12)
    mask = np.ones(w.shape, bool)
    mask[:, :, 1, 1] = False
    assert np.all(w[mask] == 0)
    np.testing.assert_allclose(c, fi.orthogonal((8, 4), rng=2, dtype=np.float64), atol=0)
    # JAX layout: same kernel, transposed; centre (k - 1) // 2 as JAX
    for shape_t, shape_j, centre in [((8, 4, 5), (5, 4, 8), (2,)),
                                     ((6, 6, 4, 4), (4, 4, 6, 6), (1, 1)),
                                     ((8, 2, 3, 3, 3), (3, 3, 3, 2, 8), (1, 1, 1))]:
        wt = fi.delta_orthogonal(shape_t, rng=5)
        wj = fi.delta_orthogonal(shape_j, layout="jax", rng=5)
        np.testing.assert_array_equal(wj[centre], wt[(slice(None), slice(None)) + centre].T)
        assert np.count_nonzero(wt) == np.count_nonzero(wt[(slice(None), slice(None)) + centre])
    with pytest.raises(ValueError, match="in channels <= out channels"):
        fi.delta_orthogonal((4, 8, 3))
    with pytest.raises(ValueError, match="3-D, 4-D or 5-D"):
        fi.delta_orthogonal((4, 8))


def test_delta_orthogonal_matches_jax_structure():
    jax = pytest.importorskip("jax")
    shape = (3, 3, 4, 8)
    theirs = np.asarray(jax.nn.initializers.delta_orthogonal()(jax.random.key(0), shape),
                        dtype=np.float64)
    mine = fi.delta_orthogonal(shape, layout="jax", rng=0, dtype=np.float64)
    # the same taps are non-zero (the centre (k - 1) // 2), and both centres have orthonormal rows
    np.testing.assert_array_equal(np.abs(theirs).sum(axis=(2, 3)) != 0,
                                  np.abs(mine).sum(axis=(2, 3)) != 0)
    for w in (theirs, mine):
        c = w[1, 1]
        np.testing.assert_allclose(c @ c.T, np.eye(4), atol=1e-6)


# --- eye, dirac, sparse, constants -------------------------------------------------------------

def test_eye():
    np.testing.assert_array_equal(fi.eye((3, 5)), np.eye(3, 5, dtype=np.float32))
    np.testing.assert_array_equal(fi.eye((4, 2), 0.5, dtype=np.float64), 0.5 * np.eye(4, 2))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        fi.eye((3, 3, 3))


def _dirac_loop(shape, groups):
    """torch.nn.init.dirac_ written out."""
    w = np.zeros(shape, np.float32)
    opg = shape[0] // groups
    centre = tuple(s // 2 for s in shape[2:])
    for g in range(groups):
        for d in range(min(opg, shape[1])):
            w[(g * opg + d, d) + centre] = 1
    return w


@pytest.mark.parametrize("shape,groups", [((4, 4, 3), 1), ((6, 4, 5, 5), 1), ((6, 2, 4, 4), 3),
                                          ((4, 8, 3, 3, 3), 2), ((8, 3, 2, 4), 2)])
def test_dirac(shape, groups):
    w = fi.dirac(shape, groups)
    np.testing.assert_array_equal(w, _dirac_loop(shape, groups))
    jshape = shape[2:] + (shape[1], shape[0])
    wj = fi.dirac(jshape, groups, layout="jax")
    np.testing.assert_array_equal(wj, np.moveaxis(np.moveaxis(w, 0, -1), 0, -2))


def test_dirac_matches_torch():
    torch = pytest.importorskip("torch")
    for shape, groups in [((4, 4, 3), 1), ((6, 2, 4, 4), 3), ((4, 8, 3, 3, 3), 2),
                          ((8, 3, 2, 4), 2)]:
        np.testing.assert_array_equal(fi.dirac(shape, groups),
                                      torch.nn.init.dirac_(torch.empty(shape), groups).numpy())


def test_dirac_errors():
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions"):
        fi.dirac((4, 4))
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        fi.dirac((5, 4, 3), 2)
    with pytest.raises(ValueError, match="groups must be >= 1"):
        fi.dirac((4, 4, 3), 0)
    with pytest.raises(TypeError, match="groups must be an int"):
        fi.dirac((4, 4, 3), 2.0)


def test_eye_matches_torch():
    torch = pytest.importorskip("torch")
    for shape in [(3, 5), (5, 3), (4, 4)]:
        np.testing.assert_array_equal(fi.eye(shape), torch.nn.init.eye_(torch.empty(shape)).numpy())


@pytest.mark.parametrize("shape,sparsity", [((100, 30), 0.1), ((37, 11), 0.5), ((10, 4), 0.0),
                                            ((10, 4), 1.0), ((1, 5), 0.3)])
def test_sparse(shape, sparsity):
    w = fi.sparse(shape, sparsity, std=0.02, rng=SEED)
    rows, cols = shape
    nz = math.ceil(sparsity * rows)
    assert np.all((w == 0).sum(axis=0) == nz)
    # the non-zero entries are the normal fill; the zeros are the nz smallest keys per column
    g = np.random.default_rng(SEED)
    vals = fi.normal(shape, 0.0, 0.02, rng=g)
    keys = fi.random(shape, rng=g)
    keep = w != 0
    np.testing.assert_array_equal(w[keep], vals[keep])
    for c in range(cols):
        zero_rows = np.sort(np.argsort(keys[:, c], kind="stable")[:nz])
        np.testing.assert_array_equal(np.flatnonzero(~keep[:, c]), zero_rows)


def test_sparse_statistics_and_errors():
    w = fi.sparse((400, 100), 0.25, std=0.05, rng=1)
    assert_std(w[w != 0], 0.05, "sparse values")
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        fi.sparse((4, 4, 4), 0.1)
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\]"):
        fi.sparse((4, 4), 1.5)
    with pytest.raises(TypeError, match="sparsity"):
        fi.sparse((4, 4))
    with pytest.raises(ValueError, match="std must be >= 0"):
        fi.sparse((4, 4), 0.1, std=-1)


def test_sparse_consumes_generator():
    g = np.random.default_rng(7)
    w1 = fi.sparse((30, 20), 0.2, rng=g)
    h = np.random.default_rng(7)
    h.random(2 * 600, dtype=np.float32)           # 2n 32-bit words
    assert g.bit_generator.state == h.bit_generator.state
    np.testing.assert_array_equal(w1, fi.sparse((30, 20), 0.2, rng=7))
    assert not np.array_equal(fi.sparse((30, 20), 0.2, rng=g), w1)


def test_constant_zeros_ones():
    np.testing.assert_array_equal(fi.constant((2, 3), -7), np.full((2, 3), -7, np.float32))
    np.testing.assert_array_equal(fi.zeros((2, 3), dtype=np.float64), np.zeros((2, 3)))
    np.testing.assert_array_equal(fi.ones(4, dtype=np.float16), np.ones(4, np.float16))
    b = fi.ones(3, dtype="bfloat16")
    assert b.dtype.name == "bfloat16" and np.all(b.astype(np.float32) == 1)
    raw = np.zeros(3, np.uint16)
    fi.constant(out=raw, value=1.0, dtype="bfloat16")
    assert np.all(raw == 0x3F80)
    fi.constant(out=raw, value=1.0, dtype="float16")
    assert np.all(raw == 0x3C00)
    np.testing.assert_array_equal(fi.constant((2, 3), [1, 2, 3]), [[1, 2, 3], [1, 2, 3]])
    z = fi.constant((2,), 1 + 2j, dtype=np.complex64)
    assert z.dtype == np.complex64 and np.all(z == 1 + 2j)
    assert np.isinf(fi.constant(2, -np.inf)).all()
    with pytest.raises(ValueError, match="overflows float16"):
        fi.constant((2,), 1e6, dtype=np.float16)
    with pytest.raises(TypeError, match="complex value needs a complex dtype"):
        fi.constant((2,), 1j)
    with pytest.raises(ValueError, match="does not broadcast"):
        fi.constant((2, 3), [1, 2])
    with pytest.raises(TypeError, match="missing required argument 'value'"):
        fi.constant((2, 3))
    # a large fill split over threads writes the same
    big = np.empty((1 << 21) + 3, np.float32)
    fi.constant(out=big, value=0.25, threads=2)
    assert np.all(big == 0.25)
    big2 = np.empty((3, 1 << 20), np.float64)
    fi.ones(out=big2, threads=2)
    assert np.all(big2 == 1)


# --- zero-element tensors, errors, nothing written on a bad call ------------------------------

RANDOM_FNS = {
    "variance_scaling": lambda s, **k: fi.variance_scaling(s, **k),
    "xavier_uniform": lambda s, **k: fi.xavier_uniform(s, **k),
    "xavier_normal": lambda s, **k: fi.xavier_normal(s, **k),
    "he_uniform": lambda s, **k: fi.he_uniform(s, **k),
    "he_normal": lambda s, **k: fi.he_normal(s, **k),
    "lecun_uniform": lambda s, **k: fi.lecun_uniform(s, **k),
    "lecun_normal": lambda s, **k: fi.lecun_normal(s, **k),
    "selu_normal": lambda s, **k: fi.selu_normal(s, **k),
}
STRUCT_FNS = {
    "orthogonal": lambda s, **k: fi.orthogonal(s, **k),
    "eye": lambda s, **k: fi.eye(s, **k),
    "sparse": lambda s, **k: fi.sparse(s, 0.5, **k),
}
CONV_FNS = {
    "dirac": lambda s, **k: fi.dirac(s, **k),
    "delta_orthogonal": lambda s, **k: fi.delta_orthogonal(s, **k),
}


@pytest.mark.parametrize("name", list(RANDOM_FNS) + list(STRUCT_FNS) + list(CONV_FNS))
def test_zero_element_noop(name):
    f = {**RANDOM_FNS, **STRUCT_FNS, **CONV_FNS}[name]
    shapes = [(5, 0, 3), (4, 4, 0, 3)] if name in CONV_FNS else [(0, 5), (7, 0)]
    if name in RANDOM_FNS:
        shapes += [(0,), (3, 0, 2, 2), (0, 0)]
    for shape in shapes:
        with pytest.warns(UserWarning, match=EMPTY_MSG):
            r = f(shape, rng=1)
        assert r.shape == shape and r.dtype == np.float32
        out = np.empty(shape, np.float64)
        g = np.random.default_rng(1)
        before = g.bit_generator.state
        with pytest.warns(UserWarning, match=EMPTY_MSG):
            assert f(None, out=out, rng=g) is out
        assert g.bit_generator.state == before
    # still validated
    with pytest.raises(TypeError):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f(shapes[0], rng="seed")


def test_zero_element_constant_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fi.zeros((0, 3)).shape == (0, 3)
        assert fi.constant((4, 0), 2.0).shape == (4, 0)


def test_empty_block_of_nonempty_tensor():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = fi.he_normal(None, global_shape=(8, 4), index=(slice(3, 3),), rng=1)
        assert x.shape == (0, 4)


@pytest.mark.parametrize("call,exc,match", [
    (lambda o: fi.variance_scaling(out=o, mode="fan_sum"), ValueError, "invalid mode"),
    (lambda o: fi.variance_scaling(out=o, distribution="cauchy"), ValueError,
     "invalid distribution"),
    (lambda o: fi.variance_scaling(out=o, mode=1), TypeError, "mode must be a str"),
    (lambda o: fi.variance_scaling(out=o, scale=0.0), ValueError, "scale must be a positive"),
    (lambda o: fi.variance_scaling(out=o, scale=-1.0), ValueError, "scale must be a positive"),
    (lambda o: fi.variance_scaling(out=o, scale=float("inf")), ValueError, "scale"),
    (lambda o: fi.he_normal(out=o, mode="fan_avg"), ValueError,
     r"Mode fan_avg not supported, please use one of \['fan_in', 'fan_out'\]"),
    (lambda o: fi.he_uniform(out=o, nonlinearity="swish"), ValueError,
     "Unsupported nonlinearity swish"),
    (lambda o: fi.he_uniform(out=o, a="x"), ValueError, "negative_slope x not a valid number"),
    (lambda o: fi.xavier_uniform(out=o, gain=0), ValueError, "gain must be a positive finite"),
    (lambda o: fi.xavier_uniform(out=o, gain=-1.0), ValueError, "gain must be a positive"),
    (lambda o: fi.xavier_normal(out=o, gain=float("nan")), ValueError, "gain must be"),
    (lambda o: fi.xavier_normal(out=o, gain="2"), TypeError, "gain must be a real number"),
    (lambda o: fi.xavier_normal(out=o, gain=True), TypeError, "gain must be a real number"),
    (lambda o: fi.xavier_normal(out=o, layout="nhwc"), ValueError, "unknown layout"),
    (lambda o: fi.xavier_normal(out=o, in_axis=5), ValueError, "out of range"),
    (lambda o: fi.he_normal(out=o, dtype=np.float64), TypeError, "does not match"),
    (lambda o: fi.he_normal(out=o, rng="seed"), TypeError, "rng must be"),
    (lambda o: fi.he_normal(out=o, rng=np.random.Generator(np.random.MT19937(1))), TypeError,
     "PCG64"),
    (lambda o: fi.he_normal(out=o, threads=0), ValueError, "threads must be >= 1"),
    (lambda o: fi.he_normal((3, 3), out=o), ValueError, "does not match"),
    (lambda o: fi.orthogonal(out=o, gain=-2.0), ValueError, "gain"),
    (lambda o: fi.sparse(out=o, sparsity=0.5, std=float("nan")), ValueError, "std must be"),
    (lambda o: fi.sparse(out=o, sparsity=0.5, rng=-1), ValueError, "rng must be"),
    (lambda o: fi.eye(out=o, gain=float("inf")), ValueError, "gain must be finite"),
    (lambda o: fi.constant(out=o, value="a"), TypeError, "value must be a number"),
    (lambda o: fi.zeros(out=o, threads=-1), ValueError, "threads"),
])
def test_errors_write_nothing(call, exc, match):
    out = np.full((6, 4), 123.0, np.float32)
    with pytest.raises(exc, match=match):
        call(out)
    assert np.all(out == 123.0)


def test_errors_types_and_readonly():
    ro = np.zeros((4, 4), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fi.he_normal(out=ro)
    with pytest.raises(ValueError, match="read-only"):
        fi.orthogonal(out=ro)
    with pytest.raises(ValueError, match="read-only"):
        fi.zeros(out=ro)
    with pytest.raises(TypeError, match="floating dtype"):
        fi.he_normal(out=np.zeros((4, 4), np.int32))
    with pytest.raises(TypeError, match="float32, float64, float16 or bfloat16"):
        fi.xavier_uniform((4, 4), dtype=np.int8)
    with pytest.raises(TypeError, match="give shape or out"):
        fi.xavier_uniform()
    g = np.random.default_rng(3)
    state = g.bit_generator.state
    with pytest.raises(ValueError):
        fi.he_normal((4, 4), mode="bad", rng=g)
    with pytest.raises(ValueError):
        fi.orthogonal((4,), rng=g)
    assert g.bit_generator.state == state


def test_uint16_out():
    x = np.empty((64, 32), np.uint16)
    fi.xavier_normal(out=x, dtype="float16", rng=1)
    np.testing.assert_array_equal(x.view(np.float16),
                                  fi.xavier_normal((64, 32), dtype=np.float16, rng=1))
    fi.orthogonal(out=x, dtype="bfloat16", rng=1)
    np.testing.assert_array_equal(
        x, fi.orthogonal((64, 32), dtype="bfloat16", rng=1).view(np.uint16))
    with pytest.raises(TypeError, match="uint16"):
        fi.orthogonal(out=x, rng=1)


# --- reproducibility -------------------------------------------------------------------------

def _last_dim(shape, kw):
    """Length of the last axis of the (global) tensor a call fills."""
    return (shape or kw.get("global_shape") or kw["out"].shape)[-1]


ALL_FNS = {**RANDOM_FNS, **STRUCT_FNS,
           "complex": lambda s, **k: fi.variance_scaling(s, 2.0, "fan_avg", "uniform",
                                                         dtype=np.complex64, **k),
           "constant": lambda s, **k: fi.constant(
               s, np.arange(_last_dim(s, k), dtype=np.float32), **k)}


@pytest.mark.parametrize("name", list(ALL_FNS))
def test_same_rng_same_weights_any_threads(name):
    f = ALL_FNS[name]
    shape = (512, 160)                       # 81920 elements: enough for 2 threads
    a = f(shape, rng=SEED, threads=1)
    b = f(shape, rng=SEED, threads=2)
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(SEED)
    c = f(shape, rng=g, threads=2)
    np.testing.assert_array_equal(a, c)
    if name not in ("eye", "constant"):
        assert not np.array_equal(f(shape, rng=g), c)      # the Generator moved on
    # other memory layouts of out
    fo = np.empty(shape[::-1], a.dtype).T
    np.testing.assert_array_equal(f(None, out=fo, rng=SEED), a)


BLOCK_FNS = {**ALL_FNS, **CONV_FNS,
             "complex_normal": lambda s, **k: fi.xavier_normal(s, dtype=np.complex128, **k),
             "complex_trunc": lambda s, **k: fi.variance_scaling(s, dtype=np.complex64, **k)}


@pytest.mark.parametrize("name", list(BLOCK_FNS))
def test_blocks_equal_slices(name):
    """global_shape/index: a block equals the slice of the full fill; fans from global_shape."""
    f = BLOCK_FNS[name]
    gshape = (12, 6, 3) if name in CONV_FNS else (24, 10)
    full = f(gshape, rng=SEED)
    g = np.random.default_rng(SEED)
    state = g.bit_generator.state
    for index in [(slice(0, 8),), (slice(8, 24), slice(2, 7)),
                  (slice(1, 20, 3), slice(None, None, 2)), (5,), (slice(None), 3)]:
        block = f(None, global_shape=gshape, index=index, rng=g)
        np.testing.assert_array_equal(block, full[index], err_msg=str(index))
        assert g.bit_generator.state == state            # a block fill consumes nothing
    out = np.empty(full[2:9].shape, full.dtype)
    assert f(None, out=out, global_shape=gshape, index=(slice(2, 9),), rng=SEED) is out
    np.testing.assert_array_equal(out, full[2:9])
