"""fastinit.torch against the installed torch (2.13): names, signatures, in-place behaviour,
errors and warnings (compared with torch's own), statistics, patch() and init_module."""

import collections
import inspect
import math
import os
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")
import torch.nn as nn  # noqa: E402

import fastinit  # noqa: E402
import fastinit.torch as ft  # noqa: E402
import fastinit.torch.state as ft_state  # noqa: E402
import fastinit.torch.streams as ft_streams  # noqa: E402
import fastinit.torch.writing as ft_writing  # noqa: E402
from fastinit.seeding import seed_for  # noqa: E402

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
RANDOM = ["uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_",
          "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_"]
ARGS = {"uniform_": (-0.5, 0.5), "normal_": (0.1, 0.2), "trunc_normal_": (0.0, 1.0, -1.0, 1.5),
        "sparse_": (0.3,), "constant_": (0.25,), "dirac_": (2,)}


def shape_for(name):
    return (6, 4, 3) if name == "dirac_" else (48, 20)


def np_dtype(dtype):
    return {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16,
            torch.bfloat16: "bfloat16"}[dtype]


def bits(t):
    """The tensor's raw bits (so NaNs and signed zeros compare exactly)."""
    it = {2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()]
    return t.contiguous().view(it)


def state(g):
    """A Generator's state, without the stale 32-bit half numpy keeps when none is buffered."""
    st = g.bit_generator.state
    if not st["has_uint32"]:
        st["uinteger"] = 0
    return st


def same_bits(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(bits(a), bits(b))


# --- names and signatures -------------------------------------------------------------------

def test_import_fastinit_does_not_import_torch():
    code = "import sys, fastinit; assert 'torch' not in sys.modules, 'torch imported'"
    here = os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))
    env = dict(os.environ, PYTHONPATH=here + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


@pytest.mark.parametrize("name", torch.nn.init.__all__)
def test_same_names_and_signatures(name):
    ours, theirs = getattr(ft, name), getattr(torch.nn.init, name)
    if name in ("uniform", "normal", "constant", "eye", "dirac", "xavier_uniform",
                "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"):
        assert ours.__name__ == name          # deprecated aliases: (*args, **kwargs) wrappers
        return
    p_ours = list(inspect.signature(ours).parameters.values())
    p_theirs = list(inspect.signature(theirs).parameters.values())
    assert [(p.name, p.default, p.kind) for p in p_ours[:len(p_theirs)]] == \
        [(p.name, p.default, p.kind) for p in p_theirs]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in p_ours[len(p_theirs):])
    if name in RANDOM:
        assert [p.name for p in p_ours[len(p_theirs):]] == ["rng", "threads"]


# --- in place, any dtype, any layout ------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", RANDOM + ["eye_", "dirac_", "constant_", "ones_", "zeros_"])
def test_in_place(name, dtype):
    t = torch.full(shape_for(name), float("nan"), dtype=dtype)
    ptr, ver = t.data_ptr(), t._version
    kw = {"rng": 1} if name in RANDOM else {}
    out = getattr(ft, name)(t, *ARGS.get(name, ()), **kw)
    assert out is t and t.data_ptr() == ptr and t.dtype == dtype
    assert t.shape == shape_for(name)
    assert torch.isfinite(t.float()).all()
    assert t._version > ver


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["uniform_", "normal_", "trunc_normal_", "xavier_normal_"])
def test_values_are_fastinit_streams(name, dtype):
    """The tensor's bits equal fastinit's NumPy fill with the same rng."""
    shape = (33, 17)
    t = getattr(ft, name)(torch.empty(shape, dtype=dtype), *ARGS.get(name, ()), rng=5)
    if name == "uniform_":
        ref = fastinit.uniform(shape, -0.5, 0.5, dtype=np_dtype(dtype), rng=5)
    elif name == "normal_":
        ref = fastinit.normal(shape, 0.1, 0.2, dtype=np_dtype(dtype), rng=5)
    elif name == "trunc_normal_":
        ref = fastinit.truncated_normal(shape, 0.0, 1.0, -1.0, 1.5, dtype=np_dtype(dtype),
                                        rng=5)
    else:
        ref = fastinit.normal(shape, 0.0, math.sqrt(2.0 / 50), dtype=np_dtype(dtype), rng=5)
    if dtype == torch.bfloat16:
        assert np.array_equal(t.view(torch.int16).numpy(), np.asarray(ref).view(np.int16))
    else:
        assert np.array_equal(t.numpy(), ref)


@pytest.mark.parametrize("name", ["uniform_", "normal_", "kaiming_uniform_", "orthogonal_",
                                  "sparse_", "eye_"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_non_contiguous_views(name, dtype):
    """A view is filled as a contiguous tensor of its shape would be; the rest is untouched."""
    kw = {"rng": 9} if name in RANDOM else {}
    args = ARGS.get(name, ())
    ref = getattr(ft, name)(torch.empty(24, 40, dtype=dtype), *args, **kw)
    base = torch.full((40, 24), float("nan"), dtype=dtype)
    getattr(ft, name)(base.T, *args, **kw)                       # transposed view
    assert same_bits(base.T, ref)
    base = torch.full((24, 80), float("nan"), dtype=dtype)
    getattr(ft, name)(base[:, ::2], *args, **kw)                 # strided view
    assert same_bits(base[:, ::2], ref)
    assert torch.isnan(base[:, 1::2].float()).all()


def test_requires_grad_parameter_and_autograd_version():
    p = nn.Parameter(torch.empty(30, 20))
    ft.kaiming_uniform_(p, a=math.sqrt(5))
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    y = (p * p).sum()
    ft.normal_(p)                          # modifies a tensor saved for backward
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_meta_tensors():
    t = torch.empty(4, 5, device="meta")
    with pytest.raises(ValueError, match="meta device"):
        ft.xavier_uniform_(t)
    with pytest.raises(ValueError, match="meta device"):
        ft.zeros_(t)
    with ft.patch():                       # torch's behaviour inside patch(): a no-op
        assert torch.nn.init.xavier_uniform_(t) is t
        assert torch.nn.init.trunc_normal_(t) is t
        assert torch.nn.init.zeros_(t) is t


def test_other_dtypes_are_torchs():
    z = torch.zeros(50, dtype=torch.complex64)
    torch.manual_seed(3)
    ft.normal_(z)
    torch.manual_seed(3)
    assert torch.equal(z, torch.nn.init.normal_(torch.zeros(50, dtype=torch.complex64)))
    i = torch.zeros(5, dtype=torch.int64)
    assert torch.equal(ft.ones_(i), torch.ones(5, dtype=torch.int64))


# --- other devices: host fill + copy ----------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_host_copy_path(monkeypatch, dtype):
    """The path for CUDA/XPU tensors (fill a host block, copy in), forced on CPU tensors."""
    cases = [("uniform_", (-1, 2)), ("normal_", ()), ("trunc_normal_", ()),
             ("xavier_uniform_", ()), ("orthogonal_", ()), ("sparse_", (0.2,)), ("eye_", ()),
             ("dirac_", (1,))]
    refs = {}
    for name, args in cases:
        shape = (8, 6, 5) if name == "dirac_" else (37, 23)
        kw = {} if name in ("eye_", "dirac_") else {"rng": 4}
        refs[name] = getattr(ft, name)(torch.empty(shape, dtype=dtype), *args, **kw)
        g = np.random.default_rng(8)
        if kw:
            getattr(ft, name)(torch.empty(shape, dtype=dtype), *args, rng=g)
        refs[name, "state"] = state(g)
    forced = []                                   # the tensors sent down the host path
    monkeypatch.setattr(ft_writing, "_direct", lambda t: forced.append(t) or False)
    monkeypatch.setattr(ft, "HOST_BLOCK_BYTES", 200)
    full = (slice(0, 37), slice(0, 23))
    # the public setting is the one the write path reads: several pieces
    assert len(list(ft_writing._host_pieces(torch.empty(37, 23, dtype=dtype), full, True))) > 1
    for name, args in cases:
        shape = (8, 6, 5) if name == "dirac_" else (37, 23)
        kw = {} if name in ("eye_", "dirac_") else {"rng": 4}
        t = torch.full(shape, float("nan"), dtype=dtype)
        before = len(forced)
        getattr(ft, name)(t, *args, **kw)
        assert len(forced) > before, name
        assert same_bits(t, refs[name]), name
        if kw:
            g = np.random.default_rng(8)
            getattr(ft, name)(torch.empty(shape, dtype=dtype), *args, rng=g)
            assert state(g) == refs[name, "state"], name


# --- seeding ------------------------------------------------------------------------------

def test_torch_manual_seed_and_generator():
    torch.manual_seed(0)
    a = ft.normal_(torch.empty(100))
    b = ft.normal_(torch.empty(100))
    torch.manual_seed(0)
    assert torch.equal(a, ft.normal_(torch.empty(100)))
    assert not torch.equal(a, b)
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    before = g1.get_state().clone()
    x = ft.xavier_uniform_(torch.empty(20, 30), generator=g1)
    assert not torch.equal(before, g1.get_state())          # a seed was drawn from it
    assert torch.equal(x, ft.xavier_uniform_(torch.empty(20, 30), generator=g2))
    with pytest.raises(ValueError, match="not both"):
        ft.uniform_(torch.empty(3), generator=g1, rng=1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_numpy_generator_consumed_like_numpy(dtype):
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    g1.random(dtype=np.float32)            # odd number of buffered 32-bit words
    g2.random(dtype=np.float32)
    t = ft.uniform_(torch.empty(7, 9, dtype=dtype), -1, 1, rng=g1)
    ref = fastinit.uniform((7, 9), -1, 1, dtype=np_dtype(dtype), rng=g2)
    assert np.array_equal(t.numpy(), ref)
    assert g1.bit_generator.state == g2.bit_generator.state


def test_advance_matches_numpy():
    for word32 in (True, False):
        for pre in (0, 1):
            for n in (0, 1, 2, 5, 10):
                a, b = np.random.default_rng(3), np.random.default_rng(3)
                if pre:
                    a.random(dtype=np.float32)
                    b.random(dtype=np.float32)
                ft_streams._advance(a, n, word32)
                if word32:
                    b.random(n, dtype=np.float32)
                else:
                    b.random(n)
                assert state(a) == state(b)


# --- errors and warnings: the same as torch's --------------------------------------------

ERROR_CASES = [
    ("uniform_", (3, 4), (1, 0), {}),
    ("uniform_", (3, 4), (0, math.inf), {}),
    ("uniform_", (3, 4), (-3e38, 3e38), {}),
    ("uniform_", (3, 4), (math.nan, 1), {}),
    ("uniform_", (3, 4), ("a", 1), {}),
    ("uniform_", (3,), (), {"generator": "x"}),
    ("normal_", (3, 4), (0, -1), {}),
    ("normal_", (3, 4), (0, math.nan), {}),
    ("trunc_normal_", (3, 4), (0, 1, 2, -2), {}),
    ("trunc_normal_", (3, 4), (0, 0), {}),
    ("trunc_normal_", (3, 4), (10, 1), {}),
    ("trunc_normal_", (3, 4), (-10, 1), {}),
    ("constant_", (3, 4), ("a",), {}),
    ("constant_", (3, 4), (1e40,), {}),
    ("eye_", (3,), (), {}),
    ("eye_", (3, 3, 3), (), {}),
    ("dirac_", (3, 3), (), {}),
    ("dirac_", (3, 3, 3), (2,), {}),
    ("dirac_", (4, 3, 3), (0,), {}),
    ("xavier_uniform_", (3,), (), {}),
    ("xavier_uniform_", (0, 0), (), {}),
    ("xavier_uniform_", (3, 4), (-1,), {}),
    ("xavier_normal_", (3, 4), (-1,), {}),
    ("kaiming_uniform_", (0, 3), (), {}),
    ("kaiming_uniform_", (3, 4), (), {"mode": "fan_AVG"}),
    ("kaiming_uniform_", (3, 4), (), {"nonlinearity": "gelu"}),
    ("kaiming_uniform_", (3, 4), (True,), {}),
    ("kaiming_uniform_", (3,), (), {}),
    ("kaiming_normal_", (0, 3), (), {}),
    ("kaiming_normal_", (3, 4), ("x",), {}),
    ("orthogonal_", (3,), (), {}),
    ("orthogonal_", (3, 4), ("x",), {}),
    ("sparse_", (3,), (0.1,), {}),
    ("sparse_", (3, 4), (math.nan,), {}),
    ("sparse_", (3, 4), (0.5, -1), {}),
    ("sparse_", (3, 4), (), {}),
    ("uniform", (3, 4), (), {}),
    ("orthogonal", (3,), (), {}),
]


def _outcome(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            fn()
            err = None
        except Exception as e:            # noqa: BLE001 - compared with torch's
            err = (type(e), str(e))
    return err, [(x.category, str(x.message)) for x in w]


@pytest.mark.parametrize("name,shape,args,kw", ERROR_CASES)
def test_errors_and_warnings_match_torch(name, shape, args, kw):
    theirs = _outcome(lambda: getattr(torch.nn.init, name)(torch.empty(shape), *args, **kw))
    ours = _outcome(lambda: getattr(ft, name)(torch.empty(shape), *args, **kw))
    assert ours == theirs
    assert theirs != (None, [])            # the case does raise or warn


@pytest.mark.parametrize("make", [lambda: torch.empty(1).expand(3),
                                  lambda: torch.empty(3, dtype=torch.int32),
                                  lambda: [1.0, 2.0],
                                  lambda: torch.empty(3, dtype=torch.half)])
def test_tensor_errors_match_torch(make):
    args = (-1e5, 1e5) if isinstance(make(), torch.Tensor) and make().dtype == torch.half else ()
    theirs = _outcome(lambda: torch.nn.init.uniform_(make(), *args))
    ours = _outcome(lambda: ft.uniform_(make(), *args))
    assert ours == theirs and theirs[0] is not None


def test_calculate_gain_is_torchs():
    for nl in ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]:
        for param in (None, 0.2, 3):
            ours, theirs = ft.calculate_gain(nl, param), torch.nn.init.calculate_gain(nl, param)
            assert ours == theirs and type(ours) is type(theirs)


def test_trunc_normal_and_uniform_edge_cases():
    t = ft.trunc_normal_(torch.empty(100), 0.0, 1.0, 0.5, 0.5)     # a == b: torch gives a
    assert torch.equal(t, torch.full((100,), 0.5))
    t = ft.uniform_(torch.empty(100), 2.0, 2.0)
    assert torch.equal(t, torch.full((100,), 2.0))
    t = ft.normal_(torch.empty(10), math.inf, 1.0)                 # handed to torch
    assert torch.isinf(t).all()


def test_deprecated_aliases_warn_and_work():
    with pytest.warns(FutureWarning, match=r"`nn.init.xavier_uniform` is now deprecated"):
        t = ft.xavier_uniform(torch.empty(30, 40), rng=1)
    assert torch.equal(t, ft.xavier_uniform_(torch.empty(30, 40), rng=1))


# --- statistics against torch ---------------------------------------------------------------

def _theory(name, shape):
    """(distribution kind, scale) torch 2.13's function implies for this shape."""
    fan_in, fan_out = shape[1], shape[0]
    if name == "xavier_uniform_":
        return "uniform", math.sqrt(6.0 / (fan_in + fan_out))
    if name == "xavier_normal_":
        return "normal", math.sqrt(2.0 / (fan_in + fan_out))
    if name == "kaiming_uniform_":
        return "uniform", math.sqrt(2.0) * math.sqrt(3.0 / fan_in)
    if name == "kaiming_normal_":
        return "normal", math.sqrt(2.0) / math.sqrt(fan_in)
    if name == "uniform_":
        return "uniform", 0.5
    return "normal", 0.2


@pytest.mark.parametrize("name", ["uniform_", "normal_", "xavier_uniform_", "xavier_normal_",
                                  "kaiming_uniform_", "kaiming_normal_", "trunc_normal_"])
def test_statistics_match_torch(name):
    shape = (256, 256)
    args = ARGS.get(name, ())
    ours = getattr(ft, name)(torch.empty(shape, dtype=torch.float64), *args, rng=11).numpy()
    torch.manual_seed(11)
    theirs = getattr(torch.nn.init, name)(torch.empty(shape, dtype=torch.float64),
                                          *args).numpy()
    # two-sample Kolmogorov-Smirnov: the same distribution (fixed seeds: deterministic)
    assert stats.ks_2samp(ours.ravel(), theirs.ravel()).pvalue > 1e-4
    n = ours.size
    if name == "trunc_normal_":
        d = stats.truncnorm(-1.0, 1.5)
        assert ours.min() >= -1.0 and ours.max() <= 1.5
        assert abs(ours.mean() - d.mean()) < 6 * d.std() / math.sqrt(n)
        assert abs(ours.std() / d.std() - 1) < 6 / math.sqrt(2 * n)
        return
    kind, scale = _theory(name, shape)
    if kind == "uniform":
        lo, hi = (-0.5, 0.5) if name == "uniform_" else (-scale, scale)
        assert lo <= ours.min() and ours.max() < hi
        assert ours.min() < lo + 1e-3 * (hi - lo) and ours.max() > hi - 1e-3 * (hi - lo)
        std = (hi - lo) / math.sqrt(12)
        assert abs(ours.std() / std - 1) < 6 / math.sqrt(1.8 * n)   # uniform: Var(s^2) smaller
    else:
        mean = 0.1 if name == "normal_" else 0.0
        assert abs(ours.mean() - mean) < 6 * scale / math.sqrt(n)
        assert abs(ours.std() / scale - 1) < 6 / math.sqrt(2 * n)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_statistics(dtype):
    w = ft.kaiming_uniform_(torch.empty(512, 256, dtype=dtype), a=math.sqrt(5), rng=2)
    bound = 1 / math.sqrt(256)
    wf = w.float()
    assert wf.abs().max() <= bound and wf.abs().max() > 0.99 * bound
    assert abs(wf.std().item() / (bound / math.sqrt(3)) - 1) < 0.02
    x = ft.normal_(torch.empty(512, 256, dtype=dtype), 0.0, 0.02, rng=2).float()
    assert abs(x.std().item() / 0.02 - 1) < 0.02 and abs(x.mean().item()) < 1e-3


@pytest.mark.parametrize("shape", [(40, 30), (30, 40), (8, 4, 3, 3), (5, 60)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_orthogonal(shape, dtype):
    t = ft.orthogonal_(torch.empty(shape, dtype=dtype), gain=2.0, rng=3)
    m = t.double().reshape(shape[0], -1)
    rows, cols = m.shape
    g = m.T @ m if rows >= cols else m @ m.T
    tol = {torch.float64: 1e-10, torch.float32: 1e-4, torch.float16: 2e-2,
           torch.bfloat16: 1e-1}[dtype]
    assert torch.allclose(g, 4 * torch.eye(min(rows, cols), dtype=torch.float64), atol=tol)
    if dtype in (torch.float32, torch.float64):
        # the distribution is torch's: Haar, so the entries' std is gain/sqrt(max(rows, cols))
        torch.manual_seed(0)
        th = torch.nn.init.orthogonal_(torch.empty(shape, dtype=dtype), gain=2.0)
        assert abs(m.std().item() / th.double().std().item() - 1) < 0.15
    neg = ft.orthogonal_(torch.empty(shape, dtype=dtype), gain=-1.0, rng=3)
    assert torch.allclose(neg.double(), -0.5 * t.double(), atol=1e-2 * 2)


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.3, 1.0, 1.5, -0.5])
def test_sparse_zero_counts_match_torch(sparsity):
    ours = ft.sparse_(torch.empty(20, 7), sparsity, std=0.5, rng=1)
    torch.manual_seed(0)
    theirs = torch.nn.init.sparse_(torch.empty(20, 7), sparsity, std=0.5)
    assert torch.equal((ours == 0).sum(0), (theirs == 0).sum(0))
    if sparsity < 1:
        assert ours[ours != 0].std() > 0.3


@pytest.mark.parametrize("dtype", DTYPES)
def test_eye_and_dirac_equal_torch(dtype):
    for shape in [(3, 5), (5, 3), (4, 4)]:
        assert same_bits(ft.eye_(torch.empty(shape, dtype=dtype)),
                         torch.nn.init.eye_(torch.empty(shape, dtype=dtype)))
    for shape, groups in [((6, 4, 3), 2), ((4, 6, 3, 3), 1), ((6, 2, 3, 5, 2), 3),
                          ((6, 4, 3), -2)]:
        assert same_bits(ft.dirac_(torch.empty(shape, dtype=dtype), groups),
                         torch.nn.init.dirac_(torch.empty(shape, dtype=dtype), groups))


# --- patch() --------------------------------------------------------------------------------

def _routed_names():
    import torch.nn.modules.activation as act
    import torch.nn.modules.transformer as tr
    out = {("init", n): getattr(torch.nn.init, n) for n in torch.nn.init.__all__}
    for n in ("constant_", "xavier_normal_", "xavier_uniform_"):
        out["activation", n] = getattr(act, n)
    out["transformer", "xavier_uniform_"] = tr.xavier_uniform_
    return out


def is_routed(fn, name):
    """fn is what patch() installs for torch.nn.init.<name>: fastinit's function under its
    own identity (functools.wraps of it)."""
    return getattr(fn, "__wrapped__", None) is getattr(ft, name) and fn is not getattr(ft, name)


def test_patch_installs_and_restores():
    before = _routed_names()
    with ft.patch():
        inside = _routed_names()
        assert all(is_routed(v, k[1]) for k, v in inside.items())
        with ft.patch(rng=1):             # nested
            assert _routed_names() == inside
        assert _routed_names() == inside   # inner exit keeps the outer's routing
    assert _routed_names() == before
    with pytest.raises(KeyError):
        with ft.patch():
            raise KeyError("boom")
    assert _routed_names() == before
    assert not ft.patch.active()


def test_patch_decorator_and_recursion():
    before = _routed_names()
    p = ft.patch(rng=0)

    @p
    def build(depth):
        assert is_routed(torch.nn.init.uniform_, "uniform_")
        return [nn.Linear(4, 4)] + (build(depth - 1) if depth else [])

    layers = build(2)
    assert len(layers) == 3 and _routed_names() == before

    @ft.patch                              # bare decorator
    def routed():
        return is_routed(torch.nn.init.kaiming_uniform_, "kaiming_uniform_")

    assert routed() and _routed_names() == before


def test_patch_scans_module_level_references():
    """scan_modules routes ``from torch.nn.init import X`` bindings (own name) of other
    modules, never aliases, dicts or __main__'s names (the user's own references)."""
    mod = types.ModuleType("fake_initlib")
    mod.trunc_normal_ = torch.nn.init.trunc_normal_
    mod.keep = torch.nn.init.normal_
    mod.INITS = {"normal_": torch.nn.init.normal_, "other": 3}
    main = sys.modules["__main__"]
    had = hasattr(main, "uniform_")
    saved = getattr(main, "uniform_", None)
    main.uniform_ = torch.nn.init.uniform_
    sys.modules["fake_initlib"] = mod
    try:
        with ft.patch():
            assert is_routed(mod.trunc_normal_, "trunc_normal_")
            assert mod.keep is ft_state._ORIG["normal_"]
            assert mod.INITS["normal_"] is ft_state._ORIG["normal_"] and mod.INITS["other"] == 3
            assert main.uniform_ is ft_state._ORIG["uniform_"]
        assert mod.trunc_normal_ is torch.nn.init.trunc_normal_
        original = mod.trunc_normal_
        with ft.patch(scan_modules=False):
            assert mod.trunc_normal_ is original
            assert is_routed(torch.nn.init.trunc_normal_, "trunc_normal_")
    finally:
        del sys.modules["fake_initlib"]
        if had:
            main.uniform_ = saved
        else:
            del main.uniform_


def test_patch_routes_to_fastinit_streams():
    """Inside patch(rng=g), nn.Linear's weight and bias are the next draws of g."""
    with ft.patch(rng=np.random.default_rng(0)):
        lin = nn.Linear(20, 30)
    g = np.random.default_rng(0)
    b = math.sqrt(2.0 / (1 + 5)) * math.sqrt(3.0 / 20)
    w = fastinit.uniform((30, 20), -b, b, rng=g)
    bias = fastinit.uniform((30,), -1 / math.sqrt(20), 1 / math.sqrt(20), rng=g)
    assert np.array_equal(lin.weight.detach().numpy(), w)
    assert np.array_equal(lin.bias.detach().numpy(), bias)
    torch.manual_seed(4)
    with ft.patch():
        a = nn.MultiheadAttention(16, 2)
    torch.manual_seed(4)
    with ft.patch():
        b2 = nn.MultiheadAttention(16, 2)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b2.parameters()))


def test_patch_routes_transformers_models():
    """transformers 5 keeps torch's functions in a module-level dict (TORCH_INIT_FUNCTIONS)
    and calls them from its _init_weights: patch() reaches them too."""
    transformers = pytest.importorskip("transformers")
    init_mod = pytest.importorskip("transformers.initialization")
    cfg = transformers.GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=64, n_positions=16,
                                  bos_token_id=0, eos_token_id=0)
    before = dict(init_mod.TORCH_INIT_FUNCTIONS)
    models = []
    for _ in range(2):
        with ft.patch(rng=0):
            assert is_routed(init_mod.TORCH_INIT_FUNCTIONS["normal_"], "normal_")
            models.append(transformers.GPT2LMHeadModel(cfg))
    assert init_mod.TORCH_INIT_FUNCTIONS == before
    a, b = (dict(m.named_parameters()) for m in models)
    assert all(torch.equal(a[k], b[k]) for k in a)            # both from fastinit's rng=0
    assert abs(a["transformer.h.0.attn.c_attn.weight"].std().item() / 0.02 - 1) < 0.1


def test_patch_meta_device_construction():
    with torch.device("meta"), ft.patch():
        m = nn.Transformer(32, 2, 1, 1, 64, batch_first=True)
    assert all(p.is_meta for p in m.parameters())


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.c1(x)))
        x = torch.relu(self.c2(x)).mean((2, 3))
        return self.head(x)


class GPT(nn.Module):
    def __init__(self, vocab=50, d=64, layers=2):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(d, 4, 4 * d, dropout=0.0, batch_first=True)
            for _ in range(layers))
        self.mlp = nn.Sequential(nn.Linear(d, d), nn.LayerNorm(d), nn.GELU())
        self.head = nn.Linear(d, vocab)

    def forward(self, x):
        h = self.emb(x)
        for b in self.blocks:
            h = b(h)
        return self.head(self.mlp(h))


MODELS = {
    "transformer": lambda: nn.Transformer(64, 4, 2, 2, 128, dropout=0.0),
    "convnet": ConvNet,
    "gpt": GPT,
}


@pytest.mark.parametrize("model", list(MODELS))
def test_models_under_patch_match_torch_statistics(model):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = MODELS[model]()
        with ft.patch(rng=0):
            ours = MODELS[model]()
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        q = tp[name].detach().double().ravel()
        x = p.detach().double().ravel()
        assert x.shape == q.shape and p.dtype == tp[name].dtype
        if (q == q[0]).all():              # deterministic (LayerNorm, zero biases)
            assert torch.equal(x, q), name
            continue
        n = x.numel()
        # the same scheme: same support and spread (uniforms: max|x| close to the bound)
        assert x.abs().max() <= q.abs().max() * (1 + 20 / n) + 1e-12, name
        if n >= 200:
            assert abs(x.std() / q.std() - 1) < 8 / math.sqrt(n), name
        if n >= 2000:
            assert stats.ks_2samp(x.numpy(), q.numpy()).pvalue > 1e-5, name


def _train(model, batches, lr):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for x, y in batches:
        loss = nn.functional.cross_entropy(model(x).reshape(-1, model_out(model)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def model_out(model):
    return 50 if isinstance(model, GPT) else 10


@pytest.fixture
def one_torch_thread():
    """Tiny models train fastest on one thread (and do not spin against other tests' load)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("model", ["gpt", "convnet"])
def test_models_built_under_patch_train(model, one_torch_thread):
    torch.manual_seed(0)
    with ft.patch(rng=1):
        m = MODELS[model]()
    g = torch.Generator().manual_seed(0)
    if model == "gpt":
        x = torch.randint(0, 50, (8, 12), generator=g)
        data, lr = [(x, (x + 1) % 50)] * 10, 3e-3     # learn "next token = token + 1"
    else:
        x = torch.randn(16, 3, 8, 8, generator=g)
        y = torch.randint(0, 10, (16,), generator=g)
        data, lr = [(x, y)] * 15, 2e-2                # memorise 16 examples
    losses = _train(m, data, lr)
    assert losses[-1] < 0.7 * losses[0]


# --- init_module ----------------------------------------------------------------------------

class Zoo(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(24, 12)
        self.conv = nn.Conv2d(4, 6, 3)
        self.convt = nn.ConvTranspose1d(6, 4, 5)
        self.bil = nn.Bilinear(5, 7, 3)
        self.emb = nn.Embedding(40, 16, padding_idx=2)
        self.bag = nn.EmbeddingBag(30, 8)
        self.bn = nn.BatchNorm1d(12)
        self.ln = nn.LayerNorm(16)
        self.gn = nn.GroupNorm(2, 6)
        self.rms = nn.RMSNorm(16)
        self.lstm = nn.LSTM(8, 10, num_layers=2)
        self.cell = nn.GRUCell(6, 9)
        self.mha = nn.MultiheadAttention(16, 2, kdim=8, vdim=8, add_bias_kv=True)
        self.prelu = nn.PReLU(3, init=0.3)
        self.tr = nn.Transformer(16, 2, 1, 1, 32)


def test_init_module_schemes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = Zoo()
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(float("nan"))
        m.bn.running_mean.fill_(5)
        m.bn.num_batches_tracked.fill_(9)
    assert ft.init_module(m, seed=3) is m
    for name, p in m.named_parameters():
        assert torch.isfinite(p).all(), name

    def within(p, bound):
        return p.abs().max().item() <= bound and p.abs().max().item() > 0.7 * bound

    assert within(m.lin.weight, 1 / math.sqrt(24)) and within(m.lin.bias, 1 / math.sqrt(24))
    assert within(m.conv.weight, 1 / math.sqrt(36)) and within(m.conv.bias, 1 / math.sqrt(36))
    assert within(m.convt.weight, 1 / math.sqrt(20)) and within(m.convt.bias, 1 / math.sqrt(20))
    assert within(m.bil.weight, 1 / math.sqrt(5)) and within(m.bil.bias, 1 / math.sqrt(5))
    assert abs(m.emb.weight.std().item() - 1) < 0.1
    assert torch.equal(m.emb.weight[2], torch.zeros(16))
    assert abs(m.bag.weight.std().item() - 1) < 0.1
    for norm in (m.bn, m.ln, m.gn, m.rms):
        assert torch.equal(norm.weight, torch.ones_like(norm.weight))
        if getattr(norm, "bias", None) is not None:
            assert torch.equal(norm.bias, torch.zeros_like(norm.bias))
    assert torch.equal(m.bn.running_mean, torch.zeros(12)) and m.bn.num_batches_tracked == 0
    assert all(within(p, 1 / math.sqrt(10)) for p in m.lstm.parameters())
    assert all(within(p, 1 / math.sqrt(9)) for p in m.cell.parameters())
    assert within(m.mha.q_proj_weight, math.sqrt(6 / 32))
    assert within(m.mha.k_proj_weight, math.sqrt(6 / 24))
    assert torch.equal(m.mha.in_proj_bias, torch.zeros(48))
    assert torch.equal(m.mha.out_proj.bias, torch.zeros(16))
    assert within(m.mha.out_proj.weight, 1 / math.sqrt(16))            # Linear's own scheme
    assert m.mha.bias_k.abs().max() > 0
    assert torch.equal(m.prelu.weight, torch.full((3,), 0.3))
    for name, p in m.tr.named_parameters():                           # xavier for dim > 1
        if p.dim() > 1:
            assert within(p, math.sqrt(6 / sum(p.shape[:2]))), name
    ref = ft.kaiming_uniform_(torch.empty(12, 24), a=math.sqrt(5), rng=seed_for(3, "lin.weight"))
    assert torch.equal(m.lin.weight, ref)


def test_init_module_per_name_streams():
    def model(extra):
        layers = collections.OrderedDict(a=nn.Linear(8, 8))
        if extra:
            layers["new"] = nn.Linear(8, 8)
        layers["b"] = nn.Linear(8, 4)
        layers["norm"] = nn.LayerNorm(4)
        return nn.Sequential(layers)

    m1 = ft.init_module(model(False), seed=1)
    m2 = ft.init_module(model(True), seed=1)
    for name, p in m1.named_parameters():
        assert torch.equal(p, m2.get_parameter(name)), name
    assert not torch.equal(m1.a.weight, ft.init_module(model(False), seed=2).a.weight)
    # a submodule with prefix= is initialised as inside the whole model
    outer = nn.Sequential(collections.OrderedDict(enc=model(False)))
    ft.init_module(outer, seed=4)
    sub = ft.init_module(model(False), seed=4, prefix="enc.")
    assert all(torch.equal(p, q) for p, q in zip(outer.enc.parameters(), sub.parameters()))


def test_init_module_seed_sources():
    a = ft.init_module(nn.Linear(5, 5), rng=np.random.default_rng(3))
    b = ft.init_module(nn.Linear(5, 5), rng=np.random.default_rng(3))
    assert torch.equal(a.weight, b.weight)
    torch.manual_seed(1)
    c = ft.init_module(nn.Linear(5, 5))
    torch.manual_seed(1)
    assert torch.equal(c.weight, ft.init_module(nn.Linear(5, 5)).weight)
    with pytest.raises(ValueError, match="at most one"):
        ft.init_module(nn.Linear(5, 5), seed=1, rng=2)
    with pytest.raises(TypeError):
        ft.init_module(torch.empty(3), seed=1)


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.empty(6, 4))
        self.lin = nn.Linear(4, 4)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.normal_(self.w, std=0.02)
        nn.init.zeros_(self.lin.bias)          # a parent's scheme wins over the child's


class NoScheme(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.full((3,), 7.0))
        self.lin = nn.Linear(3, 3)


def test_init_module_custom_reset_parameters_and_unknown():
    m = ft.init_module(Custom(), seed=5)
    assert torch.equal(m.w, ft.normal_(torch.empty(6, 4), std=0.02, rng=seed_for(5, "w")))
    assert torch.equal(m.lin.bias, torch.zeros(4))
    assert torch.equal(ft.init_module(Custom(), seed=5).w, m.w)
    with pytest.warns(UserWarning, match=r"no initialization scheme is known.*\['w'\]"):
        n = ft.init_module(NoScheme(), seed=5)
    assert torch.equal(n.w, torch.full((3,), 7.0))


def test_init_module_meta_device_flow():
    with torch.device("meta"):
        m = GPT(layers=1)
    with pytest.raises(ValueError, match="to_empty"):
        ft.init_module(m, seed=0)
    m.to_empty(device="cpu")
    ft.init_module(m, seed=0)
    ref = ft.init_module(GPT(layers=1), seed=0)
    for (name, p), q in zip(m.named_parameters(), ref.parameters()):
        assert torch.equal(p, q), name
